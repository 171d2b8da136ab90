"""Prometheus metrics (prometheus-client) on a registry of Mailfort's own.

The bus feeds ``Metrics`` as a subscriber (logins by result, bans, alerts by kind and severity,
bytes and messages fetched, sessions ended); the server calls ``connection_opened``/``closed``
and ``observe_command`` directly (cheap counters, no I/O). ``serve`` exposes ``/metrics`` on a
loopback address only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from mailfort.audit.events import (
    AlertRaised,
    AuditEvent,
    ConnectionRefused,
    LoginFailed,
    LoginRefused,
    LoginSucceeded,
    MessagesFetched,
    SessionEnded,
    SourceBanned,
)
from mailfort.core.errors import ConfigError

__all__ = ["Metrics", "MetricsServer"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.connections = Counter("mailfort_connections", "Connections accepted",
                                   ["protocol"], registry=r)
        self.connections_open = Gauge("mailfort_connections_open", "Connections open now",
                                      ["protocol"], registry=r)
        self.connections_refused = Counter("mailfort_connections_refused",
                                           "Connections refused by the guard", ["reason"],
                                           registry=r)
        self.logins = Counter("mailfort_logins", "Login attempts by result", ["result"],
                              registry=r)
        self.bans = Counter("mailfort_bans", "Sources banned", registry=r)
        self.alerts = Counter("mailfort_alerts", "Alerts raised", ["kind", "severity"],
                              registry=r)
        self.command_latency = Histogram("mailfort_command_latency_seconds",
                                         "IMAP command latency", ["command"],
                                         buckets=_LATENCY_BUCKETS, registry=r)
        self.bytes_fetched = Counter("mailfort_fetched_bytes", "Bytes sent by FETCH",
                                     registry=r)
        self.messages_fetched = Counter("mailfort_fetched_messages", "Messages fetched",
                                        registry=r)
        self.sessions = Counter("mailfort_sessions_ended", "Sessions ended", registry=r)

    @property
    def name(self) -> str:
        return "metrics"

    # --- called by the server ---

    def connection_opened(self, protocol: str = "imap") -> None:
        self.connections.labels(protocol).inc()
        self.connections_open.labels(protocol).inc()

    def connection_closed(self, protocol: str = "imap") -> None:
        self.connections_open.labels(protocol).dec()

    def observe_command(self, command: str, seconds: float) -> None:
        """``command`` must come from a fixed set (the parsed verb), never raw wire input."""
        self.command_latency.labels(command.upper()[:24]).observe(seconds)

    # --- fed by the bus ---

    def count(self, event: AuditEvent) -> None:
        if isinstance(event, LoginSucceeded):
            self.logins.labels("success").inc()
        elif isinstance(event, LoginFailed):
            self.logins.labels("failure").inc()
        elif isinstance(event, LoginRefused):
            self.logins.labels("refused").inc()
        elif isinstance(event, SourceBanned):
            self.bans.inc()
        elif isinstance(event, ConnectionRefused):
            self.connections_refused.labels(event.reason.value).inc()
        elif isinstance(event, AlertRaised):
            self.alerts.labels(event.kind, event.severity.value).inc()
        elif isinstance(event, MessagesFetched):
            self.bytes_fetched.inc(event.bytes)
            self.messages_fetched.inc(event.count)
        elif isinstance(event, SessionEnded):
            self.sessions.inc()

    async def handle(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            self.count(event)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` over HTTP on a loopback address (refuses any other)."""

    def __init__(self, metrics: Metrics, host: str = "127.0.0.1", port: int = 9188) -> None:
        try:
            is_loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            is_loopback = host == "localhost"
        if not is_loopback:
            raise ConfigError("audit.metrics_listen", f"metrics are served on loopback only, "
                              f"not {host}")
        self._server: WSGIServer
        self._server, self._thread = start_http_server(port, addr=host,
                                                       registry=metrics.registry)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
