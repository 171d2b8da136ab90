"""Connection states (RFC 9051 §3) and, as data, which command is valid in which state."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final

from mailfort.imap import commands as c

__all__ = ["State", "VALID_STATES", "TRANSITIONS", "is_valid_in", "StateError"]


class State(Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


class StateError(RuntimeError):
    """A driver or service asked for a transition the table does not allow (a bug)."""


_ANY: Final = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
_PRE: Final = frozenset({State.NOT_AUTHENTICATED})
_AUTH: Final = frozenset({State.AUTHENTICATED, State.SELECTED})
_AUTH_ONLY: Final = frozenset({State.AUTHENTICATED})
_SEL: Final = frozenset({State.SELECTED})

VALID_STATES: Final[Mapping[type, frozenset[State]]] = MappingProxyType({
    c.Capability: _ANY, c.Noop: _ANY, c.Logout: _ANY, c.Id: _ANY,
    c.StartTLS: _PRE, c.Login: _PRE, c.Authenticate: _PRE,
    c.Enable: _AUTH_ONLY,  # RFC 5161 §3.1: before any mailbox is selected
    c.Select: _AUTH, c.Create: _AUTH, c.Delete: _AUTH, c.Rename: _AUTH, c.Subscribe: _AUTH,
    c.Unsubscribe: _AUTH, c.List: _AUTH, c.Lsub: _AUTH, c.Namespace: _AUTH, c.Status: _AUTH,
    c.Append: _AUTH, c.Idle: _AUTH,
    c.Check: _SEL, c.Close: _SEL, c.Unselect: _SEL, c.Expunge: _SEL, c.Search: _SEL,
    c.Fetch: _SEL, c.Store: _SEL, c.Copy: _SEL, c.Move: _SEL,
    # RFC 4314 ACL and RFC 9208 QUOTA
    c.GetAcl: _AUTH, c.SetAcl: _AUTH, c.DeleteAcl: _AUTH, c.ListRights: _AUTH,
    c.MyRights: _AUTH, c.GetQuota: _AUTH, c.GetQuotaRoot: _AUTH, c.SetQuota: _AUTH,
})
"""Command type -> the states in which it may be sent. Nothing is valid in LOGOUT."""

TRANSITIONS: Final[Mapping[State, frozenset[State]]] = MappingProxyType({
    State.NOT_AUTHENTICATED: frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED,
                                        State.LOGOUT}),
    State.AUTHENTICATED: frozenset({State.AUTHENTICATED, State.SELECTED, State.LOGOUT}),
    State.SELECTED: frozenset({State.AUTHENTICATED, State.SELECTED, State.LOGOUT}),
    State.LOGOUT: frozenset({State.LOGOUT}),
})
"""Current state -> the states ``set_state`` may move to."""


def is_valid_in(command: c.Command, state: State) -> bool:
    return state in VALID_STATES.get(type(command), frozenset())
