"""Typed, validated, frozen settings with secure defaults. Keys equal the field names.

A TOML file maps onto these sections: ``[server]``, ``[tls]``, ``[limits]``, ``[storage]``,
``[auth]``, ``[log]``. See README.md "Configuration reference".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ServerSettings", "TlsSettings", "LimitSettings", "StorageSettings", "AuthSettings",
           "LogSettings", "Settings"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    # Loopback only unless told otherwise. Empty string disables a listener.
    imaps_listen: str = "127.0.0.1:1993"  # implicit TLS (RFC 8314)
    imap_listen: str = "127.0.0.1:1143"  # plain + STARTTLS
    hostname: str = "localhost"  # used in the self-signed certificate and greetings
    pre_auth_timeout_s: int = 60
    post_auth_timeout_s: int = 1800  # RFC 9051 §5.4: at least 30 minutes
    idle_timeout_s: int = 1800
    max_connections: int = 10000
    max_connections_per_ip: int = 100
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
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    log: LogSettings = field(default_factory=LogSettings)
    base_dir: Path = field(default_factory=Path.cwd)  # the config file's folder

    def path(self, value: str) -> Path:
        """A path setting, resolved against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def data_dir(self) -> Path:
        return self.path(self.storage.data_dir)
