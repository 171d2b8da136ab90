"""Shared fixtures for the IMAP core tests: feeding a connection whole, byte by byte, and
with trailing bytes (STYLE.md §8.4)."""

from __future__ import annotations

from collections.abc import Iterator

from mailfort.imap.connection import Event, ImapConnection
from mailfort.imap.limits import ProtocolLimits
from mailfort.imap.state import VALID_STATES, State

SPLITS = ("whole", "bytewise", "halves")


def chunks(data: bytes, split: str) -> Iterator[bytes]:
    if split == "whole":
        yield data
    elif split == "bytewise":
        for i in range(len(data)):
            yield data[i : i + 1]
    else:
        mid = len(data) // 2
        yield data[:mid]
        yield data[mid:]


def drain(conn: ImapConnection) -> list[Event]:
    events: list[Event] = []
    for _ in range(10_000):  # bounded: a core that never returns None is a bug
        ev = conn.next_event()
        if ev is None:
            return events
        events.append(ev)
    raise AssertionError("next_event never returned None")


def feed(conn: ImapConnection, data: bytes, split: str = "whole") -> list[Event]:
    events: list[Event] = []
    for part in chunks(data, split):
        conn.receive_data(part)
        events.extend(drain(conn))
    return events


def connection_in(state: State, limits: ProtocolLimits | None = None) -> ImapConnection:
    conn = ImapConnection(limits)
    if state in (State.AUTHENTICATED, State.SELECTED):
        conn.set_state(State.AUTHENTICATED)
    if state is State.SELECTED:
        conn.set_state(State.SELECTED)
    return conn


def state_for(command_type: type) -> State:
    """A state in which the command is valid (SELECTED preferred, it allows the most)."""
    valid = VALID_STATES[command_type]
    for state in (State.SELECTED, State.AUTHENTICATED, State.NOT_AUTHENTICATED):
        if state in valid:
            return state
    raise AssertionError(command_type)
