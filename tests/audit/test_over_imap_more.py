"""Two more detections proven over real IMAP connections (issue #4): a login at an unusual hour,
and permission changes (SETACL, DELETEACL) on an own and a shared mailbox.

The server is composed as ``mailfort serve`` composes it (``runtime`` + ``open_audit`` +
``build_security`` + ``serve(acl=...)``), in a background thread, like ``test_over_imap``'s
live server, with two differences: the wall clock is a test clock shared by the guard (which
stamps login events) and the audit layer (detectors, chain), so days of logins pass in a
second; and the ACL state is served, so SETACL and DELETEACL work.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tests.audit.test_over_imap import WAIT_S, Live, _free_port, _write_config, login

from mailfort.cli.bootstrap import AuditRuntime, acl_state, build_security, open_audit, runtime
from mailfort.cli.main import main as cli_main
from mailfort.config.load import load_settings
from mailfort.server.lifecycle import serve
from mailfort.server.tls import TlsContext, ensure_tls_material

# A Monday, 00:00 UTC (the company's time zone is UTC: utc_offset_h = 0).
DAY0 = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
HOUR = 3600.0
DAY = 24 * HOUR
LEARN_AT = (9, 11, 13, 15, 17)  # office hours
LEARN_DAYS = 4
DETECTORS = f"""unusual_hour_min_logins = {len(LEARN_AT) * LEARN_DAYS}
unusual_hour_margin_h = 2
utc_offset_h = 0
"""


class SettableClock:
    """Wall time set by the test; monotonic time stays real (timeouts, rate windows)."""

    def __init__(self, at: float) -> None:
        self._lock = threading.Lock()
        self._at = at

    def set(self, at: float) -> None:
        with self._lock:
            self._at = at

    def now(self) -> float:
        with self._lock:
            return self._at

    def monotonic(self) -> float:
        return time.monotonic()


@contextlib.contextmanager
def clocked_server(root: Path, clock: SettableClock, *, detectors: str = DETECTORS
                   ) -> Iterator[Live]:
    port, metrics_port = _free_port(), _free_port()
    cfg = _write_config(root, port=port, metrics_port=metrics_port, webhook_port=None,
                        detectors=detectors)
    settings = load_settings(cfg)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    started = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        material = ensure_tls_material(settings)
        async with runtime(settings) as rt, open_audit(settings, rt.store, clock) as audit:
            sec = await build_security(settings, rt.store, clock, audit.bus,
                                       hashing=rt.hashing)
            box.update(store=rt.store, audit=audit, hashing=rt.hashing, stop=stop,
                       loop=asyncio.get_running_loop())
            await serve(settings, rt.store, rt.authenticator, TlsContext(material),
                        guard=sec.guard, login_service=sec.login_service, audit=audit.hooks,
                        acl=acl_state(rt.store), ready=lambda _: started.set(), stop=stop)

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
    live = Live(settings, cfg, port, metrics_port, loop, box["store"],  # type: ignore[arg-type]
                audit, box["hashing"])
    try:
        yield live
    finally:
        stop = box["stop"]
        assert isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT_S)
        assert not thread.is_alive()


def _login_at(live: Live, clock: SettableClock, at: float, user: str, password: str,
              source: str) -> None:
    clock.set(at)
    login(live, user, password, source).logout()


# ---- unusual hour -----------------------------------------------------------------------------

def test_login_at_three_after_days_of_office_hours(tmp_path: Path) -> None:
    clock = SettableClock(DAY0)
    user, password, device = "uh@example.com", "uh-real-password-1", "127.0.0.41"
    with clocked_server(tmp_path, clock) as live:
        live.add_user(user, password)
        # A late login before the pattern is learned is not judged (too little history);
        # it is learned, but 22:00 is still far from 03:00.
        _login_at(live, clock, DAY0 - DAY + 22 * HOUR, user, password, device)
        assert live.alerts_of("unusual_hour") == []
        for day in range(LEARN_DAYS):
            for hour in LEARN_AT:
                _login_at(live, clock, DAY0 + day * DAY + hour * HOUR + 300, user, password,
                          device)
        assert live.alerts_of("unusual_hour") == []  # office hours are the user's habit
        today = DAY0 + LEARN_DAYS * DAY
        _login_at(live, clock, today + 10 * HOUR, user, password, device)
        _login_at(live, clock, today + 19 * HOUR, user, password, device)  # within the margin
        assert live.alerts_of("unusual_hour") == []

        _login_at(live, clock, today + DAY + 3 * HOUR + 120, user, password, "127.0.0.42")
        alerts = live.alerts_of("unusual_hour")
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert["user"] == user
        assert "127.0.0.42" in str(alert["sources"])
        assert "03:00" in str(alert["summary"])
        login_records = live.audit.chain.search(user=user, types=["LoginSucceeded"])
        assert login_records[-1].at == today + DAY + 3 * HOUR + 120  # the test clock ruled


# ---- permission changes -----------------------------------------------------------------------

def _acl(c: imaplib.IMAP4, mailbox: str) -> dict[str, str]:
    typ, data = c.getacl(mailbox)
    assert typ == "OK", data
    raw = data[0]
    assert isinstance(raw, bytes)
    words = raw.decode().split()[1:]  # "<mailbox> who rights who rights ..."
    return dict(zip(words[::2], words[1::2], strict=True))


def _changes(live: Live) -> list[dict[str, str]]:
    out = []
    for a in live.alerts_of("permission_change"):
        details = a.get("details")  # [[key, value], ...] in the chain's JSON
        assert isinstance(details, list), a
        pairs = {}
        for pair in details:
            assert isinstance(pair, list) and len(pair) == 2, details
            pairs[str(pair[0])] = str(pair[1])
        out.append({"actor": str(a["user"]), "summary": str(a["summary"]),
                    "sources": str(a["sources"]), **pairs})
    return out


def test_setacl_and_deleteacl_raise_permission_change_alerts(tmp_path: Path) -> None:
    clock = SettableClock(DAY0 + 10 * HOUR)
    owner, grantee = "pc-owner@example.com", "pc-guest@example.com"
    with clocked_server(tmp_path, clock) as live:
        live.add_user(owner, "pc-owner-password-1")
        live.add_user(grantee, "pc-guest-password-1")
        c = login(live, owner, "pc-owner-password-1", "127.0.0.43")
        assert c.create("Projects")[0] == "OK"
        assert live.alerts_of("permission_change") == []  # creating a mailbox is no change

        assert c.setacl("Projects", grantee, "lrs")[0] == "OK"
        assert _acl(c, "Projects").get(grantee) == "lrs"  # the change took effect
        changes = _changes(live)
        assert len(changes) == 1
        granted = changes[0]
        assert granted["actor"] == owner and granted["grantee"] == grantee
        assert granted["rights"] == "lrs" and granted["mailbox"] == "Projects"
        assert owner in granted["summary"] and grantee in granted["summary"]
        assert "127.0.0.43" in granted["sources"]

        # The grantee ("lrs", no "a") may not change the ACL: a refusal is no change.
        g = login(live, grantee, "pc-guest-password-1", "127.0.0.44")
        typ, data = g.setacl(f'"Other Users/{owner}/Projects"', grantee, "lrswipkxtea")
        assert typ == "NO" and b"NOPERM" in bytes(data[0] or b""), (typ, data)
        g.logout()
        assert len(_changes(live)) == 1

        assert c.deleteacl("Projects", grantee)[0] == "OK"
        assert grantee not in _acl(c, "Projects")
        changes = _changes(live)
        assert len(changes) == 2
        revoked = changes[1]
        assert revoked["actor"] == owner and revoked["grantee"] == grantee
        assert revoked["rights"] == "" and "no rights" in revoked["summary"]
        c.logout()


def test_setacl_on_a_shared_mailbox_names_actor_and_grantee(tmp_path: Path) -> None:
    clock = SettableClock(DAY0 + 11 * HOUR)
    admin, member = "sh-admin@example.com", "sh-member@example.com"
    with clocked_server(tmp_path, clock) as live:
        live.add_user(admin, "sh-admin-password-1")
        live.add_user(member, "sh-member-password-1")
        cfg = ["-c", str(live.config)]
        assert cli_main([*cfg, "group", "add", "sales"]) == 0
        assert cli_main([*cfg, "group", "member", "add", "sales", admin]) == 0
        assert cli_main([*cfg, "shared", "create", "sales", "--owner", "sales"]) == 0
        assert cli_main([*cfg, "acl", "set", "Shared/sales", admin, "+a"]) == 0
        c = login(live, admin, "sh-admin-password-1", "127.0.0.45")
        assert c.setacl("Shared/sales", member, "lr")[0] == "OK"
        assert c.deleteacl("Shared/sales", member)[0] == "OK"
        c.logout()
        # The CLI's own grant (actor "cli") raises its alert too; the ones made over IMAP
        # name the session's user and its source address.
        everything = _changes(live)
        assert [(ch["actor"], ch["grantee"]) for ch in everything
                if ch["actor"] == "cli"] == [("cli", admin)]
        changes = [ch for ch in everything if ch["actor"] != "cli"]
        assert [(ch["actor"], ch["grantee"], ch["rights"]) for ch in changes] == [
            (admin, member, "lr"), (admin, member, "")]
        assert all(ch["owner"] == "$sales" and ch["mailbox"] == "Shared/sales"
                   for ch in changes)
        assert all("127.0.0.45" in ch["sources"] for ch in changes)
