"""A minimal line-level IMAP client for wire tests: exact bytes out, exact lines back, every
read bounded by a timeout."""

from __future__ import annotations

import socket
import ssl
from typing import Final

TIMEOUT_S: Final = 10.0


class WireClient:
    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        raw = socket.create_connection((host, port), timeout=timeout_s)
        self.sock: socket.socket = (tls.wrap_socket(raw, server_hostname="localhost")
                                    if tls is not None else raw)
        self.sock.settimeout(timeout_s)
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def readline(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(bytes(self.buf))
            self.buf += chunk
        i = self.buf.index(b"\r\n") + 2
        line = bytes(self.buf[:i])
        del self.buf[:i]
        return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(bytes(self.buf))
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_response(self) -> bytes:
        """One response line including any literals it announces."""
        line = self.readline()
        out = line
        while line.endswith(b"}\r\n") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
            out += self.read_exact(n)
            line = self.readline()
            out += line
        return out

    def until_tagged(self, tag: bytes) -> list[bytes]:
        """Responses up to and including the one tagged ``tag``."""
        lines: list[bytes] = []
        while True:
            resp = self.read_response()
            lines.append(resp)
            if resp.startswith(tag + b" "):
                return lines

    def command(self, tag: bytes, text: bytes) -> list[bytes]:
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag)

    def starttls(self, ctx: ssl.SSLContext) -> None:
        assert not self.buf, "bytes after the STARTTLS OK"
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
