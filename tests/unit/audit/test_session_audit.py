"""The session side of auditing a FETCH: canaries caught wherever they sit in a huge FETCH,
events kept small, long downloads reported while they run."""

from __future__ import annotations

from audit_fakes import FakeClock

from mailfort.audit.detectors.honeytoken import HoneytokenDetector
from mailfort.audit.events import AuditEvent, MessagesFetched
from mailfort.config.model import DetectorSettings
from mailfort.service.imap.audit import FETCH_REPORT_BYTES, AuditHooks, SessionAudit

USER, BOX = "cfo@example.com", "INBOX"


class Collected:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)


def _session(canaries: HoneytokenDetector | None) -> tuple[SessionAudit, Collected]:
    sink = Collected()
    return SessionAudit(AuditHooks(sink=sink, clock=FakeClock(), canaries=canaries),
                        "198.51.100.7"), sink


def _fetched(sink: Collected) -> list[MessagesFetched]:
    return [e for e in sink.events if isinstance(e, MessagesFetched)]


def test_a_canary_past_the_first_50000_bodies_is_caught() -> None:
    honey = HoneytokenDetector(DetectorSettings(), FakeClock())
    honey.add_canary(USER, BOX, 70_001)
    honey.add_canary(USER, "Archive", 5)  # another mailbox's canary is not this one's
    audit, sink = _session(honey)
    audit.fetch_started(USER, BOX)
    for uid in range(1, 80_001):
        audit.fetch_progress(uid, 10, sends_body=True)
    audit.fetch_done()
    events = _fetched(sink)
    assert sum(e.count for e in events) == 80_000
    assert [u for e in events for u in e.uids] == [70_001]  # only canaries travel
    alerts = [a for e in events for a in honey.observe(e)]
    assert len(alerts) == 1 and "UID 70001" in alerts[0].summary


def test_headers_only_never_report_a_canary() -> None:
    honey = HoneytokenDetector(DetectorSettings(), FakeClock())
    honey.add_canary(USER, BOX, 3)
    audit, sink = _session(honey)
    audit.fetch_started(USER, BOX)
    for uid in range(1, 10):
        audit.fetch_progress(uid, 10, sends_body=False)
    audit.fetch_done()
    assert [e.uids for e in _fetched(sink)] == [()]


def test_canaries_restored_from_state_are_indexed() -> None:
    honey = HoneytokenDetector(DetectorSettings(), FakeClock())
    honey.add_canary(USER, BOX, 42)
    again = HoneytokenDetector(DetectorSettings(), FakeClock())
    again.restore(honey.snapshot())
    assert again.canary_uids(USER, BOX) == frozenset({42})
    assert again.canary_uids(USER, "Archive") == frozenset()


def test_a_long_fetch_is_reported_while_it_runs() -> None:
    audit, sink = _session(None)
    audit.fetch_started(USER, BOX)
    line = 100_000
    per_report = -(-FETCH_REPORT_BYTES // line)  # lines it takes to reach a report
    n = 3 * per_report + 1
    reported_before_end = 0
    for uid in range(1, n + 1):
        audit.fetch_progress(uid, line, sends_body=True)
        reported_before_end = len(_fetched(sink))
    assert reported_before_end == 3  # one event per ~FETCH_REPORT_BYTES, before the FETCH ends
    audit.fetch_done()
    events = _fetched(sink)
    assert [e.count for e in events] == [per_report] * 3 + [1]
    assert sum(e.count for e in events) == n and sum(e.bytes for e in events) == n * line
    assert (audit.messages_fetched, audit.bytes_fetched) == (n, n * line)
    assert all(e.bytes <= FETCH_REPORT_BYTES + line for e in events)
