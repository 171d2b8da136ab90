"""The ``[audit]`` settings. They live in ``config.model`` (merged there, so ``mailfort.toml``
carries an ``[audit]`` section); re-exported here for the audit layer's modules."""

from __future__ import annotations

from mailfort.config.model import (
    AuditSettings,
    DetectorSettings,
    NotifySettings,
    SyslogSettings,
    WebhookSettings,
)

__all__ = [
    "AuditSettings", "DetectorSettings", "WebhookSettings", "SyslogSettings",
    "NotifySettings",
]
