"""Log output for the server process: text for people, JSON lines for machines.

Records carry ``conn_id``, ``peer`` and ``user`` when the server's context filter sets them.
Nothing here ever formats a password or message content: those never reach a log record.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from mailfort.config.model import LogSettings

__all__ = ["configure_logging"]

_CONTEXT_FIELDS = ("conn_id", "peer", "user")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(f"{n}={getattr(record, n)}" for n in _CONTEXT_FIELDS
                           if getattr(record, n, None))
        return f"{text} [{context}]" if context else text


def configure_logging(settings: LogSettings, log_file: Path | None = None) -> None:
    handler: logging.Handler
    if log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if settings.format == "json" else _TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
