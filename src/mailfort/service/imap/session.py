"""The per-connection IMAP session: state, the selected-mailbox view, and the dispatch table
from command type to handler.

The session never touches a socket. The driver (``server/imap.py``) feeds it parsed commands
and gets responses through a ``ResponseSink``; what the driver must do next (start TLS, enter
IDLE, ask for a SASL response, close) comes back as ``Next``.

Order of a command's output: the handler's untagged data, then pending mailbox updates (only
those RFC 9051 §7.5.1 allows at that point), then the tagged completion.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol, TypeVar

from mailfort.auth import sasl
from mailfort.auth.errors import AuthenticationFailed
from mailfort.auth.sasl.mechanism import (
    BearerCredentials,
    Challenge,
    Mechanism,
    SaslAuthorizationRefused,
    SaslFailed,
)
from mailfort.auth.sasl.oauthbearer import BearerExchange
from mailfort.config.model import Settings
from mailfort.core.secret import Secret
from mailfort.imap import commands as c
from mailfort.imap import encoder
from mailfort.imap.codes import ResponseCode
from mailfort.imap.state import State
from mailfort.mail.uidset import SequenceSet
from mailfort.service.imap import (
    acl as acl_handlers,
)
from mailfort.service.imap import (
    append,
    copy,
    expunge,
    fetch,
    flags,
    mailbox,
    search,
    select,
)
from mailfort.service.imap.access import Access
from mailfort.service.imap.audit import AuditHooks, SessionAudit
from mailfort.service.imap.capability import capabilities, capability_line
from mailfort.service.imap.errors import (
    AUTHZ_REFUSED,
    LOGIN_LIMIT,
    SASL_FAILED,
    Completion,
    bad,
    login_failure,
    no,
    ok,
    reply_for,
)
from mailfort.service.imap.select import SelectedMailbox
from mailfort.store.acl import AclStore
from mailfort.store.api import MailStore
from mailfort.store.types import User

__all__ = ["Session", "ResponseSink", "PasswordAuthenticator", "BearerAuthenticator",
           "LoginGate", "Next", "Outcome", "NotInState", "BEARER_MECHANISMS"]


class ResponseSink(Protocol):
    """Where a session's responses go. ``write`` buffers; ``drain`` waits for room."""

    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...


class PasswordAuthenticator(Protocol):
    """``auth.authenticator.Authenticator`` as the session sees it."""

    async def authenticate(self, username: str, password: Secret[str], *, peer: str) -> User:
        ...


class BearerAuthenticator(Protocol):
    """OAUTHBEARER / XOAUTH2 with a token (``auth.login.LoginService`` implements it).
    Raises ``AuthenticationFailed`` (``auth.login.LoginRefused``) when refused."""

    async def authenticate_bearer(self, credentials: BearerCredentials, *, peer: str,
                                  mechanism: str) -> User: ...


class LoginGate(Protocol):
    """After a successful login, may this connection count against the user? False: the
    guard's per-user-and-address connection limit is reached (answered NO [LIMIT])."""

    def admit(self, user: User) -> bool: ...


BEARER_MECHANISMS: Final = frozenset({"OAUTHBEARER", "XOAUTH2"})


class Next(Enum):
    """What the driver does after a command."""

    CONTINUE = "continue"
    START_TLS = "start_tls"  # the OK is written: discard pipelined input, then handshake
    IDLE = "idle"  # "+ idling" is written: wait for DONE, pushing updates
    SASL = "sasl"  # "+ " is written: the next line is a SASL response
    CLOSE = "close"  # BYE (and maybe a tagged reply) written: close after flushing


@dataclass(frozen=True, slots=True)
class Outcome:
    completion: Completion | None
    next: Next = Next.CONTINUE


class NotInState(Exception):
    """A handler needs a selection or a login that the session lacks. The core normally
    refuses such commands first; this is the service's own guard."""


Result = Completion | Outcome
CommandT = TypeVar("CommandT")
Handler = Callable[["Session", c.Command], Awaitable[Result]]


def _entry(kind: type[CommandT], fn: Callable[[Session, CommandT], Awaitable[Result]]
           ) -> tuple[type[object], Handler]:
    async def call(session: Session, command: c.Command) -> Result:
        assert isinstance(command, kind)
        return await fn(session, command)
    return kind, call


_NO_EXPUNGE: Final = (c.Fetch, c.Store, c.Search)  # RFC 9051 §7.5.1, non-UID forms only
_MAY_ADD: Final = (c.Append, c.Copy)
_NO_UPDATES: Final = (c.Select, c.Close, c.Unselect, c.Logout, c.Idle)


class Session:
    def __init__(self, *, store: MailStore, authenticator: PasswordAuthenticator,
                 settings: Settings, sink: ResponseSink, peer: str, is_tls: bool,
                 is_loopback: bool = False, bearer: BearerAuthenticator | None = None,
                 login_gate: LoginGate | None = None, audit: AuditHooks | None = None,
                 acl: AclStore | None = None) -> None:
        self.store = store
        self.acl = acl  # issue #6: groups, roles, ACLs, shared mailboxes, quotas
        self.access: Access | None = None  # built at login (service/imap/access.py)
        self.audit = SessionAudit(audit, peer)  # emit points; a no-op when audit is None
        self.settings = settings
        self.peer = peer
        self.is_tls = is_tls
        self.is_loopback = is_loopback
        self._authenticator = authenticator
        self._bearer = bearer
        self._login_gate = login_gate
        self._sasl: Mechanism | None = None
        self._sasl_refusal: Completion | None = None  # said after the client's error ack
        self._sink = sink
        self.state = State.NOT_AUTHENTICATED
        self.user: User | None = None
        self.selected: SelectedMailbox | None = None
        self.is_rev2 = False
        self.saved_uids: list[int] | None = None  # SEARCHRES "$"
        self.auth_failures = 0
        self.commands = 0
        self._sasl_tag: str | None = None
        self._idle_tag: str | None = None

    # ---- helpers for handlers ------------------------------------------------------------
    @property
    def is_rev1(self) -> bool:
        return not self.is_rev2

    def write(self, data: bytes) -> None:
        self._sink.write(data)

    async def drain(self) -> None:
        await self._sink.drain()

    def require_user(self) -> User:
        if self.user is None:
            raise NotInState
        return self.user

    def require_access(self) -> Access:
        if self.access is None:
            raise NotInState
        return self.access

    def require_selected(self) -> SelectedMailbox:
        if self.selected is None:
            raise NotInState
        return self.selected

    def set_selected(self, view: SelectedMailbox) -> None:
        self.selected = view
        self.saved_uids = None
        self.state = State.SELECTED

    def deselect(self) -> None:
        if self.selected is not None:
            self.selected.close()
            self.selected = None
            self.audit.deselected()
        self.saved_uids = None
        if self.user is not None:
            self.state = State.AUTHENTICATED

    def resolve(self, seqs: SequenceSet, *, is_uid: bool) -> list[int] | None:
        """The UIDs a command's set names, ascending. None: a sequence number beyond the
        mailbox (answered with BAD). ``$`` is the last SEARCH ... SAVE result."""
        view = self.require_selected()
        if seqs.is_saved:
            return [u for u in (self.saved_uids or []) if view.seq_of(u) is not None]
        if is_uid:
            return view.uids_for_uidset(seqs)
        if view.max_seq_named(seqs) > view.exists:
            return None
        return view.uids_for_seqs(seqs)

    def bad_sequence(self) -> Completion:
        return bad("Invalid message sequence number")

    @property
    def is_login_allowed(self) -> bool:
        return self.is_tls or (self.is_loopback
                               and self.settings.server.allow_plaintext_auth_on_loopback)

    def mechanisms(self) -> tuple[str, ...]:
        """The SASL mechanisms this session can carry out now (the registry offers none
        without TLS; the bearer ones need a token verifier)."""
        offered = sasl.advertised(is_tls=self.is_login_allowed)
        return tuple(m for m in offered if self._bearer is not None
                     or m not in BEARER_MECHANISMS)

    def capabilities(self) -> tuple[str, ...]:
        return capabilities(is_tls=self.is_tls, is_authenticated=self.user is not None,
                            is_login_allowed=self.is_login_allowed,
                            mechanisms=self.mechanisms())

    def greeting(self) -> bytes:
        return (b"* OK [CAPABILITY " + capability_line(self.capabilities())
                + b"] Mailfort ready\r\n")

    def tls_started(self) -> None:
        self.is_tls = True

    def close(self) -> None:
        """Release the notifier subscription (the connection is gone)."""
        if self.selected is not None:
            self.selected.close()
            self.selected = None

    @property
    def idle_tag(self) -> str | None:
        return self._idle_tag

    # ---- the command loop ---------------------------------------------------------------
    async def handle(self, command: c.Command) -> Next:
        self.commands += 1
        handler = _HANDLERS.get(type(command))
        if handler is None:
            self._complete(command.tag, bad("Command not supported"))
            return Next.CONTINUE
        is_target = isinstance(command, (c.Append, c.Copy, c.Move))
        started = time.monotonic()
        try:
            result = await handler(self, command)
        except NotInState:
            result = bad("Command not valid in this state")
        except Exception as exc:  # domain errors only; the rest propagates
            completion = reply_for(exc, is_target=is_target)
            if completion is None:
                raise
            result = completion
        self.audit.observe_command(type(command).__name__, time.monotonic() - started)
        outcome = result if isinstance(result, Outcome) else Outcome(result)
        if self.selected is not None and not isinstance(command, _NO_UPDATES) and (
                self.access is None or await self.access.may_read_selected()):  # issue #6
            allow = not (isinstance(command, _NO_EXPUNGE) and not command.is_uid)
            # APPEND/COPY may have targeted the selected mailbox: the notifier's call is still
            # queued on the loop, so look at the change log now rather than next time.
            await self.selected.refresh(force=isinstance(command, _MAY_ADD))
            self.write(self.selected.updates(allow_expunge=allow, is_rev1=self.is_rev1))
        if outcome.completion is not None:
            self._complete(command.tag, outcome.completion)
        return outcome.next

    def _complete(self, tag: str, completion: Completion) -> None:
        self.write(encoder.tagged(tag, completion.status.value, completion.text,
                                  completion.code, completion.code_data))

    # ---- SASL continuation ---------------------------------------------------------------
    async def sasl_response(self, data: Secret[bytes] | None) -> Next:
        """The client's answer to ``+ ``; None when it was not valid base64."""
        tag, mech = self._sasl_tag, self._sasl
        if tag is None or mech is None:
            return Next.CONTINUE
        self._sasl_tag = None
        if data is None:
            self._sasl_reset()
            outcome = self._sasl_failed(tag, bad("Invalid base64 in SASL response"))
        else:
            raw = data.reveal()
            outcome = await self.sasl_step(tag, mech, lambda: mech.step(raw))
        if outcome.completion is not None:
            self._complete(tag, outcome.completion)
        return outcome.next

    def sasl_cancelled(self) -> Next:
        """``*`` instead of a response: counts toward the failure budget (SECURITY.md #20)."""
        tag = self._sasl_tag
        self._sasl_tag = None
        refusal = self._sasl_refusal
        self._sasl_reset()
        if tag is None:
            return Next.CONTINUE
        if refusal is not None:  # a refused token, acknowledged with "*": the refusal stands
            outcome = self._refused(tag, refusal)
            if outcome.completion is not None:
                self._complete(tag, outcome.completion)
            return outcome.next
        self._complete(tag, bad("Authentication cancelled"))
        self.auth_failures += 1
        if self.auth_failures >= self.settings.limits.max_auth_failures_per_connection:
            self.write(encoder.bye("Too many failed logins"))
            return Next.CLOSE
        return Next.CONTINUE

    # ---- IDLE ----------------------------------------------------------------------------
    async def idle_poll(self) -> None:
        """Push every pending update (called when the notifier rings during IDLE)."""
        if self.selected is not None:
            if self.access is not None and not await self.access.may_read_selected():
                self.selected.is_dirty = False  # heard, and not to be told (no busy wake)
                return  # "r" revoked: tell nothing more of this mailbox (issue #6)
            await self.selected.refresh()
            self.write(self.selected.updates(allow_expunge=True, is_rev1=self.is_rev1))

    def idle_done(self, *, is_valid: bool = True) -> None:
        """DONE arrived (``is_valid``), or something else that the core already answered."""
        tag = self._idle_tag
        self._idle_tag = None
        if tag is not None and is_valid:
            self._complete(tag, ok("IDLE terminated"))

    # ---- authentication ------------------------------------------------------------------
    async def _login(self, tag: str, username: str, password: Secret[str]) -> Outcome:
        try:
            user = await self._authenticator.authenticate(username, password, peer=self.peer)
        except AuthenticationFailed as exc:
            return self._refused(tag, login_failure(exc))
        return await self._logged_in(user)

    def _refused(self, tag: str, reply: Completion) -> Outcome:
        """A failed login: counts toward the per-connection budget (BYE when spent)."""
        self.auth_failures += 1
        limit = self.settings.limits.max_auth_failures_per_connection
        if self.auth_failures >= limit:
            self._complete(tag, reply)
            self.write(encoder.bye("Too many failed logins"))
            return Outcome(None, Next.CLOSE)
        return Outcome(reply)

    async def _logged_in(self, user: User) -> Outcome:
        if self._login_gate is not None and not self._login_gate.admit(user):
            return Outcome(LOGIN_LIMIT)
        self.access = await Access.at_login(self.store, self.acl, user, self.audit)
        self.user = user
        self.state = State.AUTHENTICATED
        return Outcome(ok("Logged in", ResponseCode.CAPABILITY,
                          capability_line(self.capabilities())))

    # ---- SASL (auth.sasl mechanisms) ------------------------------------------------------
    def _sasl_reset(self) -> None:
        self._sasl = None
        self._sasl_refusal = None

    def _sasl_failed(self, tag: str, reply: Completion) -> Outcome:
        """A malformed exchange counts toward the failure budget, as a cancel does."""
        return self._refused(tag, reply)

    async def sasl_step(self, tag: str, mech: Mechanism,
                        step: Callable[[], Challenge | sasl.Credentials]) -> Outcome:
        """Run one step of ``mech``: send a challenge (and wait for the next response), or
        log in with the credentials it produced."""
        try:
            result = step()
        except SaslAuthorizationRefused:
            self._sasl_reset()
            return Outcome(AUTHZ_REFUSED)
        except SaslFailed:
            refusal = self._sasl_refusal
            self._sasl_reset()
            if refusal is not None:  # the client acknowledged the error challenge
                return self._refused(tag, refusal)
            return self._sasl_failed(tag, SASL_FAILED)
        if isinstance(result, Challenge):
            self._sasl_tag = tag
            self.write(encoder.continuation(base64.b64encode(result.data)))
            return Outcome(None, Next.SASL)
        self._sasl = None
        if isinstance(result, BearerCredentials):
            return await self._bearer_login(tag, mech, result)
        return await self._login(tag, result.authcid, result.password)

    async def _bearer_login(self, tag: str, mech: Mechanism,
                            credentials: BearerCredentials) -> Outcome:
        if self._bearer is None:  # not offered; create() gave one anyway
            return Outcome(no("Unsupported authentication mechanism", ResponseCode.CANNOT))
        try:
            user = await self._bearer.authenticate_bearer(credentials, peer=self.peer,
                                                          mechanism=mech.name)
        except AuthenticationFailed as exc:
            if isinstance(mech, BearerExchange):
                # RFC 7628 §3.2.3: an error challenge; the client answers ^A (or an empty
                # response for XOAUTH2), and only then the tagged NO.
                self._sasl, self._sasl_refusal, self._sasl_tag = mech, login_failure(exc), tag
                self.write(encoder.continuation(base64.b64encode(
                    mech.failure_challenge().data)))
                return Outcome(None, Next.SASL)
            return self._refused(tag, login_failure(exc))
        return await self._logged_in(user)

    def _privacy_required(self) -> Completion | None:
        if self.is_login_allowed:
            return None
        return no("Use STARTTLS or the TLS port first", ResponseCode.PRIVACYREQUIRED)


# ---- commands valid in any state -----------------------------------------------------------
async def _capability(session: Session, cmd: c.Capability) -> Result:
    session.write(b"* CAPABILITY " + capability_line(session.capabilities()) + b"\r\n")
    return ok("CAPABILITY completed")


async def _noop(session: Session, cmd: c.Noop) -> Result:
    if session.selected is not None:
        await session.selected.refresh(force=True)
    return ok("NOOP completed")


async def _logout(session: Session, cmd: c.Logout) -> Result:
    session.write(encoder.bye("Logging out"))
    session.deselect()
    session.state = State.LOGOUT
    return Outcome(ok("LOGOUT completed"), Next.CLOSE)


async def _id(session: Session, cmd: c.Id) -> Result:
    session.write(b'* ID ("name" "Mailfort")\r\n')
    return ok("ID completed")


# ---- not authenticated ---------------------------------------------------------------------
async def _starttls(session: Session, cmd: c.StartTLS) -> Result:
    if session.is_tls:
        return bad("TLS is already active")
    return Outcome(ok("Begin TLS negotiation now"), Next.START_TLS)


async def _login_cmd(session: Session, cmd: c.Login) -> Result:
    refused = session._privacy_required()
    if refused is not None:
        return refused
    return await session._login(cmd.tag, cmd.username, cmd.password)


async def _authenticate(session: Session, cmd: c.Authenticate) -> Result:
    if cmd.mechanism not in sasl.MECHANISMS or (cmd.mechanism in BEARER_MECHANISMS
                                                 and session._bearer is None):
        return no("Unsupported authentication mechanism", ResponseCode.CANNOT)
    refused = session._privacy_required()
    if refused is not None:
        return refused
    mech = sasl.create(cmd.mechanism, is_tls=True)  # privacy checked just above
    session._sasl, session._sasl_refusal = mech, None
    initial = cmd.initial_response.reveal() if cmd.initial_response is not None else None
    return await session.sasl_step(cmd.tag, mech, lambda: mech.start(initial))


# ---- authenticated -------------------------------------------------------------------------
async def _enable(session: Session, cmd: c.Enable) -> Result:
    session.require_user()
    enabled: list[str] = []
    for cap in cmd.capabilities:
        if cap == "IMAP4REV2" and not session.is_rev2:
            session.is_rev2 = True
            enabled.append("IMAP4rev2")
    session.write(b"* ENABLED" + b"".join(b" " + e.encode("ascii") for e in enabled) + b"\r\n")
    return ok("ENABLE completed")


async def _idle(session: Session, cmd: c.Idle) -> Result:
    session.require_user()
    session._idle_tag = cmd.tag
    session.write(encoder.continuation(b"idling"))
    if session.selected is not None:
        await session.selected.refresh(force=True)
        session.write(session.selected.updates(allow_expunge=True, is_rev1=session.is_rev1))
    return Outcome(None, Next.IDLE)


_HANDLERS: Final[dict[type[object], Handler]] = dict((
    _entry(c.Capability, _capability),
    _entry(c.Noop, _noop),
    _entry(c.Logout, _logout),
    _entry(c.Id, _id),
    _entry(c.StartTLS, _starttls),
    _entry(c.Login, _login_cmd),
    _entry(c.Authenticate, _authenticate),
    _entry(c.Enable, _enable),
    _entry(c.Idle, _idle),
    _entry(c.Select, select.handle_select),
    _entry(c.Close, select.handle_close),
    _entry(c.Unselect, select.handle_unselect),
    _entry(c.Check, select.handle_check),
    _entry(c.Create, mailbox.handle_create),
    _entry(c.Delete, mailbox.handle_delete),
    _entry(c.Rename, mailbox.handle_rename),
    _entry(c.Subscribe, mailbox.handle_subscribe),
    _entry(c.Unsubscribe, mailbox.handle_unsubscribe),
    _entry(c.List, mailbox.handle_list),
    _entry(c.Lsub, mailbox.handle_lsub),
    _entry(c.Namespace, mailbox.handle_namespace),
    _entry(c.Status, mailbox.handle_status),
    _entry(c.Append, append.handle_append),
    _entry(c.Expunge, expunge.handle_expunge),
    _entry(c.Search, search.handle_search),
    _entry(c.Fetch, fetch.handle_fetch),
    _entry(c.Store, flags.handle_store),
    _entry(c.Copy, copy.handle_copy),
    _entry(c.Move, copy.handle_move),
    _entry(c.GetAcl, acl_handlers.handle_getacl),
    _entry(c.SetAcl, acl_handlers.handle_setacl),
    _entry(c.DeleteAcl, acl_handlers.handle_deleteacl),
    _entry(c.ListRights, acl_handlers.handle_listrights),
    _entry(c.MyRights, acl_handlers.handle_myrights),
    _entry(c.GetQuota, acl_handlers.handle_getquota),
    _entry(c.GetQuotaRoot, acl_handlers.handle_getquotaroot),
    _entry(c.SetQuota, acl_handlers.handle_setquota),
))
