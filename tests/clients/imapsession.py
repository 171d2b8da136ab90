"""A small, strict IMAP client over implicit TLS for seeding and inspecting a running
``mailfort serve`` from the client tests and the durability test.

Built on the standard library's ``imaplib`` so that it exercises the server with a client we do
not control either. Every call checks the tagged status and raises ``ImapFailure`` with the
server's words otherwise; FETCH responses are regrouped and parsed here, because ``imaplib``
hands them back as loose fragments.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

__all__ = ["Account", "ImapFailure", "ImapSession", "ServerMessage", "make_message"]

IO_TIMEOUT_S: Final = 20.0

_APPENDUID: Final = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
_FETCH_START: Final = re.compile(rb"^(\d+) \(")
_LITERAL_AT_END: Final = re.compile(rb"\{(\d+)\}$")
_TOKEN: Final = re.compile(
    rb'\s*(?:(?P<open>\()|(?P<close>\))|(?P<lit>\x00(?P<n>\d+)\x00)'
    rb'|"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<atom>[^\s()"\[]+(?:\[[^\]]*\](?:<[\d.]+>)?)?))'
)


def quoted(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as given)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapFailure(AssertionError):
    """The server answered NO or BAD (or something unparsable) where OK was expected."""


@dataclass(frozen=True, slots=True)
class ServerMessage:
    uid: int
    flags: frozenset[str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Account:
    """One user on a running server, reachable over implicit TLS on loopback."""

    user: str
    password: str
    port: int
    cert_path: Path
    host: str = "127.0.0.1"
    # The name the certificate carries as a DNS SAN, for clients that match names only
    # (isync 1.4 ignores IP SANs); the server listens on loopback, which it resolves to.
    tls_name: str = "localhost"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.cert_path))
        # The self-signed certificate names 127.0.0.1 too, so hostname checking stays on.
        return ctx

    def connect(self) -> ImapSession:
        conn = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=self.ssl_context(),
                                 timeout=IO_TIMEOUT_S)
        # imaplib writes a literal and its closing CRLF separately; without TCP_NODELAY, Nagle
        # and the peer's delayed ACK cost ~40 ms per APPEND.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = ImapSession(conn)
        session.check(conn.login(self.user, self.password), "LOGIN")
        return session


def make_message(subject: str, body: str = "", *, extra_headers: Sequence[str] = (),
                 raw_body: bytes | None = None) -> bytes:
    """An RFC 5322 message with CRLF line ends; ``subject`` doubles as its identity."""
    headers = [
        "From: Sender <sender@example.test>",
        "To: Alice <alice@example.test>",
        f"Subject: {subject}",
        "Date: Mon, 02 Jan 2023 10:00:00 +0000",
        f"Message-ID: <{subject.replace(' ', '.')}@example.test>",
        "MIME-Version: 1.0",
        *extra_headers,
    ]
    if raw_body is None:
        text = body or f"Body of {subject}.\nSecond line.\n"
        raw_body = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        headers.append("Content-Type: text/plain; charset=utf-8")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + raw_body


class ImapSession:
    """A logged-in connection. Use as a context manager; ``close()`` logs out."""

    def __init__(self, conn: imaplib.IMAP4_SSL) -> None:
        self.conn = conn

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass  # the server may already be gone (durability tests kill it)

    @staticmethod
    def check(result: tuple[str, Sequence[object]], what: str) -> list[object]:
        typ, data = result
        if typ != "OK":
            raise ImapFailure(f"{what}: {typ} {data!r}")
        return list(data)

    # ---- mailboxes -----------------------------------------------------------------------
    def create(self, mailbox: str) -> None:
        self.check(self.conn.create(quoted(mailbox)), f"CREATE {mailbox}")

    def mailboxes(self) -> list[str]:
        data = self.check(self.conn.list(), "LIST")
        names = []
        for line in data:
            assert isinstance(line, bytes), line
            m = re.match(rb'^\([^)]*\) (?:"[^"]*"|NIL) (.+)$', line)
            assert m, line
            name = m.group(1)
            names.append(name[1:-1].decode() if name.startswith(b'"') else name.decode())
        return names

    def select(self, mailbox: str = "INBOX") -> int:
        data = self.check(self.conn.select(quoted(mailbox)), f"SELECT {mailbox}")
        first = data[0]
        assert isinstance(first, bytes)
        return int(first)

    def status(self, mailbox: str, items: Sequence[str]) -> dict[str, int]:
        data = self.check(self.conn.status(quoted(mailbox), "(" + " ".join(items) + ")"),
                          f"STATUS {mailbox}")
        line = data[0]
        assert isinstance(line, bytes)
        m = re.search(rb"\(([^)]*)\)\s*$", line)
        assert m, line
        words = m.group(1).split()
        return {words[i].decode().upper(): int(words[i + 1]) for i in range(0, len(words), 2)}

    # ---- messages ------------------------------------------------------------------------
    def append(self, mailbox: str, message: bytes, flags: Iterable[str] = ()) -> int:
        """APPEND and return the UID from APPENDUID (RFC 4315, part of IMAP4rev2)."""
        flag_list = "(" + " ".join(flags) + ")"
        typ, data = self.conn.append(quoted(mailbox), flag_list, None, message)
        if typ != "OK":
            raise ImapFailure(f"APPEND {mailbox}: {typ} {data!r}")
        text = data[0] if data else b""
        assert isinstance(text, bytes)
        m = _APPENDUID.search(text)
        if m is None:
            raise ImapFailure(f"APPEND {mailbox}: no APPENDUID in tagged OK: {text!r}")
        return int(m.group(2))

    def uid_store(self, uids: Iterable[int], op: str, flags: Iterable[str]) -> None:
        uid_set = ",".join(str(u) for u in uids)
        self.check(self.conn.uid("STORE", uid_set, op, "(" + " ".join(flags) + ")"),
                   f"UID STORE {op}")

    def expunge(self) -> None:
        self.check(self.conn.expunge(), "EXPUNGE")

    def fetch_all(self, *, with_body: bool = True) -> dict[int, ServerMessage]:
        """UID, FLAGS and (optionally) BODY.PEEK[] of every message in the selected mailbox."""
        items = "(UID FLAGS BODY.PEEK[])" if with_body else "(UID FLAGS)"
        data = self.check(self.conn.uid("FETCH", "1:*", items), "UID FETCH")
        out: dict[int, ServerMessage] = {}
        for attrs in _parse_fetch(data):
            uid = int(_as_bytes(attrs["UID"]))
            flags_value = attrs["FLAGS"]
            assert isinstance(flags_value, list), attrs
            flags = frozenset(_as_bytes(f).decode() for f in flags_value) - {"\\Recent"}
            body = _as_bytes(attrs["BODY[]"]) if with_body else b""
            out[uid] = ServerMessage(uid, flags, body)
        return out


# ---- FETCH response parsing ---------------------------------------------------------------
_Value = bytes | list["_Value"]


def _as_bytes(value: _Value) -> bytes:
    assert isinstance(value, bytes), value
    return value


def _regroup(data: list[object]) -> Iterator[tuple[bytes, list[bytes]]]:
    """imaplib splits one FETCH response at each literal: a tuple (text ending in {n}, literal)
    followed by the rest of the line. Rejoin them as text with NUL-delimited literal indices."""
    text = b""
    literals: list[bytes] = []
    started = False
    for item in data:
        if item is None:
            continue
        head = item[0] if isinstance(item, tuple) else item
        assert isinstance(head, bytes), item
        if _FETCH_START.match(head) and started:
            yield text, literals
            text, literals = b"", []
        started = True
        if isinstance(item, tuple):
            literal = item[1]
            assert isinstance(literal, bytes)
            m = _LITERAL_AT_END.search(head)
            assert m and int(m.group(1)) == len(literal), item
            text += head[: m.start()] + b"\x00%d\x00" % len(literals)
            literals.append(literal)
        else:
            text += head
    if started:
        yield text, literals


def _parse_fetch(data: list[object]) -> Iterator[dict[str, _Value]]:
    for text, literals in _regroup(data):
        m = _FETCH_START.match(text)
        assert m, text
        pos = m.end() - 1  # at the "(" that opens the attribute list
        stack: list[list[_Value]] = [[]]
        while True:
            tok = _TOKEN.match(text, pos)
            assert tok, (text[pos:], text)
            pos = tok.end()
            if tok.group("open"):
                stack.append([])
            elif tok.group("close"):
                done = stack.pop()
                if not stack:
                    raise ImapFailure(f"unbalanced FETCH response {text!r}")
                stack[-1].append(done)
                if len(stack) == 1:
                    break
            elif tok.group("lit") is not None:
                stack[-1].append(literals[int(tok.group("n"))])
            elif tok.group("quoted") is not None:
                stack[-1].append(re.sub(rb"\\(.)", rb"\1", tok.group("quoted")))
            else:
                stack[-1].append(tok.group("atom"))
        outer = stack[0][0]
        assert isinstance(outer, list) and len(outer) % 2 == 0, text
        attrs: dict[str, _Value] = {}
        for i in range(0, len(outer), 2):
            name = _as_bytes(outer[i]).decode().upper()
            attrs[name] = outer[i + 1]
        yield attrs
