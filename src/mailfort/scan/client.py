"""A small blocking IMAP client for probing, built on the protocol core's response parser.

Each probe owns one socket; every read and write is bounded by the per-operation timeout and
by the host's overall deadline. It records a transcript (``C:``/``S:`` lines) for evidence;
callers pass a masked rendering of anything secret (``log_as``), so passwords never reach a
report. Certificates are *not* verified here: the scanner must talk to broken servers, and the
certificate is judged separately by the TLS check.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
import warnings
from dataclasses import dataclass

from mailfort.imap.response_parser import (
    Greeting,
    ResponseParser,
    ResponseSyntaxError,
    ServerResponse,
    Tagged,
    Untagged,
    capabilities_in,
)

__all__ = [
    "Deadline",
    "ImapProbe",
    "ProbeError",
    "ProbeTimeout",
    "StartTlsResult",
    "probe_tls_context",
]

_MAX_TRANSCRIPT_LINE = 300


class ProbeError(Exception):
    """The server could not be reached, hung up, timed out or spoke something else than IMAP."""


class ProbeTimeout(ProbeError):
    """The server said nothing within the time allowed (the connection may still be open)."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in ``time.monotonic()`` time after which nothing more is attempted for a host."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def bound(self, timeout_s: float) -> float:
        left = self.remaining()
        if left <= 0:
            raise ProbeError("host time budget exhausted")
        return min(timeout_s, left)


def probe_tls_context() -> ssl.SSLContext:
    """A permissive client context: we must handshake with weak servers to judge them."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 on purpose, to judge it
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass
    return ctx


@dataclass(frozen=True, slots=True)
class StartTlsResult:
    tagged: Tagged
    injected: bytes  # bytes the server sent after the tagged OK and before the handshake
    upgraded: bool


class ImapProbe:
    """One connection. Use :meth:`open`; always :meth:`close` (or use as a context manager)."""

    def __init__(
        self, sock: socket.socket, *, host: str, port: int, deadline: Deadline, op_timeout_s: float
    ) -> None:
        self._sock: socket.socket = sock
        self.host = host
        self.port = port
        self._deadline = deadline
        self._op_timeout_s = op_timeout_s
        self._parser = ResponseParser(expect_greeting=True)
        self._tag_counter = 0
        self.transcript: list[str] = []
        self.is_tls = isinstance(sock, ssl.SSLSocket)
        self.greeting: Greeting | None = None

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        *,
        deadline: Deadline,
        op_timeout_s: float = 10.0,
        implicit_tls: bool = False,
        read_greeting: bool = True,
    ) -> ImapProbe:
        try:
            raw = socket.create_connection((host, port), timeout=deadline.bound(op_timeout_s))
        except OSError as exc:
            raise ProbeError(f"connect failed: {exc.strerror or exc.__class__.__name__}") from None
        sock: socket.socket = raw
        if implicit_tls:
            try:
                raw.settimeout(deadline.bound(op_timeout_s))
                sock = probe_tls_context().wrap_socket(raw, server_hostname=_sni(host))
            except (OSError, ssl.SSLError) as exc:
                raw.close()
                raise ProbeError(f"TLS handshake failed: {exc.__class__.__name__}") from None
        probe = cls(sock, host=host, port=port, deadline=deadline, op_timeout_s=op_timeout_s)
        if read_greeting:
            try:
                first = probe.read_response()
            except ProbeError:
                probe.close()
                raise
            if not isinstance(first, Greeting):
                probe.close()
                raise ProbeError("no IMAP greeting")
            probe.greeting = first
        return probe

    def __enter__(self) -> ImapProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def next_tag(self) -> str:
        self._tag_counter += 1
        return f"mf{self._tag_counter}"

    def send(self, data: bytes, *, log_as: str | None = None) -> None:
        self._note("C", log_as if log_as is not None else data.decode("utf-8", "replace"))
        try:
            self._sock.settimeout(self._deadline.bound(self._op_timeout_s))
            self._sock.sendall(data)
        except OSError as exc:
            raise ProbeError(f"send failed: {exc.__class__.__name__}") from None

    def read_response(self, timeout_s: float | None = None) -> ServerResponse:
        """The next response; waits at most ``timeout_s`` (default: the per-operation
        timeout) for each read, and never past the host's deadline."""
        while True:
            try:
                response = self._parser.next_response()
            except ResponseSyntaxError as exc:
                raise ProbeError(f"not IMAP: {exc}") from None
            if response is not None:
                self._note("S", response.raw.decode("utf-8", "replace"))
                return response
            self._receive(self._op_timeout_s if timeout_s is None else timeout_s)

    def command(
        self, text: str, *, log_as: str | None = None
    ) -> tuple[list[ServerResponse], Tagged]:
        """Send ``<tag> text`` and collect responses up to its completion."""
        tag = self.next_tag()
        self.send(
            f"{tag} {text}\r\n".encode(), log_as=None if log_as is None else f"{tag} {log_as}"
        )
        return self.collect(tag)

    def collect(self, tag: str) -> tuple[list[ServerResponse], Tagged]:
        seen: list[ServerResponse] = []
        while True:
            response = self.read_response()
            if isinstance(response, Tagged) and response.tag == tag:
                return seen, response
            seen.append(response)

    def capabilities(self) -> frozenset[str]:
        responses, tagged = self.command("CAPABILITY")
        caps: set[str] = set()
        for r in [*responses, tagged]:
            found = capabilities_in(r)
            if found:
                caps |= found
        return frozenset(caps)

    def id_exchange(self) -> list[Untagged]:
        responses, _ = self.command('ID ("name" "mailfort-scan")')
        return [r for r in responses if isinstance(r, Untagged) and r.keyword == "ID"]

    def starttls(self, *, extra: bytes = b"", linger_s: float = 0.3) -> StartTlsResult:
        """Send STARTTLS (plus ``extra`` bytes pipelined in the same write) and upgrade.

        Bytes that follow the tagged OK in cleartext are returned as ``injected`` and
        discarded, never parsed as responses.
        """
        tag = self.next_tag()
        self.send(f"{tag} STARTTLS\r\n".encode() + extra)
        _, tagged = self.collect(tag)
        if tagged.status.value != "OK":
            return StartTlsResult(tagged=tagged, injected=b"", upgraded=False)
        injected = self._parser.discard_buffer()
        # A server must send nothing more before our ClientHello; give a split write a moment.
        try:
            ready, _, _ = select.select(
                [self._sock], [], [], min(linger_s, max(0.0, self._deadline.remaining()))
            )
            if ready:
                self._sock.settimeout(self._deadline.bound(self._op_timeout_s))
                more = self._sock.recv(4096)
                injected += more
        except OSError:
            pass
        if injected:
            self._note(
                "S",
                f"[{len(injected)} bytes before TLS handshake] "
                + injected.decode("utf-8", "replace"),
            )
        try:
            self._sock.settimeout(self._deadline.bound(self._op_timeout_s))
            self._sock = probe_tls_context().wrap_socket(
                self._sock, server_hostname=_sni(self.host)
            )
        except (OSError, ssl.SSLError) as exc:
            self._note("-", f"TLS handshake failed: {exc.__class__.__name__}")
            return StartTlsResult(tagged=tagged, injected=injected, upgraded=False)
        self.is_tls = True
        self._note("-", "TLS handshake completed")
        self._parser = ResponseParser(expect_greeting=False)
        return StartTlsResult(tagged=tagged, injected=injected, upgraded=True)

    def evidence(self, last: int | None = None) -> str:
        lines = self.transcript if last is None else self.transcript[-last:]
        return "\n".join(lines)

    def _receive(self, timeout_s: float) -> None:
        try:
            self._sock.settimeout(self._deadline.bound(timeout_s))
            data = self._sock.recv(65536)
        except TimeoutError:
            raise ProbeTimeout("timed out waiting for the server") from None
        except (OSError, ssl.SSLError) as exc:
            raise ProbeError(f"receive failed: {exc.__class__.__name__}") from None
        if not data:
            raise ProbeError("server closed the connection")
        try:
            self._parser.receive_data(data)
        except ResponseSyntaxError as exc:
            raise ProbeError(f"not IMAP: {exc}") from None

    def _note(self, who: str, text: str) -> None:
        for line in text.rstrip("\r\n").split("\n"):
            line = line.rstrip("\r")
            if len(line) > _MAX_TRANSCRIPT_LINE:
                line = line[:_MAX_TRANSCRIPT_LINE] + "..."
            self.transcript.append(f"{who}: {line}")


def _sni(host: str) -> str | None:
    try:
        socket.inet_pton(socket.AF_INET, host)
        return None
    except OSError:
        pass
    try:
        socket.inet_pton(socket.AF_INET6, host)
        return None
    except OSError:
        return host
