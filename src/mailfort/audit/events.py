"""The catalogue of security events: past-tense facts, frozen and cheap to build.

Every decision of ``auth`` and ``guard`` (success, failure and its reason, delay, lockout, ban,
MFA required, address denied, expired password, limits) produces one of these and hands it to an
``EventSink``. A sink's ``emit`` must not block and must not raise: the audit bus puts events on a
bounded queue and does the slow work (hash chain, detectors, alerts) off the request path.

No event carries a credential or message content: only names, addresses, times and reasons.
``at`` is seconds since the epoch (wall clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

__all__ = [
    "SecurityEvent", "EventSink", "NullSink",
    "LoginFailureReason", "ConnectionRefusalReason",
    "LoginSucceeded", "LoginFailed", "LoginDelayed", "LoginRefused",
    "AccountLocked", "AccountUnderAttack", "CredentialStuffingDetected",
    "SourceBanned", "SourceUnbanned", "ConnectionRefused",
    "MfaRequired", "PasswordExpired", "PasswordRejected", "PasswordHashUpgraded",
    "MfaEnrolled", "MfaDisabled", "RecoveryCodeUsed",
    "AppPasswordCreated", "AppPasswordRevoked", "AppPasswordUsed",
    "TokenIssued", "TokenRevoked",
]


class LoginFailureReason(Enum):
    """The real reason a login failed; for the audit trail only, never the wire."""

    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - a reason, not a password
    DISABLED = "disabled"
    MFA_REQUIRED = "mfa_required"  # the primary password was right but MFA is on
    BAD_TOTP = "bad_totp"
    BAD_TOKEN = "bad_token"  # noqa: S105 - a reason, not a token
    REVOKED_CREDENTIAL = "revoked_credential"
    EXPIRED_CREDENTIAL = "expired_credential"
    STALE_REPEAT = "stale_repeat"  # the same wrong password again: counted once


class ConnectionRefusalReason(Enum):
    BANNED = "banned"
    DENIED_BY_POLICY = "denied_by_policy"
    NOT_IN_USER_ALLOWLIST = "not_in_user_allowlist"
    LIMIT_TOTAL_PER_ADDRESS = "limit_total_per_address"
    LIMIT_PRE_AUTH_PER_ADDRESS = "limit_pre_auth_per_address"
    LIMIT_PER_USER_AND_ADDRESS = "limit_per_user_and_address"
    LOCKED_OUT = "locked_out"


@dataclass(frozen=True, slots=True)
class LoginSucceeded:
    at: float
    user: str
    peer: str
    method: str  # "password", "app_password", "password+totp", "oauthbearer", "xoauth2"
    is_known_source: bool


@dataclass(frozen=True, slots=True)
class LoginFailed:
    at: float
    user: str
    peer: str
    reason: LoginFailureReason
    is_counted: bool  # False when the same stale password was repeated


@dataclass(frozen=True, slots=True)
class LoginDelayed:
    at: float
    user: str
    peer: str
    delay_s: float


@dataclass(frozen=True, slots=True)
class LoginRefused:
    """The guard refused to evaluate a login at all (lockout, ban, IP policy, limit)."""

    at: float
    user: str
    peer: str
    reason: ConnectionRefusalReason


@dataclass(frozen=True, slots=True)
class AccountLocked:
    """Unknown sources may not try this account until ``until``; known ones still may."""

    at: float
    user: str
    peer: str  # the source whose failure tipped it
    failures: int
    until: float


@dataclass(frozen=True, slots=True)
class AccountUnderAttack:
    at: float
    user: str
    distinct_sources: int


@dataclass(frozen=True, slots=True)
class CredentialStuffingDetected:
    at: float
    source: str  # an address or a network in CIDR form
    distinct_accounts: int


@dataclass(frozen=True, slots=True)
class SourceBanned:
    at: float
    source: str  # an address or a network in CIDR form
    reason: str  # words, e.g. "12 failed logins in 15 minutes"
    until: float | None  # None: until lifted by hand
    repeats: int


@dataclass(frozen=True, slots=True)
class SourceUnbanned:
    at: float
    source: str
    by: str  # "admin", "allowlist", "expiry"


@dataclass(frozen=True, slots=True)
class ConnectionRefused:
    at: float
    peer: str
    reason: ConnectionRefusalReason


@dataclass(frozen=True, slots=True)
class MfaRequired:
    at: float
    user: str
    peer: str


@dataclass(frozen=True, slots=True)
class PasswordExpired:
    at: float
    user: str
    peer: str
    is_forced: bool  # "must change at next login" rather than max age


@dataclass(frozen=True, slots=True)
class PasswordRejected:
    at: float
    user: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PasswordHashUpgraded:
    at: float
    user: str
    from_scheme: str


@dataclass(frozen=True, slots=True)
class MfaEnrolled:
    at: float
    user: str


@dataclass(frozen=True, slots=True)
class MfaDisabled:
    at: float
    user: str


@dataclass(frozen=True, slots=True)
class RecoveryCodeUsed:
    at: float
    user: str
    remaining: int


@dataclass(frozen=True, slots=True)
class AppPasswordCreated:
    at: float
    user: str
    name: str
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class AppPasswordRevoked:
    at: float
    user: str
    name: str


@dataclass(frozen=True, slots=True)
class AppPasswordUsed:
    at: float
    user: str
    name: str
    peer: str


@dataclass(frozen=True, slots=True)
class TokenIssued:
    at: float
    user: str
    token_id: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class TokenRevoked:
    at: float
    user: str
    token_id: str


SecurityEvent = (
    LoginSucceeded | LoginFailed | LoginDelayed | LoginRefused | AccountLocked
    | AccountUnderAttack | CredentialStuffingDetected | SourceBanned | SourceUnbanned
    | ConnectionRefused | MfaRequired | PasswordExpired | PasswordRejected
    | PasswordHashUpgraded | MfaEnrolled | MfaDisabled | RecoveryCodeUsed | AppPasswordCreated
    | AppPasswordRevoked | AppPasswordUsed | TokenIssued | TokenRevoked
)


class EventSink(Protocol):
    """Receives security events. ``emit`` is cheap, never blocks and never raises."""

    def emit(self, event: SecurityEvent) -> None: ...


class NullSink:
    """Drops every event (for tools that audit nothing)."""

    def emit(self, event: SecurityEvent) -> None:
        return None


# --- Session, mailbox, data-access, admin and alert events (the audit layer's own) -------------
# Appended by the audit engineer. ``session_id`` correlates events of one connection; it is an
# opaque id, never a credential. ``AuditEvent`` (below) is every event the audit bus accepts.


class AlertSeverity(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class SessionEnded:
    at: float
    user: str | None  # None: the session never logged in
    peer: str
    session_id: str
    duration_s: float
    bytes_in: int
    bytes_out: int
    messages_fetched: int


@dataclass(frozen=True, slots=True)
class MailboxCreated:
    at: float
    user: str
    peer: str
    session_id: str
    mailbox: str


@dataclass(frozen=True, slots=True)
class MailboxDeleted:
    at: float
    user: str
    peer: str
    session_id: str
    mailbox: str
    messages: int  # how many messages went with it


@dataclass(frozen=True, slots=True)
class MailboxRenamed:
    at: float
    user: str
    peer: str
    session_id: str
    old_name: str
    new_name: str


@dataclass(frozen=True, slots=True)
class MessagesExpunged:
    at: float
    user: str
    peer: str
    session_id: str
    mailbox: str
    count: int


@dataclass(frozen=True, slots=True)
class MessagesFlaggedDeleted:
    """STORE +FLAGS (\\Deleted) set the flag on ``count`` messages that did not have it."""

    at: float
    user: str
    peer: str
    session_id: str
    mailbox: str
    count: int


@dataclass(frozen=True, slots=True)
class MessagesFetched:
    """One FETCH command's totals. ``uids`` lists the canary messages (honeytokens) whose body
    (not only headers or flags) was sent; the session checks each body sent against the
    mailbox's few canary UIDs, so the event stays small however many messages were fetched."""

    at: float
    user: str
    peer: str
    session_id: str
    mailbox: str
    count: int
    bytes: int
    uids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PermissionChanged:
    at: float
    user: str  # who changed it
    peer: str
    session_id: str
    owner: str  # the mailbox's owner
    mailbox: str
    grantee: str
    rights: str  # the new rights ("" when removed)


@dataclass(frozen=True, slots=True)
class SensitiveFolderAccessed:
    at: float
    user: str
    peer: str
    session_id: str
    owner: str
    mailbox: str
    action: str  # "select", "examine", "fetch", "copy"


@dataclass(frozen=True, slots=True)
class AdminAction:
    at: float
    user: str  # the admin ("cli" for the local command line)
    peer: str  # "local" for the command line
    action: str  # e.g. "user.add", "label.set", "honeytoken.add"
    target: str


@dataclass(frozen=True, slots=True)
class ConfigReloaded:
    at: float
    user: str
    changed_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LogPruned:
    """Retention removed audit records up to and including ``through_seq`` (a signed checkpoint)."""

    at: float
    through_seq: int
    older_than: float


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """A detector's finding. ``sources`` names the addresses involved; ``actions`` names what the
    server may do about it ("force_password_change", "throttle_session", "end_session")."""

    at: float
    kind: str  # the detector: "brute_force", "exfiltration", "honeytoken", ...
    severity: AlertSeverity
    summary: str  # words, no secrets
    user: str | None = None
    sources: tuple[str, ...] = ()
    session_id: str | None = None
    details: tuple[tuple[str, str], ...] = ()
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccessDenied:
    """An IMAP command was refused with ``NO [NOPERM]`` by ``acl.policy`` (the user could see
    the mailbox but lacked a right). A refusal answered as "no such mailbox" (the user may not
    even learn it exists) is not recorded: it looks the same as a typo."""

    at: float
    user: str
    peer: str
    session_id: str
    operation: str  # acl.policy.Operation value, e.g. "EXPUNGE"
    owner: str  # the mailbox's owner: a login name or "$group"
    mailbox: str  # the name as the user sees it
    missing: str  # the rights lacking, RFC 4314 letters


AuditEvent = (
    SecurityEvent | SessionEnded | MailboxCreated | MailboxDeleted | MailboxRenamed
    | MessagesExpunged | MessagesFlaggedDeleted | MessagesFetched | PermissionChanged
    | SensitiveFolderAccessed | AdminAction | ConfigReloaded | LogPruned | AlertRaised
    | AccessDenied
)

__all__ += [
    "AlertSeverity", "AuditEvent", "SessionEnded", "MailboxCreated", "MailboxDeleted",
    "MailboxRenamed", "MessagesExpunged", "MessagesFlaggedDeleted", "MessagesFetched",
    "PermissionChanged", "SensitiveFolderAccessed", "AdminAction", "ConfigReloaded", "LogPruned",
    "AlertRaised",
]

__all__ += ["AccessDenied"]
