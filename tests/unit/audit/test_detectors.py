"""Each detector on a scripted scenario, and a normal working day that raises nothing."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from audit_fakes import FakeClock

from mailfort.audit.detectors import (
    DetectionEngine,
    HoneytokenDetector,
    default_detectors,
    network_of,
)
from mailfort.audit.events import (
    AccountUnderAttack,
    AdminAction,
    AlertRaised,
    AlertSeverity,
    AuditEvent,
    LoginFailed,
    LoginFailureReason,
    LoginSucceeded,
    MailboxCreated,
    MessagesExpunged,
    MessagesFetched,
    MessagesFlaggedDeleted,
    PermissionChanged,
    SensitiveFolderAccessed,
    SessionEnded,
)
from mailfort.audit.settings import DetectorSettings

T0 = 1_700_006_400.0  # a midnight, UTC
DAY = 86_400.0


def _engine(settings: DetectorSettings | None = None,
            clock: FakeClock | None = None) -> DetectionEngine:
    return DetectionEngine(default_detectors(settings or DetectorSettings(), clock or FakeClock()))


def _run(engine: DetectionEngine, events: list[AuditEvent]) -> list[AlertRaised]:
    out: list[AlertRaised] = []
    for e in sorted(events, key=lambda e: e.at):
        out.extend(engine.observe(e))
    return out


def _ok(at: float, user: str, peer: str) -> LoginSucceeded:
    return LoginSucceeded(at=at, user=user, peer=peer, method="password", is_known_source=True)


def _bad(at: float, user: str, peer: str) -> LoginFailed:
    return LoginFailed(at=at, user=user, peer=peer, reason=LoginFailureReason.BAD_PASSWORD,
                       is_counted=True)


def _fetch(at: float, user: str, peer: str, sid: str, count: int, size: int,
           uids: tuple[int, ...] = ()) -> MessagesFetched:
    return MessagesFetched(at=at, user=user, peer=peer, session_id=sid, mailbox="INBOX",
                           count=count, bytes=size, uids=uids)


USERS = {  # user -> (office, home, phone)
    "alice@example.com": ("192.0.2.11", "203.0.113.7", "198.51.100.21"),
    "bob@example.com": ("192.0.2.12", "100.64.3.9", "198.51.100.77"),
    "carol@example.com": ("192.0.2.13", "100.64.9.2", "198.51.100.4"),
    "dave@example.com": ("192.0.2.14", "100.64.20.5", "198.51.100.130"),
    "erin@example.com": ("192.0.2.15", "100.64.44.1", "198.51.100.200"),
}


def _day(day: int, rng: random.Random, mistakes: bool) -> list[AuditEvent]:
    """One ordinary working day: every user's laptop at the office (08-17h), phone all day,
    home in the evening; a few typos; ordinary fetch volumes; a little deleting."""
    base = T0 + day * DAY
    events: list[AuditEvent] = []
    for n, (user, (office, home, phone)) in enumerate(USERS.items()):
        sessions = [(8 + rng.random(), office), (12.5 + rng.random(), office),
                    (10 + rng.random() * 6, phone), (19 + rng.random() * 2, home)]
        for k, (hour, peer) in enumerate(sessions):
            at = base + hour * 3600
            sid = f"d{day}-{n}-{k}"
            if mistakes and k == 0 and n % 2 == 0:
                events.append(_bad(at - 30, user, peer))
                events.append(_bad(at - 20, user, peer))
            events.append(_ok(at, user, peer))
            for j in range(rng.randint(2, 6)):
                count = rng.randint(5, 80)
                events.append(_fetch(at + 60 + j * 300, user, peer, sid, count,
                                     count * rng.randint(20_000, 90_000)))
            if k == 1:
                c = rng.randint(1, 30)
                events.append(MessagesFlaggedDeleted(at=at + 2000, user=user, peer=peer,
                                                     session_id=sid, mailbox="INBOX", count=c))
                events.append(MessagesExpunged(at=at + 2010, user=user, peer=peer,
                                               session_id=sid, mailbox="INBOX", count=c))
            events.append(SessionEnded(at=at + 3000, user=user, peer=peer, session_id=sid,
                                       duration_s=3000, bytes_in=10_000, bytes_out=5_000_000,
                                       messages_fetched=100))
    return events


def test_a_normal_working_day_raises_no_alert() -> None:
    rng = random.Random(4)  # noqa: S311 - a reproducible simulation
    engine = _engine()
    history: list[AuditEvent] = []
    for day in range(10):
        history += _day(day, rng, mistakes=day % 3 == 0)
    _run(engine, history)  # learning; a new user's phone on day one may be "new" then
    today = _day(10, rng, mistakes=True)
    today.append(MailboxCreated(at=T0 + 10 * DAY + 40_000, user="bob@example.com",
                                peer="192.0.2.12", session_id="x", mailbox="Projects"))
    assert _run(engine, today) == []


def test_brute_force_from_one_source_raises_one_alert_naming_it() -> None:
    engine = _engine()
    events: list[AuditEvent] = [_bad(T0 + i * 5, f"u{i % 3}@example.com", "203.0.113.66")
                                for i in range(60)]
    alerts = _run(engine, events)
    brute = [a for a in alerts if a.kind == "brute_force"]
    assert len(brute) == 1
    assert brute[0].sources == ("203.0.113.66",) and brute[0].severity is AlertSeverity.HIGH
    assert ("failures", "20") in brute[0].details


def test_brute_force_below_threshold_is_quiet() -> None:
    events: list[AuditEvent] = [_bad(T0 + i * 40, "a@example.com", "203.0.113.66")
                                for i in range(19)]
    assert [a for a in _run(_engine(), events) if a.kind == "brute_force"] == []


def test_distributed_attack_on_an_account_names_sources() -> None:
    engine = _engine()
    events: list[AuditEvent] = [_bad(T0 + i, "ceo@example.com", f"198.18.0.{i}") for i in range(5)]
    events.append(AccountUnderAttack(at=T0 + 10, user="ceo@example.com", distinct_sources=5))
    alerts = [a for a in _run(engine, events) if a.kind == "brute_force"]
    assert len(alerts) == 1 and alerts[0].user == "ceo@example.com"
    assert set(alerts[0].sources) == {f"198.18.0.{i}" for i in range(5)}


def test_credential_stuffing_names_the_source() -> None:
    events: list[AuditEvent] = [_bad(T0 + i * 3, f"user{i}@example.com", "198.18.7.7")
                                for i in range(12)]
    alerts = [a for a in _run(_engine(), events) if a.kind == "credential_stuffing"]
    assert len(alerts) == 1 and alerts[0].sources == ("198.18.7.7",)
    assert ("accounts", "8") in alerts[0].details


def test_failures_then_success_flags_possible_compromise() -> None:
    settings = replace(DetectorSettings(), force_password_change_on_compromise=True)
    events: list[AuditEvent] = [_bad(T0 + i * 30, "bob@example.com", f"198.18.1.{i % 3}")
                                for i in range(9)]
    events.append(_ok(T0 + 400, "bob@example.com", "198.18.1.2"))
    alerts = [a for a in _run(_engine(settings), events) if a.kind == "failures_then_success"]
    assert len(alerts) == 1
    assert alerts[0].user == "bob@example.com" and "198.18.1.0" in alerts[0].sources
    assert alerts[0].actions == ("force_password_change",)


def test_a_typo_then_success_is_not_a_compromise() -> None:
    events: list[AuditEvent] = [_bad(T0, "bob@example.com", "192.0.2.1"),
                                _ok(T0 + 5, "bob@example.com", "192.0.2.1")]
    assert _run(_engine(), events) == []


def test_new_network_alerts_and_asks_to_tell_the_user() -> None:
    engine = _engine()
    assert _run(engine, [_ok(T0 + 9 * 3600, "a@example.com", "192.0.2.10")]) == []
    assert _run(engine, [_ok(T0 + 10 * 3600, "a@example.com", "192.0.2.99")]) == []  # same /24
    alerts = _run(engine, [_ok(T0 + 11 * 3600, "a@example.com", "203.0.113.250")])
    assert [a.kind for a in alerts] == ["new_device"]
    assert alerts[0].actions == ("notify_user",) and alerts[0].sources == ("203.0.113.250",)


def test_network_of() -> None:
    assert network_of("192.0.2.77") == "192.0.2.0/24"
    assert network_of("192.0.2.77:51234") == "192.0.2.0/24"
    assert network_of("[2001:db8::1]:993") == "2001:db8::/64"
    assert network_of("::ffff:192.0.2.5") == "192.0.2.0/24"
    assert network_of("unix") == "unix"


def test_unusual_hour_after_learning() -> None:
    engine = _engine()
    learn: list[AuditEvent] = [_ok(T0 + d * DAY + (9 + d % 8) * 3600, "a@example.com",
                                   "192.0.2.10") for d in range(30)]
    assert _run(engine, learn) == []
    alerts = _run(engine, [_ok(T0 + 31 * DAY + 3 * 3600, "a@example.com", "192.0.2.10")])
    assert [a.kind for a in alerts] == ["unusual_hour"]
    assert ("hour", "3") in alerts[0].details


def test_exfiltration_over_the_session_cap_alerts_once() -> None:
    settings = replace(DetectorSettings(), session_bytes_cap=1_000_000,
                       exfiltration_action="end_session")
    events: list[AuditEvent] = [_fetch(T0 + i, "a@example.com", "198.18.2.2", "s1", 10, 300_000)
                                for i in range(10)]
    alerts = _run(_engine(settings), events)
    assert len(alerts) == 1 and alerts[0].kind == "exfiltration"
    assert alerts[0].session_id == "s1" and alerts[0].actions == ("end_session",)
    assert ("scope", "session") in alerts[0].details


def test_exfiltration_against_the_users_baseline() -> None:
    engine = _engine()
    usual: list[AuditEvent] = [_fetch(T0 + h * 3600, "a@example.com", "192.0.2.10", f"s{h}",
                                      40, 40_000_000) for h in range(24)]
    assert _run(engine, usual) == []
    # 10 x 40 MB = 400 MB is over the 300 MB floor: 12 fetches of 40 MB in one hour
    burst: list[AuditEvent] = [_fetch(T0 + 30 * 3600 + i * 60, "a@example.com", "192.0.2.10",
                                      "big", 40, 40_000_000) for i in range(12)]
    alerts = _run(engine, burst)
    assert [a.kind for a in alerts] == ["exfiltration"]
    assert ("scope", "hour") in alerts[0].details


def test_mass_deletion() -> None:
    def exp(at: float, n: int) -> MessagesExpunged:
        return MessagesExpunged(at=at, user="a@example.com", peer="192.0.2.10", session_id="s",
                                mailbox="INBOX", count=n)

    def flag(at: float, n: int) -> MessagesFlaggedDeleted:
        return MessagesFlaggedDeleted(at=at, user="a@example.com", peer="192.0.2.10",
                                      session_id="s", mailbox="INBOX", count=n)

    assert _run(_engine(), [flag(T0, 400), exp(T0 + 10, 400)]) == []
    assert _run(_engine(), [exp(T0, 300), exp(T0 + 3600, 300)]) == []
    alerts = _run(_engine(), [exp(T0 + i * 60, 100) for i in range(8)])
    assert [a.kind for a in alerts] == ["mass_deletion"]
    assert ("messages", "600") in alerts[0].details


def test_sensitive_folder_access_once_per_session() -> None:
    e = SensitiveFolderAccessed(at=T0, user="bob@example.com", peer="192.0.2.2", session_id="s",
                                owner="hr@example.com", mailbox="Payroll", action="select")
    alerts = _run(_engine(), [e, replace(e, at=T0 + 5, action="fetch")])
    assert len(alerts) == 1 and "hr@example.com's sensitive folder Payroll" in alerts[0].summary


def test_permission_change_and_admin_action() -> None:
    events: list[AuditEvent] = [
        PermissionChanged(at=T0, user="alice@example.com", peer="192.0.2.1", session_id="s",
                          owner="alice@example.com", mailbox="Shared", grantee="bob@example.com",
                          rights="lrswi"),
        AdminAction(at=T0 + 1, user="root", peer="local", action="user.add", target="x@y")]
    assert [a.kind for a in _run(_engine(), events)] == ["permission_change", "admin_action"]


def test_honeytokens() -> None:
    honey = HoneytokenDetector(DetectorSettings(), FakeClock())
    honey.add_decoy_user("backup-admin@example.com")
    honey.add_canary("ceo@example.com", "INBOX", 42)
    engine = DetectionEngine([honey])
    a1 = _run(engine, [_bad(T0, "backup-admin@example.com", "198.18.9.9")])
    a2 = _run(engine, [_fetch(T0 + 1, "ceo@example.com", "198.18.9.8", "s", 3, 9000,
                              uids=(41, 42, 43))])
    a3 = _run(engine, [_fetch(T0 + 2, "ceo@example.com", "198.18.9.8", "s", 1, 90, uids=(7,))])
    assert [a.severity for a in a1 + a2] == [AlertSeverity.CRITICAL] * 2
    assert a1[0].sources == ("198.18.9.9",) and "UID 42" in a2[0].summary
    assert a3 == []


def test_state_survives_a_restart(tmp_path: Path) -> None:
    engine = _engine()
    _run(engine, [_ok(T0, "a@example.com", "192.0.2.10")])
    honey = HoneytokenDetector(DetectorSettings(), FakeClock())
    honey.add_decoy_user("decoy@example.com")
    DetectionEngine([honey]).save(tmp_path / "h.json")
    engine.save(tmp_path / "detectors.json")

    again = _engine()
    assert again.load(tmp_path / "detectors.json")
    assert _run(again, [_ok(T0 + 60, "a@example.com", "192.0.2.11")]) == []  # known network
    assert [a.kind for a in _run(again, [_ok(T0 + 120, "a@example.com", "203.0.113.1")])] \
        == ["new_device"]
    honey2 = HoneytokenDetector(DetectorSettings(), FakeClock())
    assert DetectionEngine([honey2]).load(tmp_path / "h.json")
    assert len(honey2.observe(_bad(T0, "decoy@example.com", "198.18.0.1"))) == 1
    assert not _engine().load(tmp_path / "missing.json")
