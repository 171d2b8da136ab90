"""Counting in time windows, progressive delays and connection limits. Pure: the caller passes
the time in (from a ``core.clock.Clock``), so tests need no sleeping."""

from __future__ import annotations

import itertools
from collections import Counter, deque
from dataclasses import dataclass

from mailfort.audit.events import ConnectionRefusalReason
from mailfort.guard.ippolicy import IpAddress

__all__ = ["SlidingWindow", "DelaySchedule", "ConnectionLimitSettings", "ConnectionTicket",
           "ConnectionLimiter"]


class SlidingWindow:
    """Event times within the last ``window_s`` seconds, at most ``max_events`` kept."""

    __slots__ = ("_window_s", "_times")

    def __init__(self, window_s: float, max_events: int = 1024) -> None:
        self._window_s = window_s
        self._times: deque[float] = deque(maxlen=max_events)

    def add(self, now: float) -> int:
        self._times.append(now)
        return self.count(now)

    def count(self, now: float) -> int:
        horizon = now - self._window_s
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
        return len(self._times)

    def clear(self) -> None:
        self._times.clear()


@dataclass(frozen=True, slots=True)
class DelaySchedule:
    """Seconds to wait before evaluating a login, by failures counted so far."""

    steps_s: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 15.0)

    def delay_for(self, failures: int) -> float:
        if not self.steps_s or failures <= 0:
            return 0.0
        return self.steps_s[min(failures, len(self.steps_s) - 1)]


@dataclass(frozen=True, slots=True)
class ConnectionLimitSettings:
    total_per_address: int = 1000  # a NAT with hundreds of employees
    pre_auth_per_address: int = 50
    per_user_and_address: int = 20  # mail clients open up to 5
    pre_auth_timeout_s: int = 60


@dataclass(frozen=True, slots=True)
class ConnectionTicket:
    id: int
    address: IpAddress


class ConnectionLimiter:
    """Counts open connections; ``open``/``authenticated``/``close`` bracket each one."""

    def __init__(self, settings: ConnectionLimitSettings) -> None:
        self._settings = settings
        self._ids = itertools.count(1)
        self._total: Counter[IpAddress] = Counter()
        self._pre_auth: Counter[IpAddress] = Counter()
        self._per_user: Counter[tuple[str, IpAddress]] = Counter()
        self._users: dict[int, str | None] = {}

    def open(self, address: IpAddress) -> ConnectionTicket | ConnectionRefusalReason:
        if self._total[address] >= self._settings.total_per_address:
            return ConnectionRefusalReason.LIMIT_TOTAL_PER_ADDRESS
        if self._pre_auth[address] >= self._settings.pre_auth_per_address:
            return ConnectionRefusalReason.LIMIT_PRE_AUTH_PER_ADDRESS
        ticket = ConnectionTicket(next(self._ids), address)
        self._total[address] += 1
        self._pre_auth[address] += 1
        self._users[ticket.id] = None
        return ticket

    def may_authenticate(self, ticket: ConnectionTicket, user: str) -> bool:
        key = (user.casefold(), ticket.address)
        return self._per_user[key] < self._settings.per_user_and_address

    def authenticated(self, ticket: ConnectionTicket, user: str) -> bool:
        """Move the connection from pre-auth to ``user``; False (and no change) when the
        per-user-and-address limit is reached."""
        if ticket.id not in self._users or self._users[ticket.id] is not None:
            return True
        if not self.may_authenticate(ticket, user):
            return False
        name = user.casefold()
        self._users[ticket.id] = name
        self._pre_auth[ticket.address] -= 1
        self._per_user[(name, ticket.address)] += 1
        return True

    def close(self, ticket: ConnectionTicket) -> None:
        if ticket.id not in self._users:
            return
        user = self._users.pop(ticket.id)
        addr = ticket.address
        self._total[addr] -= 1
        if self._total[addr] <= 0:
            del self._total[addr]
        if user is None:
            self._pre_auth[addr] -= 1
            if self._pre_auth[addr] <= 0:
                del self._pre_auth[addr]
        else:
            self._per_user[(user, addr)] -= 1
            if self._per_user[(user, addr)] <= 0:
                del self._per_user[(user, addr)]

    def open_count(self, address: IpAddress) -> tuple[int, int]:
        """(all connections, pre-authentication connections) from this address."""
        return self._total[address], self._pre_auth[address]
