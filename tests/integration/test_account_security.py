"""Account security over IMAP, end to end (issue #3): the guard at accept and at login, the
login service behind LOGIN and AUTHENTICATE (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2), MFA with app
passwords, bearer tokens from ``mailfort token issue``, IP policy and password expiry.

Two servers: an in-process one with SMALL thresholds (the tests are about the mechanisms), and a
real ``mailfort serve`` subprocess with the DEFAULT guard for the CLI-driven flows (MFA, app
passwords, tokens). Sources are told apart by binding the client socket to different loopback
addresses (all of 127.0.0.0/8 is loopback on Linux); each test uses its own /24, since the guard
counts per address and per /24 network.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import MappingProxyType

import pyotp
import pytest
from tests.conftest import RunningServer, make_settings, running_server
from tests.security.wire import Reply, Wire, plain_sasl, quote
from tests.serverproc import MailfortProcess

from mailfort.audit.events import SecurityEvent
from mailfort.config.model import GuardSettings, LimitSettings
from mailfort.core.clock import SystemClock
from mailfort.store.security import PasswordState

TIMEOUT_S = 15.0
ALL_MECHANISMS = ["AUTH=PLAIN", "AUTH=LOGIN", "AUTH=OAUTHBEARER", "AUTH=XOAUTH2"]


class Recorder:
    """An EventSink that keeps every event (the server thread appends; tests read)."""

    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []
        self._lock = threading.Lock()

    def emit(self, event: SecurityEvent) -> None:
        with self._lock:
            self.events.append(event)

    def kinds(self) -> list[str]:
        with self._lock:
            return [type(e).__name__ for e in self.events]


def connect(port: int, ctx: object, source: str = "127.0.0.1") -> Wire:
    """A TLS connection from ``source``; the first line (greeting or BYE) is in
    ``wire.greeting``."""
    import ssl

    assert isinstance(ctx, ssl.SSLContext)
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S,
                                   source_address=(source, 0))
    wire = Wire(ctx.wrap_socket(raw, server_hostname="localhost"), TIMEOUT_S)
    wire.greeting = wire.read_line()
    return wire


def login(wire: Wire, user: str, password: str, tag: str = "a") -> Reply:
    return wire.command(tag, b"LOGIN " + quote(user) + b" " + quote(password))


# ---- the mechanism server: small thresholds -----------------------------------------------

@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder
        ) -> Iterator[RunningServer]:
    base = make_settings(tmp_path_factory.mktemp("acctsec") / "data")
    settings = dataclasses.replace(
        base,
        limits=LimitSettings(max_auth_failures_per_connection=10),
        guard=GuardSettings(
            lockout_threshold=3, ban_address_failures=50, ban_network_failures=500,
            stuffing_accounts=4, network_stuffing_accounts=500, delays_s=(0.0,),
            max_connections_per_user_and_address=2,
            deny=("127.0.3.0/24",),
            user_allow=MappingProxyType({"finance-ann": ("127.0.4.0/24",)})))
    with running_server(settings, security=True, sink=recorder) as server:
        yield server


def _open(srv: RunningServer, source: str = "127.0.0.1") -> Wire:
    return connect(srv.imaps_port, srv.client_context(), source)


def _try(srv: RunningServer, source: str, user: str, password: str) -> Reply:
    wire = _open(srv, source)
    try:
        assert wire.greeting.startswith(b"* OK"), wire.greeting
        return login(wire, user, password)
    finally:
        wire.close()


def test_tls_capabilities_offer_every_mechanism(srv: RunningServer) -> None:
    wire = _open(srv)
    caps = wire.greeting.split(b"[CAPABILITY ", 1)[1].split(b"]", 1)[0].decode().split()
    assert caps[-5:] == ["SASL-IR", *ALL_MECHANISMS]
    wire.close()


def test_lockout_after_n_failures_and_smart_lockout(srv: RunningServer,
                                                    recorder: Recorder) -> None:
    acct = srv.add_user()
    assert _try(srv, "127.0.0.1", acct.username, acct.password).is_ok  # a known network
    attacker = "127.0.1.1"
    for i in range(3):
        reply = _try(srv, attacker, acct.username, f"guess-{i}")
        assert reply.code == b"AUTHENTICATIONFAILED", reply
    # Locked for the attacker's network: even the right password is refused there...
    refused = _try(srv, attacker, acct.username, acct.password)
    assert refused.status == b"NO" and refused.code == b"UNAVAILABLE", refused
    assert refused.tagged.endswith(b"Too many failed logins; try again later")
    # ...while the real user, from a network it logged in from before, still gets in.
    assert _try(srv, "127.0.0.1", acct.username, acct.password).is_ok
    assert "AccountLocked" in recorder.kinds()


def test_stuffing_from_one_source_is_banned_before_the_greeting(srv: RunningServer,
                                                                recorder: Recorder) -> None:
    stuffer = "127.0.2.1"
    for i in range(4):
        reply = _try(srv, stuffer, f"victim{i}", "Summer2024!")
        assert reply.code == b"AUTHENTICATIONFAILED", reply
    wire = _open(srv, stuffer)
    assert wire.greeting == (b"* BYE [UNAVAILABLE] Too many failed logins from your address; "
                             b"try again later"), wire.greeting
    wire.close()
    # Another address is not affected.
    assert _open(srv, "127.0.6.1").greeting.startswith(b"* OK")
    kinds = recorder.kinds()
    assert "CredentialStuffingDetected" in kinds and "SourceBanned" in kinds


def test_denied_address_is_refused_before_the_greeting(srv: RunningServer) -> None:
    wire = _open(srv, "127.0.3.7")
    assert wire.greeting == b"* BYE [UNAVAILABLE] Connections from your address are not allowed"
    wire.close()


def test_per_user_allowlist(srv: RunningServer) -> None:
    acct = srv.add_user("finance-ann")
    outside = _try(srv, "127.0.0.1", acct.username, acct.password)
    assert outside.status == b"NO" and outside.code == b"AUTHORIZATIONFAILED", outside
    assert _try(srv, "127.0.4.9", acct.username, acct.password).is_ok


def test_per_user_and_address_connection_limit(srv: RunningServer) -> None:
    acct = srv.add_user()
    held = [_open(srv, "127.0.7.1") for _ in range(3)]
    try:
        assert login(held[0], acct.username, acct.password).is_ok
        assert login(held[1], acct.username, acct.password).is_ok
        third = login(held[2], acct.username, acct.password)
        assert third.status == b"NO" and third.code == b"LIMIT", third
        assert b"Too many connections for this account from your address" in third.tagged
    finally:
        for w in held:
            w.close()


def test_expired_password_is_refused_with_a_hint(srv: RunningServer) -> None:
    acct = srv.add_user()
    assert srv.security is not None
    sec = srv.security

    async def force_change() -> None:
        user = await srv.store.users.get(acct.username)
        assert user is not None
        await sec.state.password_states.put(PasswordState(user.id, SystemClock().now(), True))

    srv.run(force_change())
    reply = _try(srv, "127.0.8.1", acct.username, acct.password)
    assert reply.status == b"NO" and reply.code == b"EXPIRED", reply
    assert b"change it" in reply.tagged


def test_authenticate_plain_and_login_go_through_the_login_service(srv: RunningServer) -> None:
    acct = srv.add_user()
    wire = _open(srv, "127.0.9.1")
    ir = plain_sasl(b"", acct.username.encode(), acct.password.encode())
    assert wire.command("p", b"AUTHENTICATE PLAIN " + ir).is_ok
    wire.close()
    wire = _open(srv, "127.0.9.1")
    wire.send(b"l AUTHENTICATE LOGIN\r\n")
    assert base64.b64decode(wire.read_line()[2:]) == b"Username:"
    wire.send(base64.b64encode(acct.username.encode()) + b"\r\n")
    assert base64.b64decode(wire.read_line()[2:]) == b"Password:"
    wire.send(base64.b64encode(b"wrong-password") + b"\r\n")
    reply = wire.read_tagged("l")
    assert reply.status == b"NO" and reply.code == b"AUTHENTICATIONFAILED", reply
    wire.close()


def test_refused_bearer_token_gets_an_error_challenge_then_no(srv: RunningServer) -> None:
    acct = srv.add_user()
    wire = _open(srv, "127.0.10.1")
    msg = b"n,a=" + acct.username.encode() + b",\x01auth=Bearer not-a-token\x01\x01"
    wire.send(b"o AUTHENTICATE OAUTHBEARER " + base64.b64encode(msg) + b"\r\n")
    challenge = wire.read_line()
    assert challenge.startswith(b"+ ")
    assert b'"status":"invalid_token"' in base64.b64decode(challenge[2:])
    wire.send(base64.b64encode(b"\x01") + b"\r\n")
    reply = wire.read_tagged("o")
    assert reply.status == b"NO" and reply.code == b"AUTHENTICATIONFAILED", reply
    wire.close()


# ---- the real product: `mailfort serve` with the default guard, driven by the CLI ----------

@dataclasses.dataclass
class Product:
    proc: MailfortProcess
    user: str
    password: str
    recovery_codes: list[str]

    def tls(self, source: str = "127.0.0.1") -> Wire:
        return connect(self.proc.imaps_port, self.proc.ssl_context(), source)

    def second_factor(self) -> str:
        return self.recovery_codes.pop()


def _enroll(proc: MailfortProcess, user: str) -> list[str]:
    """``mailfort mfa enroll USER``, answering with the current TOTP code; the recovery
    codes it prints."""
    cmd = [sys.executable, "-m", "mailfort.cli.main", "--config", str(proc.config_path),
           "mfa", "enroll", user]
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    killer = threading.Timer(60, child.kill)  # bounds every read below
    killer.start()
    try:
        assert child.stdout is not None and child.stdin is not None
        secret = ""
        for raw in child.stdout:
            m = re.search(rb"secret by hand: ([A-Z2-7]+)", raw)
            if m:
                secret = m.group(1).decode()
                break
        assert secret, "enroll printed no secret"
        out, _ = child.communicate((pyotp.TOTP(secret).now() + "\n").encode(), timeout=60)
    finally:
        killer.cancel()
    assert child.returncode == 0, out
    text = out.decode()
    codes = re.findall(r"^  (\S+)$", text.split("Recovery codes", 1)[1], re.MULTILINE)
    assert len(codes) >= 4, text
    return codes


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    proc = MailfortProcess(tmp_path_factory.mktemp("product"))
    proc.write_config()
    proc.start()
    try:
        password = proc.add_user("mfa-user@example.test")
        codes = _enroll(proc, "mfa-user@example.test")
        yield Product(proc, "mfa-user@example.test", password, codes)
    finally:
        proc.stop()


def _app_password(product: Product, device: str) -> str:
    out = product.proc.cli("app-password", "create", product.user, "--name", device,
                           stdin=(product.second_factor() + "\n").encode()).stdout.decode()
    m = re.search(r"^\s{4}(\S+)\s*$", out, re.MULTILINE)
    assert m, out
    return m.group(1)


def test_mfa_primary_refused_app_password_accepted_then_revoked(product: Product) -> None:
    wire = product.tls("127.0.20.1")
    refused = login(wire, product.user, product.password)
    # MFA required looks exactly like a wrong password on the wire (the reason is audited).
    assert refused.tagged == b"a NO [AUTHENTICATIONFAILED] Authentication failed", refused
    app = _app_password(product, "laptop")
    assert login(wire, product.user, app, tag="b").is_ok
    wire.close()
    product.proc.cli("app-password", "revoke", product.user, "laptop")
    wire = product.tls("127.0.20.1")
    again = login(wire, product.user, app)
    assert again.status == b"NO" and again.code == b"AUTHENTICATIONFAILED", again
    wire.close()


def _issue_token(product: Product) -> tuple[str, str]:
    result = product.proc.cli("token", "issue", product.user, stdin=(
        product.password + "\n" + product.second_factor() + "\n").encode())
    token = result.stdout.decode().strip().splitlines()[-1]
    token_id = re.search(r"Token (\S+) for", result.stderr.decode())
    assert token_id, result.stderr
    return token, token_id.group(1)


def _bearer(mechanism: str, user: str, token: str) -> bytes:
    if mechanism == "OAUTHBEARER":
        msg = f"n,a={user},\x01auth=Bearer {token}\x01\x01"
    else:
        msg = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(msg.encode())


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
def test_bearer_token_from_the_cli_accepted_then_revoked(product: Product,
                                                         mechanism: str) -> None:
    token, token_id = _issue_token(product)
    wire = product.tls("127.0.21.1")
    caps = wire.greeting.decode()
    assert all(m in caps for m in ALL_MECHANISMS), caps
    ok = wire.command("t", b"AUTHENTICATE " + mechanism.encode() + b" "
                      + _bearer(mechanism, product.user, token))
    assert ok.is_ok, ok
    wire.close()
    product.proc.cli("token", "revoke", product.user, token_id)
    wire = product.tls("127.0.21.1")
    wire.send(b"t AUTHENTICATE " + mechanism.encode() + b" "
              + _bearer(mechanism, product.user, token) + b"\r\n")
    assert wire.read_line().startswith(b"+ ")  # the error challenge
    wire.send((b"AQ==" if mechanism == "OAUTHBEARER" else b"") + b"\r\n")
    refused = wire.read_tagged("t")
    assert refused.status == b"NO" and refused.code == b"AUTHENTICATIONFAILED", refused
    wire.close()


def test_default_guard_is_live_in_mailfort_serve(product: Product) -> None:
    """With the defaults, one address failing on 5 accounts is banned (stuffing)."""
    for i in range(5):
        wire = product.tls("127.0.22.1")
        assert login(wire, f"nobody{i}@example.test", "Winter2025!").code \
            == b"AUTHENTICATIONFAILED"
        wire.close()
    wire = product.tls("127.0.22.1")
    assert wire.greeting.startswith(b"* BYE [UNAVAILABLE]"), wire.greeting
    wire.close()
    assert product.tls("127.0.23.1").greeting.startswith(b"* OK")
