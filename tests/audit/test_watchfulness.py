"""Watchfulness over real IMAP, beyond the detections themselves: GeoIP (a tiny .mmdb built
here), user notices (lockout, app passwords), the syslog and security-mailbox sinks, alert
actions on a live exfiltrating session, decoy app passwords, and webhook delivery that survives
a server killed while its receiver was down (``mailfort serve`` in a subprocess).

Servers run as ``tests/audit/test_over_imap.py`` runs them (``live_server``); clients come from
chosen 127.x addresses, each a "device" (and, with the test GeoIP database, a country).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import http.server
import imaplib
import io
import json
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mmdb_writer import MmdbF64, MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]
from tests.audit.test_over_imap import (
    WAIT_S,
    Client,
    Live,
    fail_logins,
    live_server,
    login,
    message,
)
from tests.serverproc import MailfortProcess, free_port

from mailfort.audit.sinks.webhook import sign
from mailfort.cli.main import main as cli_main

SECRET = b"watchfulness-webhook-secret-0123456789"
# Paris, Lyon (France) and Sydney (Australia), placed on loopback networks.
PARIS, LYON, SYDNEY = "127.0.1.10", "127.0.3.10", "127.0.2.10"


def _cli(live: Live, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["-c", str(live.config), *args]) == 0
    return out.getvalue()


def _subjects(c: imaplib.IMAP4, mailbox: str = "INBOX") -> list[str]:
    typ, _ = c.select(mailbox, readonly=True)
    assert typ == "OK"
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    if typ != "OK" or data == [None]:
        return []
    out = []
    for item in data:
        if isinstance(item, tuple):
            msg = email.message_from_bytes(item[1], policy=email.policy.default)
            out.append(str(msg["Subject"]))
    return out


def _body_of(c: imaplib.IMAP4, subject_part: str) -> str:
    typ, data = c.search(None, "SUBJECT", f'"{subject_part}"')
    assert typ == "OK" and data[0], subject_part
    typ, fetched = c.fetch(data[0].split()[-1], "(BODY.PEEK[])")
    first = fetched[0]
    assert isinstance(first, tuple)
    msg = email.message_from_bytes(first[1], policy=email.policy.default)
    body = msg.get_body()
    assert body is not None
    return str(body.get_content())


# ---- GeoIP ------------------------------------------------------------------------------------

def _geo_db(path: Path) -> Path:
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-City", languages=["en"],
                        description="mailfort test")
    for net, code, lat, lon in (("127.0.1.0/24", "FR", 48.8566, 2.3522),
                                ("127.0.3.0/24", "FR", 45.7640, 4.8357),
                                ("127.0.2.0/24", "AU", -33.8688, 151.2093)):
        writer.insert_network(IPSet([net]), {
            "country": {"iso_code": code},
            "location": {"latitude": MmdbF64(lat), "longitude": MmdbF64(lon)}})
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def geo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("geo")
    _geo_db(root / "geo.mmdb")
    with live_server(root, detectors="", audit_keys='geoip_db = "geo.mmdb"\n') as srv:
        yield srv


def test_new_country_and_impossible_travel_over_imap(geo: Live) -> None:
    geo.add_user("tr@example.com", "tr-real-password-1")
    login(geo, "tr@example.com", "tr-real-password-1", PARIS).logout()
    login(geo, "tr@example.com", "tr-real-password-1", LYON).logout()  # same country, 400 km
    assert not [a for a in geo.alerts() if a.fields().get("kind") in
                ("new_country", "impossible_travel")]
    login(geo, "tr@example.com", "tr-real-password-1", SYDNEY).logout()
    new = geo.alerts_of("new_country")
    assert len(new) == 1 and new[0]["user"] == "tr@example.com"
    assert SYDNEY in str(new[0]["sources"]) and "AU" in str(new[0]["summary"])
    travel = geo.alerts_of("impossible_travel")
    assert len(travel) == 1 and travel[0]["severity"] == "high"
    assert LYON in str(travel[0]["sources"]) and SYDNEY in str(travel[0]["sources"])
    assert "FR then AU" in str(travel[0]["summary"])


def test_report_says_country_detections_are_on_with_a_database(geo: Live) -> None:
    out = " ".join(_cli(geo, "report").split())
    assert "Country detections (new country, impossible travel): on" in out
    assert "geo.mmdb" in out


# ---- one server for notices, sinks, throttling and decoys --------------------------------------

class _Syslog:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])

    def wait_for(self, *needles: bytes) -> bytes:
        deadline = time.monotonic() + WAIT_S
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no syslog datagram with {needles!r}"
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if all(n in data for n in needles):
                return data


THROTTLE_BYTES_PER_S = 200_000


@pytest.fixture(scope="module")
def syslog() -> Iterator[_Syslog]:
    s = _Syslog()
    try:
        yield s
    finally:
        s.sock.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, syslog: _Syslog) -> Iterator[Live]:
    guard = """lockout_threshold = 4
ban_address_failures = 1000
ban_network_failures = 1000
stuffing_accounts = 1000
network_stuffing_accounts = 1000
attack_sources = 1000
delays_s = [0]
"""
    detectors = f"""session_bytes_cap = 300000
exfiltration_action = "throttle_session"
throttle_bytes_per_s = {THROTTLE_BYTES_PER_S}
"""
    with live_server(tmp_path_factory.mktemp("watch"), detectors=detectors, guard=guard,
                     audit_keys='security_mailbox_user = "secops@example.com"\n'
                           'security_mailbox = "Alerts"\n',
                     sections=f'[audit.syslog]\naddress = "udp:127.0.0.1:{syslog.port}"\n'
                     ) as srv:
        srv.add_user("secops@example.com", "secops-password-1")
        c = login(srv, "secops@example.com", "secops-password-1", "127.0.0.99")
        assert c.create("Alerts")[0] == "OK"
        c.logout()
        yield srv


def test_lockout_notice_reaches_the_users_inbox(live: Live) -> None:
    live.add_user("lk@example.com", "lk-real-password-1")
    login(live, "lk@example.com", "lk-real-password-1", "127.0.0.40").logout()  # a known device
    fail_logins(live, "lk@example.com", "127.0.7.41", 4)
    live.alerts()  # drain: the notice is written by a bus subscriber
    locked = live.audit.chain.search(user="lk@example.com", types=["AccountLocked"])
    assert locked
    c = login(live, "lk@example.com", "lk-real-password-1", "127.0.0.40")  # known: still in
    assert "Your mailbox was locked after failed sign-ins" in _subjects(c)
    body = _body_of(c, "was locked")
    assert "127.0.7.41" in body and "If this was not you" in body
    c.logout()


def test_app_password_created_and_revoked_notices(live: Live) -> None:
    live.add_user("ap@example.com", "ap-real-password-1")
    created = _cli(live, "app-password", "create", "ap@example.com", "--name", "Work phone")
    secret = re.search(r"[a-z2-9]{4}(?:-[a-z2-9]{4}){4}", created)
    assert secret is not None
    c = login(live, "ap@example.com", secret.group(0), "127.0.0.42")  # it works
    c.logout()
    _cli(live, "app-password", "revoke", "ap@example.com", "Work phone")
    c = login(live, "ap@example.com", "ap-real-password-1", "127.0.0.42")
    subjects = _subjects(c)
    assert "App password 'Work phone' created" in subjects
    assert "App password 'Work phone' revoked" in subjects
    assert "If this was not you" in _body_of(c, "revoked")
    c.logout()
    types = [r.type for r in live.audit.chain.search(user="ap@example.com")]
    assert "AppPasswordCreated" in types and "AppPasswordRevoked" in types
    with pytest.raises(imaplib.IMAP4.error):  # revoked: it no longer opens the mailbox
        Client(live.port, "127.0.0.42").login("ap@example.com", secret.group(0))


def _decoy_user_alert(live: Live, decoy: str, source: str) -> None:
    _cli(live, "honeytoken", "add", "user", decoy)
    live.run(live.audit.refresh_honeytokens())
    fail_logins(live, decoy, source, 1)
    live.alerts()


def test_syslog_sink_receives_an_rfc5424_alert(live: Live, syslog: _Syslog) -> None:
    _decoy_user_alert(live, "payroll-admin@example.com", "127.0.0.43")
    data = syslog.wait_for(b"payroll-admin@example.com", b"127.0.0.43")
    m = re.match(rb"^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (\S+) mailfort "
                 rb"(\d+) honeytoken \[mailfort@32473 ([^\]]*)\] \xef\xbb\xbf(.+)$", data,
                 re.DOTALL)
    assert m is not None, data
    pri = int(m.group(1))
    assert (pri // 8, pri % 8) == (10, 2)  # authpriv, critical
    params = dict(re.findall(rb'(\w+)="((?:[^"\\]|\\.)*)"', m.group(5)))
    assert params[b"kind"] == b"honeytoken" and params[b"severity"] == b"critical"
    assert params[b"sources"] == b"127.0.0.43"
    assert b"decoy account" in m.group(6)


def test_security_mailbox_sink_delivers_the_alert(live: Live) -> None:
    _decoy_user_alert(live, "it-backup@example.com", "127.0.0.44")
    c = login(live, "secops@example.com", "secops-password-1", "127.0.0.99")
    subjects = _subjects(c, "Alerts")
    assert any(s.startswith("[mailfort critical] honeytoken:") and "it-backup" in s
               for s in subjects), subjects
    body = _body_of(c, "it-backup")
    assert "Sources: 127.0.0.44" in body and "Kind: honeytoken" in body
    c.logout()


def test_decoy_app_password_is_refused_and_raises_an_alert(live: Live) -> None:
    live.add_user("dk@example.com", "dk-real-password-1")
    out = _cli(live, "honeytoken", "add", "app-password", "dk@example.com")
    decoy = re.search(r"[a-z2-9]{4}(?:-[a-z2-9]{4}){4}", out)
    assert decoy is not None and "not shown again" in out
    live.run(live.audit.refresh_honeytokens())
    with pytest.raises(imaplib.IMAP4.error) as used:
        Client(live.port, "127.0.0.45").login("dk@example.com", decoy.group(0))
    with pytest.raises(imaplib.IMAP4.error) as wrong:  # the same words as a wrong password
        Client(live.port, "127.0.0.46").login("dk@example.com", "abcd-efgh-ijkm-npqr-stuv")
    assert str(used.value) == str(wrong.value)
    alerts = [a for a in live.alerts_of("honeytoken") if a["user"] == "dk@example.com"]
    assert len(alerts) == 1 and alerts[0]["severity"] in ("high", "critical")
    assert alerts[0]["sources"] == ["127.0.0.45"] and "127.0.0.45" in str(alerts[0]["summary"])
    assert ["token", "decoy_app_password"] in alerts[0]["details"]  # type: ignore[operator]
    assert not live.audit.chain.search(user="dk@example.com", types=["LoginSucceeded"])
    # the owner is not told of a decoy (it is no app password of theirs)
    assert not live.audit.chain.search(user="dk@example.com", types=["AppPasswordCreated"])


def test_throttle_session_slows_the_exfiltrating_session(live: Live) -> None:
    live.add_user("tx@example.com", "tx-real-password-1")
    for i in range(12):
        live.deliver("tx@example.com", message(f"big {i}", b"y" * 60_000 + b"\r\n"))
    c = login(live, "tx@example.com", "tx-real-password-1", "127.0.0.47")
    c.select("INBOX", readonly=True)
    c.fetch("1:6", "(BODY.PEEK[])")  # 360 kB: over the 300 kB session cap
    alerts = [a for a in live.alerts_of("exfiltration") if a["user"] == "tx@example.com"]
    assert alerts and alerts[0]["actions"] == ["throttle_session"]
    sid = str(alerts[0]["session_id"])
    assert ("throttle_session", sid) in live.audit.controls.actions_taken
    started = time.monotonic()
    typ, data = c.fetch("7:12", "(BODY.PEEK[])")
    elapsed = time.monotonic() - started
    assert typ == "OK" and sum(1 for d in data if isinstance(d, tuple)) == 6
    # ~360 kB at 200 kB/s; every full 64 kB chunk is paced, so at least ~1.5 s
    assert elapsed >= 1.2, elapsed
    c.logout()


def test_report_says_country_detections_are_off_without_a_database(live: Live) -> None:
    out = " ".join(_cli(live, "report").split())
    assert "Country detections (new country, impossible travel): off" in out
    html_path = live.settings.data_dir.parent / "report.html"
    _cli(live, "report", "--html", str(html_path))
    assert "Country detections (new country, impossible travel): off" in html_path.read_text()


# ---- end_session: its own server (the action is server-wide) ------------------------------------

def test_end_session_ends_the_exfiltrating_session(tmp_path: Path) -> None:
    detectors = 'session_bytes_cap = 300000\nexfiltration_action = "end_session"\n'
    with live_server(tmp_path, detectors=detectors) as srv:
        srv.add_user("te@example.com", "te-real-password-1")
        for i in range(30):
            srv.deliver("te@example.com", message(f"big {i}", b"z" * 60_000 + b"\r\n"))
        c = login(srv, "te@example.com", "te-real-password-1", "127.0.0.48")
        c.select("INBOX", readonly=True)
        # 1.8 MB in one FETCH: reported after its first MiB, so the session can be ended
        # while the FETCH runs; if the FETCH wins the race, the next command meets the end.
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            c.fetch("1:*", "(BODY.PEEK[])")
            srv.alerts()
            c.noop()
        alerts = [a for a in srv.alerts_of("exfiltration") if a["user"] == "te@example.com"]
        assert alerts and alerts[0]["actions"] == ["end_session"]
        assert ("end_session", str(alerts[0]["session_id"])) in srv.audit.controls.actions_taken
        ended = srv.audit.chain.search(user="te@example.com", types=["SessionEnded"])
        assert [r.fields()["session_id"] for r in ended] == [alerts[0]["session_id"]]
        with contextlib.suppress(Exception):
            c.shutdown()


# ---- webhook: down receiver, killed server, restart ---------------------------------------------

class _Hook(http.server.BaseHTTPRequestHandler):
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


def _outbox_attempts(db: Path) -> int:
    if not db.is_file():
        return 0
    with contextlib.closing(sqlite3.connect(str(db), timeout=5)) as conn:
        try:
            row = conn.execute("SELECT MAX(attempts) FROM outbox").fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(row[0] or 0)


def test_webhook_retried_after_the_receiver_was_down_survives_a_restart(tmp_path: Path) -> None:
    hook_port = free_port()  # nothing listens there yet
    (tmp_path / "hook.secret").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "hook.secret").write_bytes(SECRET)
    proc = MailfortProcess(
        tmp_path,
        overrides={"server": {"allow_plaintext_auth_on_loopback": True},
                   "audit": {"metrics_listen": ""}},
        extra_config=f'[audit.webhook]\nurl = "http://127.0.0.1:{hook_port}/hook"\n'
                     f'secret_file = "hook.secret"\nbackoff_initial_s = 0.2\n'
                     f'backoff_max_s = 0.5\nmax_attempts = 1000\n')
    proc.write_config()
    proc.cli("honeytoken", "add", "user", "vpn-admin@example.com")
    httpd: http.server.ThreadingHTTPServer | None = None
    try:
        proc.start()
        assert "GeoIP is off" in proc.log_text()  # the startup log says what is off
        assert "impossible-travel detections are off" in proc.log_text()
        c = imaplib.IMAP4("127.0.0.1", proc.imap_port, timeout=WAIT_S)
        with pytest.raises(imaplib.IMAP4.error):
            c.login("vpn-admin@example.com", "guessed-password-1")
        c.logout()
        outbox = proc.data_dir / "audit-webhook.db"
        deadline = time.monotonic() + WAIT_S
        while _outbox_attempts(outbox) < 2:  # queued, and retried while the receiver is down
            assert time.monotonic() < deadline, proc.log_text()
            time.sleep(0.05)  # polling a file, bounded by the deadline
        proc.kill()  # no chance to flush anything
        _Hook.received, _Hook.arrived = [], threading.Event()
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), _Hook)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        proc.start()
        assert _Hook.arrived.wait(WAIT_S), proc.log_text()
    finally:
        proc.stop()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
    headers, body = _Hook.received[0]
    doc = json.loads(body)
    assert doc["kind"] == "honeytoken" and "vpn-admin@example.com" in doc["summary"]
    assert headers["X-Mailfort-Signature"] == sign(SECRET, headers["X-Mailfort-Timestamp"],
                                                    body)
