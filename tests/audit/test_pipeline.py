"""The bus end to end: emit -> hash chain + detectors + metrics -> alert router -> sinks;
failures isolated; metrics scraped over HTTP and parsed; syslog over UDP and TCP."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from audit_fakes import FailingSubscriber, FakeClock, ListSubscriber
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from mailfort.audit.bus import AuditBus, ChainWriter
from mailfort.audit.chain import AuditChain
from mailfort.audit.detectors import DetectionEngine, default_detectors
from mailfort.audit.events import (
    AlertRaised,
    AlertSeverity,
    AppPasswordCreated,
    AuditEvent,
    LoginFailed,
    LoginFailureReason,
    LoginSucceeded,
    MessagesFetched,
)
from mailfort.audit.metrics import Metrics, MetricsServer
from mailfort.audit.settings import DetectorSettings, NotifySettings
from mailfort.audit.sinks import (
    AlertRouter,
    SecurityMailboxSink,
    SyslogSink,
    UserNotifier,
    parse_syslog_address,
)
from mailfort.core.errors import ConfigError


class ListDrop:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bytes]] = []

    async def deliver(self, user: str, mailbox: str, raw: bytes) -> None:
        self.messages.append((user, mailbox, raw))


class RecordingSink:
    def __init__(self) -> None:
        self.alerts: list[AlertRaised] = []

    @property
    def name(self) -> str:
        return "recording"

    async def send(self, alert: AlertRaised) -> None:
        self.alerts.append(alert)


class BrokenSink:
    @property
    def name(self) -> str:
        return "broken"

    async def send(self, alert: AlertRaised) -> None:
        raise ConnectionError("down")


def _bad(at: float, peer: str, user: str = "a@example.com") -> LoginFailed:
    return LoginFailed(at=at, user=user, peer=peer, reason=LoginFailureReason.BAD_PASSWORD,
                       is_counted=True)


def test_attack_flows_through_the_whole_pipeline(tmp_path: Path) -> None:
    clock = FakeClock()
    key = Ed25519PrivateKey.generate()
    chain = AuditChain(tmp_path / "audit.db", clock, signer=key, checkpoint_every=50)
    bus = AuditBus(queue_size=10_000)
    metrics = Metrics()
    recording, drop = RecordingSink(), ListDrop()
    router = AlertRouter([BrokenSink(), recording, SecurityMailboxSink(drop, "sec@example.com")],
                         clock)
    notifier = UserNotifier(drop, NotifySettings())
    for sub in (ChainWriter(chain), DetectionEngine(default_detectors(DetectorSettings(), clock),
                                                    bus.emit),
                metrics, router, notifier, FailingSubscriber()):
        bus.subscribe(sub)

    async def scenario() -> None:
        await bus.start()
        t = clock.now()
        bus.emit(LoginSucceeded(at=t, user="a@example.com", peer="192.0.2.10",
                                method="password", is_known_source=True))
        for i in range(500):  # a brute force from two sources: a handful of alerts, not 500
            bus.emit(_bad(t + 1 + i, "203.0.113.66" if i % 2 else "203.0.113.67"))
        bus.emit(LoginSucceeded(at=t + 600, user="a@example.com", peer="198.51.100.9",
                                method="password", is_known_source=False))
        bus.emit(AppPasswordCreated(at=t + 700, user="a@example.com", name="phone",
                                    expires_at=None))
        bus.emit(MessagesFetched(at=t + 800, user="a@example.com", peer="192.0.2.10",
                                 session_id="s1", mailbox="INBOX", count=3, bytes=12_345))
        assert await bus.flush(10)
        assert await bus.flush(10)  # alerts emitted by the detectors on the first pass
        await bus.aclose()

    asyncio.run(scenario())
    kinds = sorted(a.kind for a in recording.alerts)
    assert kinds == ["brute_force", "brute_force", "failures_then_success", "new_device"]
    assert router.failures == {"broken": 1 * len(recording.alerts)}
    # alerts are in the chain too, and the chain verifies
    chain.close()
    chain = AuditChain(tmp_path / "audit.db", clock)
    assert len(chain.search(types=["AlertRaised"])) == 4
    assert len(chain.search(types=["LoginFailed"])) == 500
    assert chain.verify(key.public_key()).is_ok
    # the failing subscriber did not stop the others
    stats = {s.name: s for s in bus.stats()}
    assert stats["failing"].failures >= 1 and stats["chain"].delivered == 504 + 4
    # the security mailbox got every alert; the user was told of the new sign-in and app password
    to_sec = [m for m in drop.messages if m[0] == "sec@example.com"]
    to_user = [m for m in drop.messages if m[0] == "a@example.com"]
    assert len(to_sec) == 4 and all(m[1] == "INBOX" for m in drop.messages)
    assert any(b"New sign-in to your mailbox from 198.51.100.9" in m[2] for m in to_user)
    assert any(b"App password 'phone' created" in m[2] for m in to_user)
    # metrics counted them
    text = metrics.render().decode()
    assert 'mailfort_logins_total{result="failure"} 500.0' in text
    assert "mailfort_fetched_bytes_total 12345.0" in text


def test_full_queue_drops_and_counts_without_blocking() -> None:
    bus = AuditBus(queue_size=3)
    sub = ListSubscriber()
    bus.subscribe(sub)
    for i in range(10):
        bus.emit(_bad(float(i), "192.0.2.1"))  # no loop running yet: nothing drains

    async def scenario() -> None:
        await bus.start()
        assert await bus.flush(5)
        await bus.aclose()

    asyncio.run(scenario())
    assert len(sub.events) == 3 and bus.stats()[0].dropped == 7


def test_emit_from_another_thread() -> None:
    bus = AuditBus()
    sub = ListSubscriber()
    bus.subscribe(sub)

    async def scenario() -> None:
        await bus.start()
        def emit_all() -> None:
            for i in range(50):
                bus.emit(_bad(float(i), "192.0.2.1"))

        await asyncio.to_thread(emit_all)
        assert await bus.flush(5)
        await bus.aclose()

    asyncio.run(scenario())
    assert len(sub.events) == 50


def test_router_dedups_and_rate_limits() -> None:
    clock = FakeClock()
    rec = RecordingSink()
    router = AlertRouter([rec], clock, dedup_window_s=900, per_minute=5)

    def alert(i: int, kind: str = "new_device",
              sev: AlertSeverity = AlertSeverity.LOW) -> AlertRaised:
        return AlertRaised(at=clock.now() + i, kind=kind, severity=sev, summary="s",
                           user=f"u{i}", sources=("192.0.2.1",))

    same = [AlertRaised(at=clock.now() + i, kind="brute_force", severity=AlertSeverity.HIGH,
                        summary="s", sources=("192.0.2.1",)) for i in range(100)]
    events: Sequence[AuditEvent] = [*same, *(alert(i) for i in range(20)),
                                    alert(99, "honeytoken", AlertSeverity.CRITICAL)]
    asyncio.run(router.handle(events))
    assert [a.kind for a in rec.alerts] == ["brute_force"] + ["new_device"] * 4 + ["honeytoken"]
    assert router.duplicates == 99 and router.rate_limited == 16
    clock.advance(60)  # the bucket refills
    asyncio.run(router.handle([alert(200)]))
    assert len(rec.alerts) == 7


def test_metrics_scraped_over_http_and_parsed() -> None:
    metrics = Metrics()
    metrics.connection_opened()
    metrics.connection_opened()
    metrics.connection_closed()
    metrics.observe_command("fetch", 0.004)
    metrics.observe_command("FETCH", 0.3)
    metrics.count(AlertRaised(at=0.0, kind="brute_force", severity=AlertSeverity.HIGH,
                              summary="x"))
    metrics.count(LoginSucceeded(at=0.0, user="a", peer="p", method="password",
                                 is_known_source=True))
    server = MetricsServer(metrics, "127.0.0.1", 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics",  # noqa: S310
                                    timeout=5) as resp:
            text = resp.read().decode()
    finally:
        server.close()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert samples[("mailfort_connections_total", (("protocol", "imap"),))] == 2
    assert samples[("mailfort_connections_open", (("protocol", "imap"),))] == 1
    assert samples[("mailfort_logins_total", (("result", "success"),))] == 1
    assert samples[("mailfort_alerts_total", (("kind", "brute_force"),
                                              ("severity", "high")))] == 1
    assert samples[("mailfort_command_latency_seconds_count", (("command", "FETCH"),))] == 2
    assert samples[("mailfort_command_latency_seconds_bucket",
                    (("command", "FETCH"), ("le", "0.005")))] == 1


def test_metrics_refuse_a_non_loopback_address() -> None:
    try:
        MetricsServer(Metrics(), "0.0.0.0", 0)  # noqa: S104
    except ConfigError as exc:
        assert "loopback" in str(exc)
    else:
        raise AssertionError("expected ConfigError")


def _alert() -> AlertRaised:
    return AlertRaised(at=1_700_000_000.25, kind="brute_force", severity=AlertSeverity.HIGH,
                       summary='25 failures from "x"]', user="a@example.com",
                       sources=("203.0.113.66",))


def test_syslog_rfc5424_over_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        sink = SyslogSink(parse_syslog_address(f"udp:127.0.0.1:{rx.getsockname()[1]}"),
                          hostname="mx1", facility=10)
        asyncio.run(sink.send(_alert()))
        data = rx.recv(65536)
    assert data.startswith(b"<83>1 2023-11-14T22:13:20.250000Z mx1 mailfort ")
    assert b" brute_force [mailfort@32473 kind=\"brute_force\" severity=\"high\" " in data
    assert b'sources="203.0.113.66"]' in data
    assert data.endswith(b"\xef\xbb\xbf25 failures from \"x\"]")


def test_syslog_over_tcp_uses_octet_counting() -> None:
    async def scenario() -> bytes:
        got: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            length = int((await r.readuntil(b" "))[:-1])
            await got.put(await r.readexactly(length))
            w.close()

        server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sink = SyslogSink(parse_syslog_address(f"tcp:127.0.0.1:{port}"), hostname="mx1")
        await sink.send(_alert())
        async with asyncio.timeout(5):
            frame = await got.get()
        await sink.aclose()
        server.close()
        await server.wait_closed()
        return frame

    frame = asyncio.run(scenario())
    assert frame.startswith(b"<83>1 ") and frame.endswith(b'from "x"]')


def test_syslog_address_parsing() -> None:
    assert parse_syslog_address("unix:/dev/log").path == "/dev/log"
    assert parse_syslog_address("tcp:[::1]:514").host == "::1"
    try:
        parse_syslog_address("smtp:x")
    except ConfigError:
        pass
    else:
        raise AssertionError("expected ConfigError")
