"""Alert sinks: webhook, syslog, the security mailbox; routing with dedup and rate limits."""

from mailfort.audit.sinks.mailbox import MailDrop, SecurityMailboxSink, UserNotifier
from mailfort.audit.sinks.router import AlertRouter, AlertSink
from mailfort.audit.sinks.syslog import SyslogSink, format_rfc5424, parse_syslog_address
from mailfort.audit.sinks.webhook import WebhookSink, sign

__all__ = [
    "AlertRouter", "AlertSink", "MailDrop", "SecurityMailboxSink", "SyslogSink", "UserNotifier",
    "WebhookSink", "format_rfc5424", "parse_syslog_address", "sign",
]
