"""The audit layer wired into the running server, proven over real IMAP connections.

A server runs in a background thread as ``mailfort serve`` composes it (``cli.bootstrap``:
``open_audit`` + ``build_security`` + ``serve(audit=...)``), from a real mailfort.toml with
small detector thresholds. Clients connect over plain loopback (plaintext login allowed on
loopback) from chosen 127.x.y.z source addresses, so each scenario has its own "device".
Alerts are read back from the hash-chained log itself after draining the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import http.server
import imaplib
import io
import json
import socket
import sqlite3
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailfort.audit.chain import AuditRecord, JsonValue
from mailfort.audit.sinks.webhook import sign
from mailfort.cli.bootstrap import AuditRuntime, build_security, open_audit, runtime
from mailfort.cli.main import main as cli_main
from mailfort.config.load import load_settings
from mailfort.config.model import Settings
from mailfort.core.clock import SystemClock
from mailfort.core.secret import Secret
from mailfort.server.lifecycle import serve
from mailfort.server.tls import TlsContext, ensure_tls_material
from mailfort.service.delivery import deliver_to_user
from mailfort.store.api import MailStore

T = TypeVar("T")
WAIT_S = 20.0
WEBHOOK_SECRET = b"test-webhook-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(({k: v for k, v in self.headers.items()}, body))
        type(self).arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return None


@dataclass
class Live:
    settings: Settings
    config: Path
    port: int
    metrics_port: int
    loop: asyncio.AbstractEventLoop
    store: MailStore
    audit: AuditRuntime
    hash_password: object

    def run(self, coro: Coroutine[object, object, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT_S)

    def add_user(self, name: str, password: str) -> None:
        async def create() -> None:
            hashing = self.hash_password
            assert hasattr(hashing, "hash")
            await self.store.users.create(name, await hashing.hash(Secret(password)))
        self.run(create())

    def deliver(self, user: str, raw: bytes, mailbox: str = "INBOX") -> int:
        return self.run(deliver_to_user(self.store, user, raw, mailbox=mailbox)).uid

    def alerts(self) -> list[AuditRecord]:
        async def drain() -> None:
            for _ in range(3):  # detectors emit alerts back onto the bus: drain again
                assert await self.audit.bus.flush(WAIT_S)
        self.run(drain())
        return self.audit.chain.search(types=["AlertRaised"])

    def alerts_of(self, kind: str) -> list[dict[str, JsonValue]]:
        return [r.fields() for r in self.alerts() if r.fields().get("kind") == kind]


GUARD = """lockout_threshold = 1000
ban_address_failures = 1000
ban_network_failures = 1000
stuffing_accounts = 1000
network_stuffing_accounts = 1000
attack_sources = 1000
delays_s = [0]
"""


def _write_config(root: Path, *, port: int, metrics_port: int, webhook_port: int | None,
                  detectors: str, guard: str = GUARD, audit: str = "",
                  sections: str = "") -> Path:
    secret = root / "webhook.secret"
    secret.write_bytes(WEBHOOK_SECRET)
    webhook = (f'[audit.webhook]\nurl = "http://127.0.0.1:{webhook_port}/hook"\n'
               f'secret_file = "webhook.secret"\nbackoff_initial_s = 0.2\n'
               if webhook_port else "")
    cfg = root / "mailfort.toml"
    cfg.write_text(f"""
[server]
imap_listen = "127.0.0.1:{port}"
imaps_listen = ""
allow_plaintext_auth_on_loopback = true

[storage]
data_dir = "data"

[auth]
argon2_memory_kib = 1024
argon2_time_cost = 1
failure_delay_ms = 10

[guard]
{guard}
[audit]
metrics_listen = "127.0.0.1:{metrics_port}"
alerts_per_minute = 1000
{audit}
[audit.detectors]
{detectors}
{webhook}
{sections}""")
    return cfg


@contextlib.contextmanager
def live_server(root: Path, *, detectors: str, webhook_port: int | None = None,
                guard: str = GUARD, audit_keys: str = "", sections: str = "") -> Iterator[Live]:
    """``audit_keys``: more ``[audit]`` keys; ``sections``: more tables (``[audit.syslog]``)."""
    port, metrics_port = _free_port(), _free_port()
    cfg = _write_config(root, port=port, metrics_port=metrics_port, webhook_port=webhook_port,
                        detectors=detectors, guard=guard, audit=audit_keys, sections=sections)
    settings = load_settings(cfg)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    started = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        material = ensure_tls_material(settings)
        clock = SystemClock()
        async with runtime(settings) as rt, open_audit(settings, rt.store, clock) as audit:
            sec = await build_security(settings, rt.store, clock, audit.bus,
                                       hashing=rt.hashing)
            box.update(store=rt.store, audit=audit, hashing=rt.hashing, stop=stop,
                       loop=asyncio.get_running_loop())
            await serve(settings, rt.store, rt.authenticator, TlsContext(material),
                        guard=sec.guard, login_service=sec.login_service, audit=audit.hooks,
                        ready=lambda _: started.set(), stop=stop)

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced below
            box["error"] = exc
            started.set()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    assert started.wait(WAIT_S) and "error" not in box, box.get("error")
    loop = box["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    audit = box["audit"]
    assert isinstance(audit, AuditRuntime)
    store = box["store"]
    live = Live(settings, cfg, port, metrics_port, loop, store, audit,  # type: ignore[arg-type]
                box["hashing"])
    try:
        yield live
    finally:
        stop = box["stop"]
        assert isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT_S)
        assert not thread.is_alive()


class Client(imaplib.IMAP4):
    """imaplib over a socket bound to a chosen loopback source address (a "device")."""

    def __init__(self, port: int, source: str) -> None:
        self._source = source
        super().__init__("127.0.0.1", port, timeout=WAIT_S)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


def login(live: Live, user: str, password: str, source: str) -> Client:
    c = Client(live.port, source)
    c.login(user, password)
    return c


def fail_logins(live: Live, user: str, source: str, n: int) -> None:
    """``n`` failed logins, each with a different wrong password, 2 per connection."""
    done = 0
    while done < n:
        c = Client(live.port, source)
        for _ in range(min(2, n - done)):
            with pytest.raises(imaplib.IMAP4.error):
                c.login(user, f"wrong-{done}-password")
            done += 1
        with contextlib.suppress(Exception):
            c.logout()


def message(subject: str, body: bytes = b"Hello.\r\n") -> bytes:
    return (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: " + subject.encode()
            + b"\r\nMessage-ID: <" + hashlib.sha256(subject.encode() + body).hexdigest().encode()
            + b"@example.com>\r\n\r\n" + body)


DETECTORS = """brute_force_failures = 6
stuffing_accounts = 4
compromise_failures = 4
session_bytes_cap = 300000
mass_deletion_messages = 20
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _Receiver.received = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        with live_server(tmp_path_factory.mktemp("audit-imap"), detectors=DETECTORS,
                         webhook_port=httpd.server_address[1]) as srv:
            yield srv
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---- detections, each on its scenario ---------------------------------------------------------

def test_brute_force_from_one_source(live: Live) -> None:
    live.add_user("bf@example.com", "bf-real-password-1")
    fail_logins(live, "bf@example.com", "127.0.0.11", 6)
    alerts = live.alerts_of("brute_force")
    assert any("127.0.0.11" in str(a["sources"]) for a in alerts)


def test_credential_stuffing_across_accounts(live: Live) -> None:
    for i in range(4):
        fail_logins(live, f"victim{i}@example.com", "127.0.0.12", 1)
    alerts = live.alerts_of("credential_stuffing")
    assert any("127.0.0.12" in str(a["sources"]) for a in alerts)


def test_failures_then_success(live: Live) -> None:
    live.add_user("fts@example.com", "fts-real-password-1")
    fail_logins(live, "fts@example.com", "127.0.0.13", 4)
    login(live, "fts@example.com", "fts-real-password-1", "127.0.0.13").logout()
    alerts = live.alerts_of("failures_then_success")
    assert [a["user"] for a in alerts] == ["fts@example.com"]


def test_new_device_alerts_and_tells_the_user(live: Live) -> None:
    live.add_user("nd@example.com", "nd-real-password-1")
    login(live, "nd@example.com", "nd-real-password-1", "127.0.0.14").logout()
    assert not [a for a in live.alerts_of("new_device") if a["user"] == "nd@example.com"]
    login(live, "nd@example.com", "nd-real-password-1", "127.0.5.14").logout()
    alerts = [a for a in live.alerts_of("new_device") if a["user"] == "nd@example.com"]
    assert len(alerts) == 1 and "127.0.5.14" in str(alerts[0]["sources"])
    c = login(live, "nd@example.com", "nd-real-password-1", "127.0.5.14")
    c.select("INBOX")
    typ, data = c.search(None, "SUBJECT", '"New sign-in"')
    assert typ == "OK" and data[0]
    typ, fetched = c.fetch(data[0].split()[0], "(BODY.PEEK[])")
    first = fetched[0]
    assert isinstance(first, tuple)
    raw = first[1]
    notice = email.message_from_bytes(raw, policy=email.policy.default)
    assert "127.0.5.14" in str(notice["Subject"]) and "was this you" in str(notice["Subject"])
    assert "127.0.5.14" in notice.get_body().get_content()  # type: ignore[union-attr]
    c.logout()


def test_exfiltration_over_the_session_cap(live: Live) -> None:
    live.add_user("ex@example.com", "ex-real-password-1")
    for i in range(8):
        live.deliver("ex@example.com", message(f"big {i}", b"x" * 60_000 + b"\r\n"))
    c = login(live, "ex@example.com", "ex-real-password-1", "127.0.0.15")
    c.select("INBOX", readonly=True)
    c.fetch("1:*", "(BODY.PEEK[])")
    c.logout()
    alerts = [a for a in live.alerts_of("exfiltration") if a["user"] == "ex@example.com"]
    assert alerts and "127.0.0.15" in str(alerts[0]["sources"])


def test_mass_deletion(live: Live) -> None:
    live.add_user("md@example.com", "md-real-password-1")
    for i in range(25):
        live.deliver("md@example.com", message(f"m {i}"))
    c = login(live, "md@example.com", "md-real-password-1", "127.0.0.16")
    c.select("INBOX")
    c.store("1:*", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()
    alerts = [a for a in live.alerts_of("mass_deletion") if a["user"] == "md@example.com"]
    assert alerts
    kinds = {r.type for r in live.audit.chain.search(user="md@example.com")}
    assert {"MessagesFlaggedDeleted", "MessagesExpunged", "SessionEnded"} <= kinds


def test_sensitive_folder_labelled_by_cli(live: Live) -> None:
    live.add_user("sf@example.com", "sf-real-password-1")
    c = login(live, "sf@example.com", "sf-real-password-1", "127.0.0.17")
    assert c.create("Legal")[0] == "OK"
    assert cli_main(["-c", str(live.config), "label", "set", "sf@example.com/Legal",
                     "sensitive"]) == 0
    c.select("Legal", readonly=True)
    c.logout()
    alerts = [a for a in live.alerts_of("sensitive_folder") if a["user"] == "sf@example.com"]
    assert alerts and "Legal" in str(alerts[0]["summary"])
    actions = [r.fields() for r in live.audit.chain.search(types=["AdminAction"])]
    assert any(a["action"] == "label.set" for a in actions)  # the CLI's change is audited


def test_canary_fetch_and_decoy_login(live: Live) -> None:
    live.add_user("cn@example.com", "cn-real-password-1")
    live.deliver("cn@example.com", message("ordinary"))
    assert cli_main(["-c", str(live.config), "honeytoken", "add", "canary",
                     "cn@example.com"]) == 0
    assert cli_main(["-c", str(live.config), "honeytoken", "add", "user",
                     "ceo-backup@example.com"]) == 0
    live.run(live.audit.refresh_honeytokens())  # what SIGHUP / housekeeping does
    c = login(live, "cn@example.com", "cn-real-password-1", "127.0.0.18")
    c.select("INBOX", readonly=True)
    c.fetch("1", "(BODY.PEEK[HEADER])")  # headers of an ordinary message: nothing
    assert not live.alerts_of("honeytoken")
    c.fetch("1:*", "(BODY.PEEK[])")
    c.logout()
    fail_logins(live, "ceo-backup@example.com", "127.0.0.19", 1)
    alerts = live.alerts_of("honeytoken")
    summaries = " ".join(str(a["summary"]) for a in alerts)
    assert "canary" in summaries and "127.0.0.18" in summaries
    assert any("127.0.0.19" in str(a["sources"]) for a in alerts)
    assert all(a["severity"] == "critical" for a in alerts)


# ---- the log, the webhook, the metrics --------------------------------------------------------

def test_webhook_receives_a_signed_alert_from_a_real_attack(live: Live) -> None:
    fail_logins(live, "nobody@example.com", "127.0.0.20", 6)
    live.alerts()

    def brute(item: tuple[dict[str, str], bytes]) -> bool:
        doc = json.loads(item[1])
        return bool(doc["kind"] == "brute_force" and "127.0.0.20" in doc["sources"])

    async def delivered() -> None:
        assert live.audit.webhook is not None
        assert await live.audit.webhook.wait_drained(WAIT_S)
    live.run(delivered())
    hits = [r for r in _Receiver.received if brute(r)]
    assert hits
    headers, body = hits[0]
    assert headers["X-Mailfort-Signature"] == sign(WEBHOOK_SECRET,
                                                    headers["X-Mailfort-Timestamp"], body)


def test_metrics_scraped_after_real_traffic(live: Live) -> None:
    live.add_user("mt@example.com", "mt-real-password-1")
    c = login(live, "mt@example.com", "mt-real-password-1", "127.0.0.21")
    c.select("INBOX")
    c.noop()
    c.logout()
    live.alerts()  # drain the bus
    with urllib.request.urlopen(f"http://127.0.0.1:{live.metrics_port}/metrics",
                                timeout=WAIT_S) as resp:
        text = resp.read().decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert samples[("mailfort_logins_total", (("result", "success"),))] >= 1
    assert samples[("mailfort_logins_total", (("result", "failure"),))] >= 1
    assert samples[("mailfort_connections_total", (("protocol", "imap"),))] >= 1
    assert samples[("mailfort_command_latency_seconds_count", (("command", "SELECT"),))] >= 1
    assert samples[("mailfort_fetched_bytes_total", ())] > 0


def test_audit_verify_ok_then_names_the_altered_record(live: Live) -> None:
    live.add_user("av@example.com", "av-real-password-1")
    login(live, "av@example.com", "av-real-password-1", "127.0.0.22").logout()
    live.alerts()
    live.run(asyncio.to_thread(live.audit.chain.checkpoint))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["-c", str(live.config), "audit", "verify"]) == 0
    assert out.getvalue().startswith("OK")
    db = live.settings.data_dir / live.settings.audit.db_file
    records = live.audit.chain.search(user="av@example.com", types=["SessionEnded"])
    target = records[-1].seq
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE records SET body = replace(body, 'av@example.com', "
                     "'someone-else@example.com') WHERE seq = ?", (target,))
        conn.commit()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["-c", str(live.config), "audit", "verify"]) == 1
    assert str(target) in out.getvalue() and "altered" in out.getvalue().lower()


# ---- a normal working day ---------------------------------------------------------------------

def test_a_normal_working_day_raises_no_alert(tmp_path: Path) -> None:
    with live_server(tmp_path, detectors=DETECTORS) as day:
        users = [f"staff{i}@example.com" for i in range(4)]
        for user in users:
            day.add_user(user, f"{user}-password")
            for j in range(6):
                day.deliver(user, message(f"{user} note {j}", b"Meeting at ten.\r\n" * 20))
        for rounds in range(2):  # morning and afternoon, laptop and phone
            for n, user in enumerate(users):
                for device in (f"127.0.0.{30 + n}", f"127.0.0.{60 + n}"):
                    c = login(day, user, f"{user}-password", device)
                    c.select("INBOX")
                    c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
                    c.fetch("1:2", "(BODY[])")
                    c.store("1", "+FLAGS", "(\\Flagged)")
                    c.logout()
            # one typo a day is normal
            fail_logins(day, users[rounds], f"127.0.0.{30 + rounds}", 1)
        c = login(day, users[0], f"{users[0]}-password", "127.0.0.30")
        c.create("Projects")
        c.select("INBOX")
        c.store("1:2", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()
        assert day.alerts() == []
        types = {r.type for r in day.audit.chain.search()}
        assert {"LoginSucceeded", "LoginFailed", "MessagesFetched", "SessionEnded",
                "MailboxCreated", "MessagesExpunged"} <= types
