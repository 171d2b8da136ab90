"""Typed, validated, frozen settings with secure defaults. Keys equal the field names.

A TOML file maps onto these sections: ``[server]``, ``[tls]``, ``[limits]``, ``[storage]``,
``[auth]``, ``[log]``, and for account security ``[policy]``, ``[guard]``, ``[mfa]``,
``[tokens]``. See README.md "Configuration reference".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

__all__ = ["ServerSettings", "TlsSettings", "LimitSettings", "StorageSettings", "AuthSettings",
           "LogSettings", "PolicySettings", "GuardSettings", "MfaSettings", "TokenSettings",
           "Settings", "AuditSettings", "DetectorSettings", "WebhookSettings",
           "SyslogSettings", "NotifySettings"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    # Loopback only unless told otherwise. Empty string disables a listener.
    imaps_listen: str = "127.0.0.1:1993"  # implicit TLS (RFC 8314)
    imap_listen: str = "127.0.0.1:1143"  # plain + STARTTLS
    hostname: str = "localhost"  # used in the self-signed certificate and greetings
    pre_auth_timeout_s: int = 60
    post_auth_timeout_s: int = 1800  # RFC 9051 §5.4: at least 30 minutes
    idle_timeout_s: int = 1800
    max_connections: int = 10000  # in total; per-address limits are in [guard]
    allow_plaintext_auth_on_loopback: bool = False  # we do not trust loopback by default


@dataclass(frozen=True, slots=True)
class TlsSettings:
    cert_file: str = ""  # empty: a self-signed certificate is generated in the data directory
    key_file: str = ""
    min_version: str = "TLSv1.2"  # "TLSv1.2" or "TLSv1.3"


@dataclass(frozen=True, slots=True)
class LimitSettings:
    max_line_bytes: int = 64 * 1024  # a command line, literals excluded
    max_literal_bytes: int = 64 * 1024  # any literal that is not a message
    max_message_bytes: int = 50 * 1024 * 1024  # APPEND / deliver
    max_paren_depth: int = 16
    max_sequence_ranges: int = 1000  # ranges in one sequence set
    max_bad_commands: int = 10  # consecutive BADs before BYE
    max_auth_failures_per_connection: int = 3


@dataclass(frozen=True, slots=True)
class StorageSettings:
    data_dir: str = "data"  # relative paths are resolved against the config file's folder
    backend: str = "sqlite"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    argon2_memory_kib: int = 19456  # OWASP: m=19 MiB, t=2, p=1
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    hash_workers: int = 2  # threads hashing passwords, so a login flood never blocks the loop
    failure_delay_ms: int = 2000  # added to every failed login (same for unknown users)


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "INFO"
    format: str = "text"  # "text" or "json"
    file: str = ""  # empty: standard error


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """New passwords, after NIST SP 800-63B. ``[policy]``."""

    min_length: int = 12
    min_length_without_mfa: int = 12  # 15 recommended for accounts without MFA
    max_length: int = 1024  # never below 64
    min_strength: int = 3  # zxcvbn score 0..4; 0 turns the estimate off
    required_classes: int = 0  # composition rules (lower, upper, digit, other); 0 = none
    hibp_file: str = ""  # an extra Have-I-Been-Pwned "SHA1:count" file, sorted by hash
    max_age_days: int = 0  # 0: passwords never expire


def _no_entries() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """Brute force, credential stuffing, bans, connection limits, IP policy. ``[guard]``.

    Lists of networks are CIDRs or single addresses. ``user_allow`` and ``group_allow`` are
    tables (``[guard.user_allow]`` ``"alice@example.com" = ["10.1.0.0/16"]``); ``groups`` maps a
    group name to its members' login names."""

    lockout_threshold: int = 10  # failures from unknown networks before a lockout
    lockout_window_s: int = 15 * 60
    lockout_s: int = 15 * 60  # grows with repeats, up to max_lockout_s
    max_lockout_s: int = 24 * 3600
    attack_sources: int = 5  # distinct failing networks that put an account "under attack"
    attack_threshold: int = 3  # failures allowed to unknown networks while under attack
    ban_address_failures: int = 20
    ban_network_failures: int = 100  # per IPv4 /24 or IPv6 /64
    ban_window_s: int = 15 * 60
    stuffing_accounts: int = 5  # distinct accounts failing from one address
    network_stuffing_accounts: int = 25
    stuffing_window_s: int = 10 * 60
    ban_s: int = 15 * 60  # the first ban; each repeat lasts ban_growth times longer
    ban_growth: int = 4
    max_ban_s: int = 24 * 3600
    max_connections_per_address: int = 1000  # a NAT with hundreds of employees
    max_pre_auth_per_address: int = 50
    max_connections_per_user_and_address: int = 20  # mail clients open up to 5
    delays_s: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 15.0)  # by failures so far
    allow: tuple[str, ...] = ()  # never banned; an entry also lifts a ban
    deny: tuple[str, ...] = ()  # refused before the greeting
    trusted: tuple[str, ...] = ()  # never banned nor locked out
    user_allow: Mapping[str, tuple[str, ...]] = field(default_factory=_no_entries)
    group_allow: Mapping[str, tuple[str, ...]] = field(default_factory=_no_entries)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=_no_entries)
    # Guard state (failure counters, lockouts, bans) is written to the store and re-read
    # (bans, unbans and unlocks made by the CLI) this often by the server, and on SIGHUP.
    state_sync_interval_s: float = 5.0


@dataclass(frozen=True, slots=True)
class MfaSettings:
    """TOTP second factor and app passwords. ``[mfa]``."""

    issuer: str = "Mailfort"  # shown in authenticator apps
    allow_password_plus_totp: bool = False  # "password" followed by the 6 digits in one LOGIN
    # MFA required by policy: these login names, and members of these groups (store groups,
    # `mailfort group`, or [guard.groups]); without MFA their password is refused over IMAP.
    required_users: tuple[str, ...] = ()
    required_groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """Bearer tokens for OAUTHBEARER / XOAUTH2 that Mailfort issues. ``[tokens]``."""

    ttl_s: int = 3600
    max_ttl_s: int = 24 * 3600
    key_file: str = ""  # Ed25519 signing key; empty: token-signing.key in the data directory

# --- [audit] (issue #4): the audit log, detectors, alert sinks, user notices, metrics --------


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """``[audit.detectors]``: thresholds of each detection."""

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
    throttle_bytes_per_s: int = 256 * 1024  # FETCH bandwidth of a throttled session
    # mass deletion: more than N messages expunged or flagged \Deleted within M minutes
    mass_deletion_messages: int = 500
    mass_deletion_window_s: int = 600
    # GeoIP (only with audit.geoip_db): speed above which two logins are impossible travel
    impossible_travel_kmh: int = 1000


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """``[audit.webhook]``."""

    url: str = ""  # empty: no webhook
    secret_file: str = ""  # HMAC-SHA256 key, outside the data directory
    max_attempts: int = 8
    backoff_initial_s: float = 2.0
    backoff_max_s: float = 600.0
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class SyslogSettings:
    """``[audit.syslog]``."""

    address: str = ""  # "udp:HOST:PORT", "tcp:HOST:PORT", "unix:/dev/log"; empty: off
    app_name: str = "mailfort"
    facility: int = 10  # authpriv


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """``[audit.notify]``: what a user is told by a message in their own INBOX."""

    new_device: bool = True
    lockout: bool = True
    app_password_change: bool = True


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """``[audit]``. Relative paths resolve against the config file's folder, except
    ``db_file`` (relative to the data directory)."""

    is_enabled: bool = True
    db_file: str = "audit.db"  # relative to the data directory
    # Ed25519 signing key; MUST be outside the data directory (created on first serve).
    signing_key_file: str = "audit-signing.key"
    checkpoint_every: int = 256  # records between signed checkpoints
    checkpoint_interval_s: int = 60  # and at most this long between checkpoints
    retention_days: int = 365
    queue_size: int = 10_000  # events buffered per subscriber before drops are counted
    record_subjects: bool = False  # subjects never appear in events unless an admin sets this
    security_mailbox_user: str = ""  # e.g. "security@example.com"; empty: no mailbox sink
    security_mailbox: str = "INBOX"
    dedup_window_s: int = 900  # the same alert (kind, user, sources) at most once per window
    alerts_per_minute: int = 30  # across all kinds, per sink
    # Off unless configured (no listening port an admin did not ask for); loopback only.
    metrics_listen: str = ""
    geoip_db: str = ""  # a MaxMind .mmdb; empty: country checks off (and said so)
    sensitive_label: str = "sensitive"
    state_save_interval_s: int = 300  # detector state and honeytokens written/reloaded
    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    syslog: SyslogSettings = field(default_factory=SyslogSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    log: LogSettings = field(default_factory=LogSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    guard: GuardSettings = field(default_factory=GuardSettings)
    mfa: MfaSettings = field(default_factory=MfaSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    base_dir: Path = field(default_factory=Path.cwd)  # the config file's folder

    def path(self, value: str) -> Path:
        """A path setting, resolved against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def data_dir(self) -> Path:
        return self.path(self.storage.data_dir)
