"""Raw IMAP over real sockets for the attack suite.

The attacks need byte-exact control of what is sent and when (pipelined bytes behind STARTTLS,
literals that are announced and never sent, lines without CRLF), so this module talks bytes and
parses only as much of the server's answers as the assertions need: lines, literals inside
responses, the tag, the status and the response code. Every read is bounded by a deadline; a
deadline passing is a test failure (``TimeoutError``), never a hang.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.serverproc import MailfortProcess

__all__ = ["CRLF", "ConnectionClosed", "Reply", "Wire", "Server", "serving", "quote",
           "plain_sasl", "LITERAL_AT_END", "DEFAULT_TIMEOUT_S"]

CRLF = b"\r\n"
DEFAULT_TIMEOUT_S = 10.0
LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")
_CLOSED_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError,
                  ssl.SSLEOFError, ssl.SSLZeroReturnError)


class ConnectionClosed(Exception):
    """The server closed the connection. ``lines`` holds the complete lines read before the
    close while waiting for the reply (typically ``* BYE ...``); ``rest`` the partial tail."""

    def __init__(self, lines: tuple[bytes, ...] = (), rest: bytes = b"") -> None:
        super().__init__(f"connection closed by the server after {lines!r} + {rest!r}")
        self.lines = lines
        self.rest = rest


def quote(value: bytes | str) -> bytes:
    """An IMAP quoted string (RFC 9051 §4.3): backslash-escape ``\\`` and ``"``."""
    raw = value.encode() if isinstance(value, str) else value
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def plain_sasl(authzid: bytes, authcid: bytes, password: bytes) -> bytes:
    """The base64 SASL PLAIN message (RFC 4616)."""
    return base64.b64encode(authzid + b"\0" + authcid + b"\0" + password)


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything the server said up to and including the tagged completion."""

    tag: bytes
    untagged: tuple[bytes, ...]
    tagged: bytes

    @property
    def status(self) -> bytes:
        parts = self.tagged.split(b" ", 2)
        return parts[1].upper() if len(parts) > 1 else b""

    @property
    def code(self) -> bytes | None:
        """The response code's atom (``TOOBIG``, ``PRIVACYREQUIRED``...), if any."""
        parts = self.tagged.split(b" ", 2)
        if len(parts) < 3 or not parts[2].startswith(b"["):
            return None
        inner = parts[2][1:].split(b"]", 1)[0]
        return inner.split(b" ", 1)[0].upper()

    @property
    def text_after_tag(self) -> bytes:
        """The completion without its tag: ``NO [AUTHENTICATIONFAILED] ...``."""
        return self.tagged.split(b" ", 1)[1] if b" " in self.tagged else b""

    @property
    def is_ok(self) -> bool:
        return self.status == b"OK"

    @property
    def continuations(self) -> tuple[bytes, ...]:
        return tuple(line for line in self.untagged if line.startswith(b"+"))

    def untagged_with(self, word: bytes) -> tuple[bytes, ...]:
        """Untagged ``* ...`` lines whose text contains ``word`` (case-insensitive)."""
        return tuple(line for line in self.untagged
                     if line.startswith(b"* ") and word.upper() in line.upper())


@dataclass
class Wire:
    """One client connection. ``greeting`` is the first line the server sent."""

    sock: socket.socket
    timeout_s: float = DEFAULT_TIMEOUT_S
    buf: bytearray = field(default_factory=bytearray)
    greeting: bytes = b""

    # ---- sending --------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.settimeout(self.timeout_s)
        self.sock.sendall(data)

    def try_send(self, data: bytes) -> bool:
        """Send unless the server has already closed the connection (False then)."""
        try:
            self.send(data)
        except (*_CLOSED_ERRORS, ssl.SSLError):
            return False
        return True

    # ---- receiving ------------------------------------------------------------------------
    def _recv_more(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete answer in time; have {bytes(self.buf[:300])!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError(
                f"no complete answer in time; have {bytes(self.buf[:300])!r}") from None
        except _CLOSED_ERRORS:
            chunk = b""
        except ssl.SSLError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed(rest=bytes(self.buf))
        self.buf += chunk

    def read_some(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for bytes: True if some arrived (they are buffered), False
        if none did. Raises ``ConnectionClosed`` if the server closed the connection."""
        try:
            self._recv_more(time.monotonic() + timeout_s)
        except TimeoutError:
            return False
        return True

    def read_line(self, timeout_s: float | None = None) -> bytes:
        """One line without its CRLF."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            end = self.buf.find(CRLF)
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 2]
                return line
            self._recv_more(deadline)

    def read_exact(self, n: int, timeout_s: float | None = None) -> bytes:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while len(self.buf) < n:
            self._recv_more(deadline)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_response(self, timeout_s: float | None = None) -> bytes:
        """One response: a line, with any literals it carries spliced in."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        out = bytearray()
        while True:
            line = self.read_line(max(deadline - time.monotonic(), 0.001))
            out += line
            match = LITERAL_AT_END.search(line)
            if match is None or line.startswith(b"+"):
                return bytes(out)
            out += CRLF + self.read_exact(int(match.group(1)),
                                          max(deadline - time.monotonic(), 0.001))

    def read_tagged(self, tag: bytes | str, timeout_s: float | None = None) -> Reply:
        tag_b = tag.encode() if isinstance(tag, str) else tag
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        lines: list[bytes] = []
        while True:
            try:
                line = self.read_response(max(deadline - time.monotonic(), 0.001))
            except ConnectionClosed as exc:
                raise ConnectionClosed(tuple(lines), exc.rest) from None
            if line.startswith(tag_b + b" "):
                return Reply(tag_b, tuple(lines), line)
            lines.append(line)

    def command(self, tag: str, text: bytes | str, timeout_s: float | None = None) -> Reply:
        body = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + body + CRLF)
        return self.read_tagged(tag, timeout_s)

    def literal_command(self, tag: str, head: bytes, literal: bytes, tail: bytes = b"",
                        timeout_s: float | None = None) -> tuple[Reply, bool]:
        """``tag head {n}`` then, only if the server says ``+``, the literal and ``tail``.
        Returns the reply and whether a continuation was granted."""
        self.send(tag.encode() + b" " + head + b"{%d}" % len(literal) + CRLF)
        first = self.read_response(timeout_s)
        if first.startswith(b"+"):
            self.send(literal + tail + CRLF)
            reply = self.read_tagged(tag, timeout_s)
            return Reply(reply.tag, (first, *reply.untagged), reply.tagged), True
        if first.startswith(tag.encode() + b" "):
            return Reply(tag.encode(), (), first), False
        reply = self.read_tagged(tag, timeout_s)
        return Reply(reply.tag, (first, *reply.untagged), reply.tagged), False

    def expect_closed(self, timeout_s: float | None = None) -> bytes:
        """Read until the server closes the connection; returns everything it sent."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            try:
                self._recv_more(deadline)
            except ConnectionClosed:
                data = bytes(self.buf)
                self.buf.clear()
                return data

    def is_alive(self) -> bool:
        """The session still answers a NOOP with a tagged completion."""
        try:
            reply = self.command("alive", b"NOOP")
        except (ConnectionClosed, *_CLOSED_ERRORS):
            return False
        return reply.status in (b"OK", b"NO")

    # ---- TLS ------------------------------------------------------------------------------
    def starttls(self, ctx: ssl.SSLContext) -> None:
        """Start TLS on this connection. Refuses to do so with unread plaintext buffered."""
        assert not self.buf, f"plaintext after the STARTTLS answer: {bytes(self.buf)!r}"
        self.sock.settimeout(self.timeout_s)
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass
class Server:
    """A running ``mailfort serve`` and the accounts created on it (name -> password)."""

    proc: MailfortProcess
    passwords: dict[str, str]

    @property
    def pid(self) -> int:
        assert self.proc.proc is not None
        return self.proc.proc.pid

    def is_running(self) -> bool:
        return self.proc.proc is not None and self.proc.proc.poll() is None

    def tcp(self, port: int) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT_S)

    def tls(self, timeout_s: float = DEFAULT_TIMEOUT_S, *, read_greeting: bool = True) -> Wire:
        """A connection to the implicit-TLS port, greeting read."""
        raw = self.tcp(self.proc.imaps_port)
        raw.settimeout(timeout_s)
        wire = Wire(self.proc.ssl_context().wrap_socket(raw, server_hostname="localhost"),
                    timeout_s)
        if read_greeting:
            wire.greeting = wire.read_line()
        return wire

    def plain(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> Wire:
        """A cleartext connection to the STARTTLS port, greeting read."""
        wire = Wire(self.tcp(self.proc.imap_port), timeout_s)
        wire.greeting = wire.read_line()
        return wire

    def login(self, user: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Wire:
        wire = self.tls(timeout_s)
        reply = wire.command("login", b"LOGIN " + quote(user) + b" "
                             + quote(self.passwords[user]))
        assert reply.is_ok, reply
        return wire

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc status")

    def fd_count(self) -> int:
        return len(list(Path(f"/proc/{self.pid}/fd").iterdir()))

    def log_text(self) -> str:
        return self.proc.log_text()

    def log_bytes(self) -> bytes:
        path = self.proc.root / "server.log"
        return path.read_bytes() if path.exists() else b""


@contextlib.contextmanager
def serving(root: Path, users: tuple[str, ...] = ("alice", "bob"),
            overrides: dict[str, dict[str, str | int | bool]] | None = None,
            *, trust_loopback: bool = True) -> Iterator[Server]:
    """Start ``mailfort serve`` under ``root`` with ``users`` created first; stop it after."""
    # The attack suite tests how the protocol layers handle each attack; from loopback the
    # guard would ban the attacking address first and hide that. So loopback is a trusted
    # network here (never banned nor locked out); connection limits still apply. The guard
    # itself is tested in tests/integration/test_account_security.py.
    proc = MailfortProcess(root, overrides=overrides or {},
                           trusted=("127.0.0.0/8",) if trust_loopback else ())
    proc.write_config()
    proc.start()  # initialises the data directory; accounts can be added while it runs
    try:
        # One at a time: concurrent ``mailfort user add`` runs can fail with "database is
        # locked" (seen 2026-11, PRAGMA optimize on close).
        passwords = {name: proc.add_user(name) for name in users}
        yield Server(proc, passwords)
    finally:
        proc.stop()
