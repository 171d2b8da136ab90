"""One framed command → one ``commands.Command`` (RFC 9051 §6, §9, plus the RFC 3501 forms,
IDLE, ID, ENABLE, MOVE, UIDPLUS, LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CONDSTORE, ESEARCH,
SEARCHRES, MULTIAPPEND, BINARY, SASL-IR).

Verbs are dispatched through an explicit table (never by building names from wire input).
Failures raise :class:`BadSyntax` (tag when parsed) or :class:`Refused` (BADCHARSET).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from mailfort.core.secret import Secret
from mailfort.imap import commands as c
from mailfort.imap.codes import ResponseCode
from mailfort.imap.errors import BadReason, BadSyntax, Refused
from mailfort.imap.grammar.acl import ACL_VERBS
from mailfort.imap.grammar.atoms import ParseContext, Reader, tag_of
from mailfort.imap.grammar.fetch import parse_fetch_atts
from mailfort.imap.grammar.search import SEARCH_CHARSETS, parse_search_keys
from mailfort.imap.limits import MAX_ID_FIELD_BYTES, MAX_ID_PARAMS, MAX_ID_VALUE_BYTES
from mailfort.mail.uidset import SequenceSet

if TYPE_CHECKING:
    from mailfort.imap.framing import RawCommand

__all__ = ["parse_command", "VERBS"]

_Parser = Callable[[Reader, str], c.Command]


def parse_command(raw: RawCommand, ctx: ParseContext | None = None) -> c.Command:
    """Parse one complete command. Raises BadSyntax or Refused, nothing else."""
    r = Reader(raw, ctx if ctx is not None else ParseContext())
    if r.at_end():
        raise BadSyntax(None, BadReason.EMPTY_LINE, "empty line")
    tag = tag_of(r.chunk)
    if tag is None:
        raise BadSyntax(None, BadReason.INVALID_TAG, "bad tag")
    r.tag = tag
    r.pos = len(tag)
    r.sp()
    verb = r.peek_keyword()
    parser = _VERBS.get(verb or "")
    if parser is None:
        r.fail(BadReason.UNKNOWN_COMMAND, "unknown verb")
    r.atom()
    command = parser(r, tag)
    r.end()
    return command


# ---- no arguments ----------------------------------------------------------------------
def _bare(cls: Callable[[str], c.Command]) -> _Parser:
    def parse(r: Reader, tag: str) -> c.Command:
        return cls(tag)
    return parse


# ---- not authenticated -----------------------------------------------------------------
def _login(r: Reader, tag: str) -> c.Command:
    r.sp()
    user = r.text(r.astring())
    r.sp()
    password = r.text(r.astring())
    return c.Login(tag, user, Secret(password))


def _authenticate(r: Reader, tag: str) -> c.Command:
    r.sp()
    mechanism = r.keyword()
    initial: Secret[bytes] | None = None
    if not r.at_end():
        r.sp()
        if r.maybe(b"="):
            initial = Secret(b"")
        else:
            data = r.atom()
            try:
                initial = Secret(base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError):
                r.fail(BadReason.INVALID_BASE64, "bad SASL-IR")
    return c.Authenticate(tag, mechanism, initial)


# ---- any state -------------------------------------------------------------------------
def _id(r: Reader, tag: str) -> c.Command:
    r.sp()
    if r.peek_keyword() == "NIL":
        r.atom()
        return c.Id(tag, None)
    r.expect(b"(")
    params: list[tuple[str, str | None]] = []
    if not r.maybe(b")"):
        while True:
            name = r.string()
            r.sp()
            value = r.nstring()
            if len(name) > MAX_ID_FIELD_BYTES or (value is not None
                                                  and len(value) > MAX_ID_VALUE_BYTES):
                r.fail(BadReason.TOO_COMPLEX, "ID field too long")
            params.append((name.decode("utf-8", "replace"),
                           None if value is None else value.decode("utf-8", "replace")))
            if len(params) > MAX_ID_PARAMS:
                r.fail(BadReason.TOO_COMPLEX, "too many ID fields")
            if r.maybe(b")"):
                break
            r.sp()
    return c.Id(tag, tuple(params))


def _enable(r: Reader, tag: str) -> c.Command:
    caps: list[str] = []
    while not r.at_end():
        r.sp()
        caps.append(r.keyword())
    if not caps:
        r.fail(BadReason.SYNTAX, "ENABLE needs a capability")
    return c.Enable(tag, tuple(caps))


# ---- mailboxes -------------------------------------------------------------------------
def _select(readonly: bool) -> _Parser:
    def parse(r: Reader, tag: str) -> c.Command:
        r.sp()
        mailbox = r.mailbox()
        condstore = False
        if not r.at_end():
            r.sp()
            r.expect(b"(")
            while True:
                if r.keyword() != "CONDSTORE":
                    r.fail(BadReason.UNSUPPORTED, "select parameter")
                condstore = True
                if r.maybe(b")"):
                    break
                r.sp()
        return c.Select(tag, mailbox, is_readonly=readonly, condstore=condstore)
    return parse


def _mailbox_only(cls: Callable[[str, str], c.Command]) -> _Parser:
    def parse(r: Reader, tag: str) -> c.Command:
        r.sp()
        return cls(tag, r.mailbox())
    return parse


_SPECIAL_USE: Final = MappingProxyType({
    f.upper(): f for f in ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent",
                           "\\Trash")
})


def _create(r: Reader, tag: str) -> c.Command:
    r.sp()
    mailbox = r.mailbox()
    uses: list[str] = []
    if not r.at_end():
        r.sp()
        r.expect(b"(")
        while True:
            if r.keyword() != "USE":
                r.fail(BadReason.UNSUPPORTED, "create parameter")
            r.sp()
            r.expect(b"(")
            while True:
                r.expect(b"\\")
                attr = "\\" + r.atom().decode("ascii")
                uses.append(_SPECIAL_USE.get(attr.upper(), attr))
                if r.maybe(b")"):
                    break
                r.sp()
            if r.maybe(b")"):
                break
            r.sp()
    return c.Create(tag, mailbox, tuple(uses))


def _rename(r: Reader, tag: str) -> c.Command:
    r.sp()
    old = r.mailbox()
    r.sp()
    return c.Rename(tag, old, r.mailbox())


_STATUS_ITEMS: Final = MappingProxyType({i.value: i for i in c.StatusItem})


def _status_atts(r: Reader) -> tuple[c.StatusItem, ...]:
    """``"(" status-att *(SP status-att) ")"``"""
    r.expect(b"(")
    items: list[c.StatusItem] = []
    while True:
        item = _STATUS_ITEMS.get(r.keyword())
        if item is None:
            r.fail(BadReason.SYNTAX, "unknown status item")
        items.append(item)
        if r.maybe(b")"):
            return tuple(items)
        r.sp()


def _status(r: Reader, tag: str) -> c.Command:
    r.sp()
    mailbox = r.mailbox()
    r.sp()
    return c.Status(tag, mailbox, _status_atts(r))


_LIST_SELECT: Final = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})


def _list(r: Reader, tag: str) -> c.Command:
    r.sp()
    extended = False
    selection: set[str] = set()
    if r.maybe(b"("):  # list-select-opts (RFC 5258)
        extended = True
        if not r.maybe(b")"):
            while True:
                option = r.keyword()
                if option not in _LIST_SELECT:
                    r.fail(BadReason.UNSUPPORTED, "list selection option")
                selection.add(option)
                if r.maybe(b")"):
                    break
                r.sp()
        if selection == {"RECURSIVEMATCH"}:
            r.fail(BadReason.SYNTAX, "RECURSIVEMATCH alone")
        r.sp()
    reference = r.mailbox_from(r.astring())
    r.sp()
    patterns: list[str] = []
    if r.maybe(b"("):
        extended = True
        while True:
            patterns.append(r.mailbox_from(r.list_mailbox()))
            if r.maybe(b")"):
                break
            r.sp()
    else:
        patterns.append(r.mailbox_from(r.list_mailbox()))
    returns = c.ListReturn()
    if not r.at_end():
        r.sp()
        if r.keyword() != "RETURN":
            r.fail(BadReason.SYNTAX, "expected RETURN")
        r.sp()
        returns = _list_returns(r)
        extended = True
    return c.List(tag, reference, tuple(patterns), frozenset(selection), returns, extended)


def _list_returns(r: Reader) -> c.ListReturn:
    r.expect(b"(")
    subscribed = children = special_use = False
    status: tuple[c.StatusItem, ...] | None = None
    if r.maybe(b")"):
        return c.ListReturn()
    while True:
        option = r.keyword()
        if option == "SUBSCRIBED":
            subscribed = True
        elif option == "CHILDREN":
            children = True
        elif option == "SPECIAL-USE":
            special_use = True
        elif option == "STATUS":
            r.sp()
            status = _status_atts(r)
        else:
            r.fail(BadReason.UNSUPPORTED, "list return option")
        if r.maybe(b")"):
            return c.ListReturn(subscribed, children, special_use, status)
        r.sp()


def _lsub(r: Reader, tag: str) -> c.Command:
    r.sp()
    reference = r.mailbox_from(r.astring())
    r.sp()
    return c.Lsub(tag, reference, r.mailbox_from(r.list_mailbox()))


def _append(r: Reader, tag: str) -> c.Command:
    r.sp()
    mailbox = r.mailbox()
    messages: list[c.AppendMessage] = []
    while not r.at_end():
        r.sp()
        flags: tuple[str, ...] = ()
        date = None
        if r.peek() == 0x28:
            flags = r.flag_list()
            r.sp()
        if r.peek() == 0x22:
            date = r.date_time()
            r.sp()
        literal = r.literal()
        if not literal.is_binary and b"\x00" in literal.data:
            r.fail(BadReason.INVALID_STRING, "NUL in a non-binary literal")
        messages.append(c.AppendMessage(flags, date, literal.data))
    if not messages:
        r.fail(BadReason.SYNTAX, "APPEND without message")
    return c.Append(tag, mailbox, tuple(messages))


# ---- selected --------------------------------------------------------------------------
_SEARCH_RETURNS: Final = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})


def _search(uid: bool) -> _Parser:
    def parse(r: Reader, tag: str) -> c.Command:
        r.sp()
        returns: c.SearchReturn | None = None
        charset: str | None = None
        if r.peek_keyword() == "RETURN":
            r.atom()
            r.sp()
            r.expect(b"(")
            options: set[str] = set()
            if not r.maybe(b")"):
                while True:
                    option = r.keyword()
                    if option not in _SEARCH_RETURNS:
                        r.fail(BadReason.UNSUPPORTED, "search return option")
                    options.add(option)
                    if r.maybe(b")"):
                        break
                    r.sp()
            returns = c.SearchReturn(
                min="MIN" in options, max="MAX" in options,
                all="ALL" in options or not options, count="COUNT" in options,
                save="SAVE" in options)
            r.sp()
        if r.peek_keyword() == "CHARSET":
            r.atom()
            r.sp()
            charset = r.text(r.astring()).upper()
            if charset not in SEARCH_CHARSETS:
                raise Refused(tag, ResponseCode.BADCHARSET, "Unsupported charset",
                              b"(" + b" ".join(sorted(x.encode() for x in SEARCH_CHARSETS))
                              + b")", detail="charset")
            r.sp()
        key = parse_search_keys(r)
        return c.Search(tag, uid, key, charset, returns)
    return parse


def _fetch(uid: bool) -> _Parser:
    def parse(r: Reader, tag: str) -> c.Command:
        r.sp()
        seq = r.sequence_set()
        r.sp()
        items = parse_fetch_atts(r)
        changed_since: int | None = None
        if not r.at_end():
            r.sp()
            r.expect(b"(")
            while True:
                if r.keyword() != "CHANGEDSINCE":
                    r.fail(BadReason.UNSUPPORTED, "fetch modifier")
                r.sp()
                changed_since = r.number64()
                if r.maybe(b")"):
                    break
                r.sp()
        return c.Fetch(tag, uid, seq, items, changed_since)
    return parse


_STORE_MODES: Final = MappingProxyType({
    prefix + "FLAGS" + suffix: (mode, bool(suffix))
    for prefix, mode in (("", c.StoreMode.REPLACE), ("+", c.StoreMode.ADD),
                         ("-", c.StoreMode.REMOVE))
    for suffix in ("", ".SILENT")
})


def _store(uid: bool) -> _Parser:
    def parse(r: Reader, tag: str) -> c.Command:
        r.sp()
        seq = r.sequence_set()
        r.sp()
        unchanged_since: int | None = None
        if r.maybe(b"("):
            while True:
                if r.keyword() != "UNCHANGEDSINCE":
                    r.fail(BadReason.UNSUPPORTED, "store modifier")
                r.sp()
                unchanged_since = r.number64()
                if r.maybe(b")"):
                    break
                r.sp()
            r.sp()
        mode = _STORE_MODES.get(r.keyword())
        if mode is None:
            r.fail(BadReason.SYNTAX, "bad store attribute")
        r.sp()
        if r.peek() == 0x28:
            flags = r.flag_list()
        else:
            items = [r.flag()]
            while not r.at_end():
                r.sp()
                items.append(r.flag())
            flags = tuple(items)
        return c.Store(tag, uid, seq, mode[0], flags, mode[1], unchanged_since)
    return parse


def _copy_like(cls: Callable[[str, bool, SequenceSet, str], c.Command], uid: bool) -> _Parser:
    def parse(r: Reader, tag: str) -> c.Command:
        r.sp()
        seq = r.sequence_set()
        r.sp()
        return cls(tag, uid, seq, r.mailbox())
    return parse


def _uid_expunge(r: Reader, tag: str) -> c.Command:
    r.sp()
    return c.Expunge(tag, r.sequence_set())


_UID_VERBS: Final[Mapping[str, _Parser]] = MappingProxyType({
    "COPY": _copy_like(c.Copy, True),
    "MOVE": _copy_like(c.Move, True),
    "FETCH": _fetch(True),
    "SEARCH": _search(True),
    "STORE": _store(True),
    "EXPUNGE": _uid_expunge,
})


def _uid(r: Reader, tag: str) -> c.Command:
    r.sp()
    parser = _UID_VERBS.get(r.keyword())
    if parser is None:
        r.fail(BadReason.UNKNOWN_COMMAND, "unknown UID command")
    return parser(r, tag)


_BASE: Final[Mapping[str, _Parser]] = MappingProxyType({
    "CAPABILITY": _bare(c.Capability),
    "NOOP": _bare(c.Noop),
    "LOGOUT": _bare(c.Logout),
    "ID": _id,
    "STARTTLS": _bare(c.StartTLS),
    "LOGIN": _login,
    "AUTHENTICATE": _authenticate,
    "ENABLE": _enable,
    "SELECT": _select(False),
    "EXAMINE": _select(True),
    "CREATE": _create,
    "DELETE": _mailbox_only(c.Delete),
    "RENAME": _rename,
    "SUBSCRIBE": _mailbox_only(c.Subscribe),
    "UNSUBSCRIBE": _mailbox_only(c.Unsubscribe),
    "LIST": _list,
    "LSUB": _lsub,
    "NAMESPACE": _bare(c.Namespace),
    "STATUS": _status,
    "APPEND": _append,
    "IDLE": _bare(c.Idle),
    "CHECK": _bare(c.Check),
    "CLOSE": _bare(c.Close),
    "UNSELECT": _bare(c.Unselect),
    "EXPUNGE": _bare(c.Expunge),
    "SEARCH": _search(False),
    "FETCH": _fetch(False),
    "STORE": _store(False),
    "COPY": _copy_like(c.Copy, False),
    "MOVE": _copy_like(c.Move, False),
    "UID": _uid,
})
_VERBS: Final[Mapping[str, _Parser]] = MappingProxyType({**_BASE, **ACL_VERBS})
VERBS: Final = frozenset(_VERBS)
