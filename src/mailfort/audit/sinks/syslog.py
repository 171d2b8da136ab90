"""Syslog alert sink: RFC 5424 messages over UDP, TCP (RFC 6587 octet counting) or a local
unix datagram socket (``/dev/log``).

    <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [mailfort@32473 k="v" ...] MSG
"""

from __future__ import annotations

import asyncio
import datetime
import os
import socket
from dataclasses import dataclass

from mailfort.audit.events import AlertRaised, AlertSeverity
from mailfort.core.errors import ConfigError

__all__ = ["SyslogSink", "SyslogAddress", "parse_syslog_address", "format_rfc5424"]

_SEVERITY_CODE = {AlertSeverity.CRITICAL: 2, AlertSeverity.HIGH: 3, AlertSeverity.MEDIUM: 4,
                  AlertSeverity.LOW: 5}
_SD_ID = "mailfort@32473"  # 32473: the IANA example enterprise number (RFC 5612)


@dataclass(frozen=True, slots=True)
class SyslogAddress:
    transport: str  # "udp", "tcp", "unix"
    host: str
    port: int
    path: str


def parse_syslog_address(value: str) -> SyslogAddress:
    """``udp:HOST:PORT``, ``tcp:HOST:PORT`` or ``unix:/PATH``."""
    transport, _, rest = value.partition(":")
    if transport == "unix" and rest:
        return SyslogAddress("unix", "", 0, rest)
    if transport in ("udp", "tcp"):
        host, _, port = rest.rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return SyslogAddress(transport, host.strip("[]"), int(port), "")
    raise ConfigError("audit.syslog.address",
                      f"expected udp:HOST:PORT, tcp:HOST:PORT or unix:/PATH, got {value!r}")


def _header_field(text: str, limit: int) -> str:
    clean = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return clean or "-"


def _param(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_rfc5424(alert: AlertRaised, *, hostname: str, app_name: str, facility: int,
                   procid: int | None = None) -> bytes:
    pri = facility * 8 + _SEVERITY_CODE[alert.severity]
    ts = datetime.datetime.fromtimestamp(alert.at, datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    params = [("kind", alert.kind), ("severity", alert.severity.value)]
    if alert.user:
        params.append(("user", alert.user))
    if alert.sources:
        params.append(("sources", ",".join(alert.sources)))
    if alert.session_id:
        params.append(("session", alert.session_id))
    params.extend(alert.details)
    if alert.actions:
        params.append(("actions", ",".join(alert.actions)))
    sd = "[" + _SD_ID + "".join(f' {_header_field(k, 32)}="{_param(v)}"' for k, v in params) + "]"
    header = (f"<{pri}>1 {ts} {_header_field(hostname, 255)} {_header_field(app_name, 48)} "
              f"{procid if procid is not None else os.getpid()} {_header_field(alert.kind, 32)}")
    summary = alert.summary.replace("\r", " ").replace("\n", " ")
    return f"{header} {sd} ".encode() + b"\xef\xbb\xbf" + summary.encode()


class SyslogSink:
    def __init__(self, address: SyslogAddress, *, app_name: str = "mailfort",
                 facility: int = 10, hostname: str | None = None) -> None:
        self._address = address
        self._app_name = app_name
        self._facility = facility
        self._hostname = hostname or socket.gethostname()
        self._writer: asyncio.StreamWriter | None = None

    @property
    def name(self) -> str:
        return "syslog"

    async def send(self, alert: AlertRaised) -> None:
        data = format_rfc5424(alert, hostname=self._hostname, app_name=self._app_name,
                              facility=self._facility)
        a = self._address
        if a.transport == "tcp":
            await self._send_tcp(str(len(data)).encode() + b" " + data)
            return
        family = socket.AF_UNIX if a.transport == "unix" else (
            socket.AF_INET6 if ":" in a.host else socket.AF_INET)
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            s.sendto(data, a.path if a.transport == "unix" else (a.host, a.port))

    async def _send_tcp(self, frame: bytes) -> None:
        for attempt in range(2):
            if self._writer is None or self._writer.is_closing():
                _, self._writer = await asyncio.open_connection(self._address.host,
                                                                self._address.port)
            try:
                self._writer.write(frame)
                await self._writer.drain()
                return
            except OSError:
                self._writer.close()
                self._writer = None
                if attempt:
                    raise

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = None
