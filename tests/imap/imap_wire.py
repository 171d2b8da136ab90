"""Test-side client encoder: ``commands.Command`` → wire bytes, for round-trip tests and as a
second, independent statement of the grammar. Uses the lead's encoder for strings."""

from __future__ import annotations

import datetime as dt

from mailfort.imap import commands as c
from mailfort.imap import encoder
from mailfort.imap.grammar.modutf7 import encode_mutf7
from mailfort.mail import search as s

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date(d: dt.date) -> bytes:
    return f"{d.day}-{MONTHS[d.month - 1]}-{d.year:04d}".encode("ascii")


def mbox(name: str) -> bytes:
    return encoder.mailbox_name(name)


def pattern(name: str) -> bytes:
    return encoder.quoted_or_literal(encode_mutf7(name))


def search_key(key: s.SearchKey) -> bytes:
    if isinstance(key, s.All):
        return b"ALL"
    if isinstance(key, s.Recent):
        return b"RECENT"
    if isinstance(key, s.New):
        return b"NEW"
    if isinstance(key, s.Old):
        return b"OLD"
    if isinstance(key, s.HasFlag):
        names = {"\\Answered": "ANSWERED", "\\Deleted": "DELETED", "\\Draft": "DRAFT",
                 "\\Flagged": "FLAGGED", "\\Seen": "SEEN"}
        if key.flag in names:
            return (("" if key.is_set else "UN") + names[key.flag]).encode("ascii")
        return (b"KEYWORD " if key.is_set else b"UNKEYWORD ") + key.flag.encode("ascii")
    if isinstance(key, s.Header):
        if key.name in ("from", "to", "cc", "bcc", "subject"):
            return key.name.upper().encode("ascii") + b" " + encoder.astring(key.value)
        return b"HEADER " + encoder.astring(key.name) + b" " + encoder.astring(key.value)
    if isinstance(key, s.Body):
        return b"BODY " + encoder.astring(key.value)
    if isinstance(key, s.Text):
        return b"TEXT " + encoder.astring(key.value)
    if isinstance(key, s.DateCompare):
        prefix = "" if key.field is s.DateField.INTERNAL else "SENT"
        return (prefix + key.op.name).encode("ascii") + b" " + date(key.date)
    if isinstance(key, s.SizeCompare):
        return key.op.name.encode("ascii") + b" %d" % key.size
    if isinstance(key, s.InSet):
        return (b"UID " if key.is_uid else b"") + key.set.to_wire().encode("ascii")
    if isinstance(key, s.ModSeqAtLeast):
        return b"MODSEQ %d" % key.modseq
    if isinstance(key, s.Not):
        return b"NOT " + search_key(key.key)
    if isinstance(key, s.Or):
        return b"OR " + search_key(key.left) + b" " + search_key(key.right)
    return b"(" + b" ".join(search_key(k) for k in key.keys) + b")"


def section(sec: c.Section) -> bytes:
    out = ".".join(str(p) for p in sec.part)
    if sec.text is not None:
        out += ("." if sec.part else "") + sec.text.value
    text = out.encode("ascii")
    if sec.fields:
        text += b" (" + b" ".join(f.encode("ascii") for f in sec.fields) + b")"
    return b"[" + text + b"]"


def partial(p: tuple[int, int] | None) -> bytes:
    return b"" if p is None else b"<%d.%d>" % p


def fetch_att(att: c.FetchAtt) -> bytes:
    if isinstance(att, c.FetchItem):
        return att.value.encode("ascii")
    if isinstance(att, c.BodySection):
        return (b"BODY.PEEK" if att.is_peek else b"BODY") + section(att.section) + partial(
            att.partial)
    part = ".".join(str(p) for p in att.part).encode("ascii")
    if isinstance(att, c.BinarySize):
        return b"BINARY.SIZE[" + part + b"]"
    return (b"BINARY.PEEK[" if att.is_peek else b"BINARY[") + part + b"]" + partial(att.partial)


def flags(fl: tuple[str, ...]) -> bytes:
    return b"(" + b" ".join(f.encode("ascii") for f in fl) + b")"


def command(cmd: c.Command) -> bytes:  # noqa: C901 - one branch per verb, as a table would be
    t = cmd.tag.encode("ascii") + b" "
    uid = b"UID " if getattr(cmd, "is_uid", False) else b""
    if isinstance(cmd, c.Login):
        return t + b"LOGIN " + encoder.astring(cmd.username) + b" " + encoder.astring(
            cmd.password.reveal()) + b"\r\n"
    if isinstance(cmd, c.Select):
        verb = b"EXAMINE " if cmd.is_readonly else b"SELECT "
        return t + verb + mbox(cmd.mailbox) + (b" (CONDSTORE)" if cmd.condstore else b"") + b"\r\n"
    if isinstance(cmd, c.Create):
        use = b" (USE (" + b" ".join(u.encode() for u in cmd.special_use) + b"))" if (
            cmd.special_use) else b""
        return t + b"CREATE " + mbox(cmd.mailbox) + use + b"\r\n"
    if isinstance(cmd, c.Delete | c.Subscribe | c.Unsubscribe):
        return t + type(cmd).__name__.upper().encode() + b" " + mbox(cmd.mailbox) + b"\r\n"
    if isinstance(cmd, c.Rename):
        return t + b"RENAME " + mbox(cmd.mailbox) + b" " + mbox(cmd.new_name) + b"\r\n"
    if isinstance(cmd, c.Status):
        return t + b"STATUS " + mbox(cmd.mailbox) + b" (" + b" ".join(
            i.value.encode() for i in cmd.items) + b")\r\n"
    if isinstance(cmd, c.Copy | c.Move):
        return (t + uid + type(cmd).__name__.upper().encode() + b" "
                + cmd.sequence_set.to_wire().encode() + b" " + mbox(cmd.mailbox) + b"\r\n")
    if isinstance(cmd, c.Store):
        mod = b" (UNCHANGEDSINCE %d)" % cmd.unchanged_since if cmd.unchanged_since is not None \
            else b""
        att = cmd.mode.value.encode() + b"FLAGS" + (b".SILENT" if cmd.is_silent else b"")
        return (t + uid + b"STORE " + cmd.sequence_set.to_wire().encode() + mod + b" " + att
                + b" " + flags(cmd.flags) + b"\r\n")
    if isinstance(cmd, c.Fetch):
        mod = b" (CHANGEDSINCE %d)" % cmd.changed_since if cmd.changed_since is not None else b""
        return (t + uid + b"FETCH " + cmd.sequence_set.to_wire().encode() + b" ("
                + b" ".join(fetch_att(a) for a in cmd.items) + b")" + mod + b"\r\n")
    if isinstance(cmd, c.Search):
        ret = b""
        if cmd.returns is not None:
            r = cmd.returns
            opts = [n for n, on in (("MIN", r.min), ("MAX", r.max), ("ALL", r.all),
                                    ("COUNT", r.count), ("SAVE", r.save)) if on]
            ret = b"RETURN (" + " ".join(opts).encode() + b") "
        cs = b"CHARSET " + cmd.charset.encode() + b" " if cmd.charset else b""
        keys = cmd.key.keys if isinstance(cmd.key, s.And) else (cmd.key,)
        return t + uid + b"SEARCH " + ret + cs + b" ".join(search_key(k) for k in keys) + b"\r\n"
    if isinstance(cmd, c.Append):
        out = t + b"APPEND " + mbox(cmd.mailbox)
        for m in cmd.messages:
            out += b" "
            if m.flags:
                out += flags(m.flags) + b" "
            if m.internal_date is not None:
                out += encoder.date_time(m.internal_date) + b" "
            out += (encoder.literal8(m.message) if b"\x00" in m.message
                    else encoder.literal(m.message))
        return out + b"\r\n"
    if isinstance(cmd, c.List):
        sel = b"(" + b" ".join(sorted(o.encode() for o in cmd.selection)) + b") " if (
            cmd.is_extended) else b""
        pats = b"(" + b" ".join(pattern(p) for p in cmd.patterns) + b")" if cmd.is_extended \
            else pattern(cmd.patterns[0])
        lr = cmd.returns
        opts = [n for n, on in (("SUBSCRIBED", lr.subscribed), ("CHILDREN", lr.children),
                                ("SPECIAL-USE", lr.special_use)) if on]
        if lr.status is not None:
            opts.append("STATUS (" + " ".join(i.value for i in lr.status) + ")")
        ret = b" RETURN (" + " ".join(opts).encode() + b")" if cmd.is_extended else b""
        return t + b"LIST " + sel + pattern(cmd.reference) + b" " + pats + ret + b"\r\n"
    if isinstance(cmd, c.Expunge) and cmd.uids is not None:
        return t + b"UID EXPUNGE " + cmd.uids.to_wire().encode() + b"\r\n"
    if isinstance(cmd, c.Enable):
        return t + b"ENABLE " + " ".join(cmd.capabilities).encode() + b"\r\n"
    raise NotImplementedError(type(cmd).__name__)
