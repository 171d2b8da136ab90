from __future__ import annotations

from ipaddress import ip_address

from mailfort.audit.events import ConnectionRefusalReason
from mailfort.guard.ratelimit import (
    ConnectionLimiter,
    ConnectionLimitSettings,
    ConnectionTicket,
    DelaySchedule,
    SlidingWindow,
)


def test_sliding_window_forgets_old_events() -> None:
    w = SlidingWindow(60)
    assert w.add(0) == 1
    assert w.add(30) == 2
    assert w.count(60) == 1  # the event at 0 is exactly one window old
    assert w.count(91) == 0


def test_delay_schedule_grows_and_caps() -> None:
    s = DelaySchedule()
    assert [s.delay_for(n) for n in range(8)] == [0, 1, 2, 4, 8, 15, 15, 15]
    assert DelaySchedule(()).delay_for(5) == 0


def test_connection_limits_per_address_pre_auth_and_user() -> None:
    lim = ConnectionLimiter(ConnectionLimitSettings(total_per_address=4, pre_auth_per_address=2,
                                                    per_user_and_address=1))
    a = ip_address("192.0.2.1")
    t1 = lim.open(a)
    t2 = lim.open(a)
    assert isinstance(t1, ConnectionTicket) and isinstance(t2, ConnectionTicket)
    assert lim.open(a) is ConnectionRefusalReason.LIMIT_PRE_AUTH_PER_ADDRESS
    assert lim.authenticated(t1, "Alice")
    assert not lim.authenticated(t2, "alice")  # one per user and address
    assert lim.authenticated(t2, "bob")
    t3, t4 = lim.open(a), lim.open(a)
    assert isinstance(t3, ConnectionTicket) and isinstance(t4, ConnectionTicket)
    assert lim.open(a) is ConnectionRefusalReason.LIMIT_TOTAL_PER_ADDRESS
    assert isinstance(lim.open(ip_address("192.0.2.2")), ConnectionTicket)
    lim.close(t1)
    lim.close(t1)  # closing twice is harmless
    assert lim.open_count(a) == (3, 2)
    assert lim.authenticated(t3, "alice")  # alice's slot was freed
