"""TOML file → ``Settings``. Every error names the dotted key path and the problem."""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mailfort.config.model import (
    AuditSettings,
    AuthSettings,
    GuardSettings,
    LimitSettings,
    LogSettings,
    MfaSettings,
    PolicySettings,
    ServerSettings,
    Settings,
    StorageSettings,
    TlsSettings,
    TokenSettings,
)
from mailfort.core.errors import ConfigError

__all__ = ["load_settings", "parse_settings", "parse_hostport"]

_SECTIONS: dict[str, type[Any]] = {
    "server": ServerSettings, "tls": TlsSettings, "limits": LimitSettings,
    "storage": StorageSettings, "auth": AuthSettings, "log": LogSettings,
    "policy": PolicySettings, "guard": GuardSettings, "mfa": MfaSettings,
    "tokens": TokenSettings, "audit": AuditSettings,
}

# Whole numbers are > 0 unless listed here: (smallest, largest or None).
_INT_RANGES: dict[str, tuple[int, int | None]] = {
    "policy.min_strength": (0, 4),
    "policy.required_classes": (0, 4),
    "policy.max_age_days": (0, None),
    "guard.ban_growth": (1, 100),
    "audit.detectors.utc_offset_h": (-12, 14),
    "audit.detectors.unusual_hour_margin_h": (0, 12),
    "audit.syslog.facility": (0, 23),
}

# Lists and tables whose entries are addresses or CIDR networks (checked with ipaddress).
_CIDR_KEYS = frozenset({"guard.allow", "guard.deny", "guard.trusted", "guard.user_allow",
                        "guard.group_allow"})
_MAX_DELAY_S = 300.0

_CHOICES: dict[str, tuple[str, ...]] = {
    "tls.min_version": ("TLSv1.2", "TLSv1.3"),
    "log.format": ("text", "json"),
    "log.level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "storage.backend": ("sqlite",),
    "audit.detectors.exfiltration_action": ("none", "throttle_session", "end_session"),
}


def parse_hostport(value: str, key: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(key, f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]")
    if not host:
        raise ConfigError(key, "the host part is empty")
    return host, int(port)


def _strings(key: str, value: Any, *, is_cidr: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list of strings, got {value!r}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(key, f"expected non-empty strings, got {item!r}")
        if is_cidr:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ConfigError(key, f"{item!r} is not an IP address or CIDR network "
                                  "(e.g. 192.0.2.0/24 or 2001:db8::/32)") from None
        out.append(item.strip())
    return tuple(out)


def _sequence(key: str, value: Any, default: tuple[Any, ...]) -> tuple[Any, ...]:
    if default and isinstance(default[0], float):
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list of seconds, got {value!r}")
        delays: list[float] = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise ConfigError(key, f"expected numbers of seconds, got {item!r}")
            if not 0 <= item <= _MAX_DELAY_S:
                raise ConfigError(key, f"each delay must be between 0 and {_MAX_DELAY_S:g} "
                                  f"seconds, got {item}")
            delays.append(float(item))
        return tuple(delays)
    return _strings(key, value, is_cidr=key in _CIDR_KEYS)


def _table(key: str, value: Any) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ConfigError(key, "expected a table of name = [list of strings]")
    entries = {str(name): _strings(f"{key}.{name}", items, is_cidr=key in _CIDR_KEYS)
               for name, items in value.items()}
    return MappingProxyType(entries)


def _sub_table(key: str, value: Any, cls: type[Any]) -> Any:
    """A nested table such as ``[audit.detectors]``: same rules, keys named in full."""
    if not isinstance(value, dict):
        raise ConfigError(key, "expected a table")
    defaults = cls()
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, item in value.items():
        if name not in names:
            raise ConfigError(f"{key}.{name}", "unknown key")
        values[name] = _check(key, name, item, getattr(defaults, name))
    return cls(**values)


def _check(section: str, name: str, value: Any, default: Any) -> Any:
    key = f"{section}.{name}"
    if dataclasses.is_dataclass(default):
        return _sub_table(key, value, type(default))
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"expected a number, got {value!r}")
        if value <= 0:
            raise ConfigError(key, f"must be greater than 0, got {value}")
        return float(value)
    if isinstance(default, tuple):
        return _sequence(key, value, default)
    if isinstance(default, Mapping):
        return _table(key, value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {value!r}")
        if key in _INT_RANGES:
            low, high = _INT_RANGES[key]
            if value < low or (high is not None and value > high):
                span = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise ConfigError(key, f"must be {span}, got {value}")
            return value
        if value <= 0:
            raise ConfigError(key, f"must be greater than 0, got {value}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ConfigError(key, f"must be one of {', '.join(_CHOICES[key])}, got {value!r}")
        if name.endswith("_listen") and value:
            parse_hostport(value, key)
        return value
    raise ConfigError(key, "unsupported setting")  # pragma: no cover


def parse_settings(data: dict[str, Any], base_dir: Path) -> Settings:
    sections: dict[str, Any] = {}
    for section, body in data.items():
        if section not in _SECTIONS:
            raise ConfigError(section, f"unknown section (known: {', '.join(_SECTIONS)})")
        if not isinstance(body, dict):
            raise ConfigError(section, "expected a table")
        cls = _SECTIONS[section]
        defaults = cls()
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name not in names:
                raise ConfigError(f"{section}.{name}", "unknown key")
            values[name] = _check(section, name, value, getattr(defaults, name))
        sections[section] = cls(**values)
    settings = Settings(**sections, base_dir=base_dir)
    lim = settings.limits
    if lim.max_literal_bytes > lim.max_message_bytes:
        raise ConfigError("limits.max_literal_bytes", "must not exceed limits.max_message_bytes")
    if bool(settings.tls.cert_file) != bool(settings.tls.key_file):
        raise ConfigError("tls.cert_file", "set both tls.cert_file and tls.key_file, or neither")
    _check_security(settings)
    _check_audit(settings)
    return settings


def _check_audit(settings: Settings) -> None:
    """``[audit]``: the signing key outside the data directory, metrics on loopback only."""
    a = settings.audit
    if not a.signing_key_file:
        raise ConfigError("audit.signing_key_file", "must name the checkpoint signing key")
    data_dir = settings.data_dir.resolve()
    key = settings.path(a.signing_key_file).resolve()
    if key == data_dir or data_dir in key.parents:
        raise ConfigError("audit.signing_key_file",
                          f"the signing key must be kept outside the data directory "
                          f"({data_dir}): whoever can rewrite the log must not hold the key")
    if a.webhook.secret_file:
        secret = settings.path(a.webhook.secret_file).resolve()
        if data_dir in secret.parents:
            raise ConfigError("audit.webhook.secret_file",
                              "the webhook secret must be kept outside the data directory")
    if a.webhook.url and not a.webhook.url.startswith(("https://", "http://")):
        raise ConfigError("audit.webhook.url", f"expected an http(s) URL, got {a.webhook.url!r}")
    if a.webhook.url and not a.webhook.secret_file:
        raise ConfigError("audit.webhook.secret_file",
                          "a webhook needs a secret file to sign its requests")
    if a.metrics_listen:
        host, _ = parse_hostport(a.metrics_listen, "audit.metrics_listen")
        try:
            is_loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            is_loopback = host == "localhost"
        if not is_loopback:
            raise ConfigError("audit.metrics_listen",
                              f"metrics are served on a loopback address only, not {host}")
    if a.geoip_db and not settings.path(a.geoip_db).is_file():
        raise ConfigError("audit.geoip_db", f"file not found: {settings.path(a.geoip_db)}")
    if a.syslog.address:
        transport, _, rest = a.syslog.address.partition(":")
        if transport not in ("udp", "tcp", "unix") or not rest:
            raise ConfigError("audit.syslog.address", "expected udp:HOST:PORT, tcp:HOST:PORT "
                              f"or unix:/PATH, got {a.syslog.address!r}")


def _check_security(settings: Settings) -> None:
    """Rules that tie account-security keys together."""
    pol = settings.policy
    if pol.max_length < 64:
        raise ConfigError("policy.max_length", "must be at least 64 (NIST SP 800-63B: long "
                          f"passphrases must be allowed), got {pol.max_length}")
    for name in ("min_length", "min_length_without_mfa"):
        if getattr(pol, name) > pol.max_length:
            raise ConfigError(f"policy.{name}", "must not exceed policy.max_length")
    if pol.hibp_file and not settings.path(pol.hibp_file).is_file():
        raise ConfigError("policy.hibp_file", f"file not found: {settings.path(pol.hibp_file)}")
    tok = settings.tokens
    if tok.ttl_s > tok.max_ttl_s:
        raise ConfigError("tokens.ttl_s", "must not exceed tokens.max_ttl_s")
    g = settings.guard
    for group in g.group_allow:
        if group not in g.groups:
            raise ConfigError(f"guard.group_allow.{group}",
                              "no such group: define its members in [guard.groups]")
    if g.lockout_s > g.max_lockout_s:
        raise ConfigError("guard.lockout_s", "must not exceed guard.max_lockout_s")
    if g.ban_s > g.max_ban_s:
        raise ConfigError("guard.ban_s", "must not exceed guard.max_ban_s")
    if not g.delays_s:
        raise ConfigError("guard.delays_s", "give at least one delay (e.g. [0])")


def load_settings(path: Path | None) -> Settings:
    """Read ``path`` (None: built-in defaults, data in ./data)."""
    if path is None:
        return Settings(base_dir=Path.cwd())
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from None
    return parse_settings(data, path.resolve().parent)
