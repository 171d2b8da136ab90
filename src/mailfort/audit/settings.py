"""The proposed ``[audit]`` settings: frozen dataclasses with safe defaults.

The lead merges these into ``config.model``; until then the CLI and the bootstrap use the
defaults here (``AuditSettings()``). Keys equal the field names. Paths that are relative resolve
against the config file's folder, like every other path setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AuditSettings", "DetectorSettings", "WebhookSettings", "SyslogSettings",
    "NotifySettings",
]


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    # brute force: failed logins from one source within the window
    brute_force_failures: int = 20
    brute_force_window_s: int = 600
    # credential stuffing: distinct accounts failing from one source within the window
    stuffing_accounts: int = 8
    stuffing_window_s: int = 900
    # failures then success on one account
    compromise_failures: int = 8
    compromise_window_s: int = 3600
    force_password_change_on_compromise: bool = False
    # new device / network: IPv4 /24, IPv6 /64 networks are remembered per user
    new_network_alert: bool = True
    # unusual hour: needs this many logins learned before it judges
    unusual_hour_min_logins: int = 30
    unusual_hour_margin_h: int = 2  # an hour within this distance of a learned hour is usual
    utc_offset_h: int = 0  # the company's time zone, for hour-of-day learning
    # exfiltration: absolute caps and baseline x factor
    session_bytes_cap: int = 2_000_000_000
    session_messages_cap: int = 20_000
    hourly_bytes_cap: int = 4_000_000_000
    hourly_messages_cap: int = 40_000
    baseline_factor: int = 10
    baseline_floor_bytes: int = 300_000_000  # below this, baseline x factor never fires
    baseline_floor_messages: int = 3_000
    exfiltration_action: str = "none"  # "none", "throttle_session", "end_session"
    # mass deletion: more than N messages expunged or flagged \Deleted within M minutes
    mass_deletion_messages: int = 500
    mass_deletion_window_s: int = 600


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str = ""  # empty: no webhook
    secret_file: str = ""  # HMAC-SHA256 key, outside the data directory
    max_attempts: int = 8
    backoff_initial_s: float = 2.0
    backoff_max_s: float = 600.0
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class SyslogSettings:
    address: str = ""  # "udp:HOST:PORT", "tcp:HOST:PORT", "unix:/dev/log"; empty: off
    app_name: str = "mailfort"
    facility: int = 10  # authpriv


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """What a user is told by a message in their own INBOX."""

    new_device: bool = True
    lockout: bool = True
    app_password_change: bool = True


@dataclass(frozen=True, slots=True)
class AuditSettings:
    db_file: str = "audit.db"  # relative to the data directory
    # Ed25519 signing key; MUST be outside the data directory (``mailfort audit keygen``).
    signing_key_file: str = "audit-signing.key"  # relative to the config file's folder
    checkpoint_every: int = 256  # records between signed checkpoints
    checkpoint_interval_s: int = 60  # and at most this long between checkpoints
    retention_days: int = 365
    queue_size: int = 10_000  # events buffered per subscriber before drops are counted
    record_subjects: bool = False  # subjects never appear in events unless an admin sets this
    security_mailbox_user: str = ""  # e.g. "security@example.com"; empty: no mailbox sink
    security_mailbox: str = "INBOX"
    dedup_window_s: int = 900  # the same alert (kind, user, sources) at most once per window
    alerts_per_minute: int = 30  # across all kinds, per sink
    metrics_listen: str = "127.0.0.1:9188"  # loopback only; empty: off
    geoip_db: str = ""  # a MaxMind .mmdb; empty: country checks off (and said so)
    sensitive_label: str = "sensitive"
    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    syslog: SyslogSettings = field(default_factory=SyslogSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
