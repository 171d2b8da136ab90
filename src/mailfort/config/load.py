"""TOML file → ``Settings``. Every error names the dotted key path and the problem."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from mailfort.core.errors import ConfigError
from mailfort.config.model import (AuthSettings, LimitSettings, LogSettings, ServerSettings,
                                   Settings, StorageSettings, TlsSettings)

__all__ = ["load_settings", "parse_settings", "parse_hostport"]

_SECTIONS: dict[str, type[Any]] = {
    "server": ServerSettings, "tls": TlsSettings, "limits": LimitSettings,
    "storage": StorageSettings, "auth": AuthSettings, "log": LogSettings,
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "tls.min_version": ("TLSv1.2", "TLSv1.3"),
    "log.format": ("text", "json"),
    "log.level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "storage.backend": ("sqlite",),
}


def parse_hostport(value: str, key: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(key, f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]")
    if not host:
        raise ConfigError(key, "the host part is empty")
    return host, int(port)


def _check(section: str, name: str, value: Any, default: Any) -> Any:
    key = f"{section}.{name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {value!r}")
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
    return settings


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
