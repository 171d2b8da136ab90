"""A small asyncio IMAP client for load generation: just enough protocol to drive a server
hard and measure it. It reads responses with literals (``{n}``), counts bytes, and answers the
continuation request of a synchronising literal (APPEND). It is not a general client: it trusts
the server under test."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Final

__all__ = ["ImapClient", "Reply", "ImapError", "connect"]

_LITERAL: Final = re.compile(rb"\{(\d+)\+?\}\r\n$")
_EXISTS: Final = re.compile(rb"^\* (\d+) EXISTS")
READ_LIMIT: Final = 1 << 20


class ImapError(Exception):
    """The server answered NO/BAD/BYE, or closed the connection."""


@dataclass(slots=True)
class Reply:
    status: bytes  # OK, NO, BAD
    text: bytes
    untagged: list[bytes] = field(default_factory=list)
    nbytes: int = 0  # bytes received for this command, literals included


class ImapClient:
    __slots__ = ("reader", "writer", "_tag", "exists", "received")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._tag = 0
        self.exists = 0
        self.received = 0

    async def _read_response_line(self, keep: bool = True) -> tuple[bytes, int]:
        """One response line with its literals inlined (literal bodies dropped when
        ``keep`` is false, but counted)."""
        line = await self.reader.readline()
        if not line:
            raise ImapError("connection closed")
        nbytes = len(line)
        parts = [line] if keep else [line[:200]]
        while (m := _LITERAL.search(line)) is not None:
            size = int(m.group(1))
            remaining = size
            while remaining:
                chunk = await self.reader.read(min(remaining, 1 << 18))
                if not chunk:
                    raise ImapError("connection closed in a literal")
                remaining -= len(chunk)
                if keep:
                    parts.append(chunk)
            nbytes += size
            line = await self.reader.readline()
            if not line:
                raise ImapError("connection closed")
            nbytes += len(line)
            if keep:
                parts.append(line)
        self.received += nbytes
        return b"".join(parts), nbytes

    async def greeting(self) -> bytes:
        line, _ = await self._read_response_line()
        if not line.startswith(b"* OK") and not line.startswith(b"* PREAUTH"):
            raise ImapError("bad greeting")
        return line

    async def command(self, text: str | bytes, literal: bytes | None = None, *,
                      keep: bool = True, check: bool = True) -> Reply:
        """Send one command (``literal`` appended as a synchronising literal) and read up to
        its tagged reply."""
        self._tag += 1
        tag = b"b%d" % self._tag
        body = text.encode() if isinstance(text, str) else text
        if literal is None:
            self.writer.write(tag + b" " + body + b"\r\n")
        else:
            self.writer.write(tag + b" " + body + b" {%d}\r\n" % len(literal))
            while True:
                line, _ = await self._read_response_line()
                if line.startswith(b"+"):
                    break
                if line.startswith(tag + b" "):
                    raise ImapError(line.decode(errors="replace").strip())
                self._note(line)
            self.writer.write(literal + b"\r\n")
        reply = await self._collect(tag, keep)
        if check and reply.status != b"OK":
            raise ImapError(f"{body[:40]!r}: {reply.status.decode()} {reply.text[:200]!r}")
        return reply

    def _note(self, line: bytes) -> None:
        m = _EXISTS.match(line)
        if m is not None:
            self.exists = int(m.group(1))

    async def _collect(self, tag: bytes, keep: bool) -> Reply:
        untagged: list[bytes] = []
        total = 0
        prefix = tag + b" "
        while True:
            line, n = await self._read_response_line(keep)
            total += n
            if line.startswith(prefix):
                rest = line[len(prefix):].rstrip(b"\r\n")
                status, _, text = rest.partition(b" ")
                return Reply(status, text, untagged, total)
            self._note(line)
            if keep:
                untagged.append(line)

    async def login(self, user: str, password: str) -> Reply:
        return await self.command(f'LOGIN "{user}" "{password}"')

    async def idle_start(self) -> None:
        self._tag += 1
        self.writer.write(b"b%d IDLE\r\n" % self._tag)
        while True:
            line, _ = await self._read_response_line()
            if line.startswith(b"+"):
                return
            if line.startswith(b"b%d " % self._tag):
                raise ImapError("IDLE refused")
            self._note(line)

    async def idle_done(self) -> None:
        self.writer.write(b"DONE\r\n")
        await self._collect(b"b%d" % self._tag, False)

    async def close(self) -> None:
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (TimeoutError, OSError, ssl.SSLError):
            pass


async def connect(host: str, port: int, ssl_ctx: ssl.SSLContext | None, *,
                  local_addr: str | None = None, timeout_s: float = 30.0) -> ImapClient:
    """Open a connection (implicit TLS when ``ssl_ctx``) and read the greeting."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl_ctx, limit=READ_LIMIT,
                                local_addr=(local_addr, 0) if local_addr else None,
                                server_hostname="localhost" if ssl_ctx else None),
        timeout_s)
    client = ImapClient(reader, writer)
    await asyncio.wait_for(client.greeting(), timeout_s)
    return client


def client_ssl_context() -> ssl.SSLContext:
    """The benchmark talks to its own servers on loopback with self-signed certificates."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # noqa: S501 - our own self-signed loopback servers
    return ctx


def now() -> float:
    return time.perf_counter()
