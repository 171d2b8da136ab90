"""Scripted fake IMAP servers on 127.0.0.1 for the cases no real server here shows."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from types import TracebackType


@dataclass(frozen=True)
class Behaviour:
    greeting: bytes = b"* OK IMAP server ready\r\n"
    caps: str = "IMAP4rev1 STARTTLS LOGINDISABLED ID"
    caps_tls: str = "IMAP4rev1 AUTH=PLAIN ID"
    execute_pipelined_after_starttls: bool = False  # command injection bug
    after_starttls_ok: bytes = b""  # response injection
    plaintext_login: bool = False  # process LOGIN/AUTHENTICATE before TLS
    ntlm_challenge: bytes | None = None
    id_response: bytes = b"* ID NIL\r\n"
    extra: dict[str, bytes] = field(default_factory=dict)
    # logins: accounts that exist (name -> password); replies for wrong passwords of existing
    # users and for unknown users, and an extra delay for existing users (timing leak)
    accounts: dict[str, str] = field(default_factory=dict)
    wrong_password_reply: bytes = b"NO [AUTHENTICATIONFAILED] Authentication failed"
    unknown_user_reply: bytes = b"NO [AUTHENTICATIONFAILED] Authentication failed"
    existing_user_delay_s: float = 0.0
    # IDLE: end the session (BYE, close) this long after the continuation; None: wait for DONE
    idle_drop_after_s: float | None = None
    idle_supported: bool = True
    # after this many completed STARTTLS handshakes, accept STARTTLS but never handshake
    stall_tls_after: int | None = None


_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')


def ntlm_challenge(names: dict[int, str], target: str = "CORP") -> bytes:
    """A CHALLENGE_MESSAGE carrying target info AV pairs and a version (MS-NLMP 2.2.1.2)."""
    target_b = target.encode("utf-16-le")
    info = b""
    for av_id, value in names.items():
        v = value.encode("utf-16-le")
        info += struct.pack("<HH", av_id, len(v)) + v
    info += struct.pack("<HH", 0, 0)
    header_len = 56
    flags = 0x02000000 | 0x00800000 | 0x1
    msg = b"NTLMSSP\x00" + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(target_b), len(target_b), header_len)
    msg += struct.pack("<I", flags) + b"\x11" * 8 + b"\x00" * 8
    msg += struct.pack("<HHI", len(info), len(info), header_len + len(target_b))
    msg += struct.pack("<BBH", 10, 0, 17763) + b"\x00\x00\x00\x0f"
    return msg + target_b + info


class FakeImapServer:
    def __init__(self, behaviour: Behaviour, tls_context: ssl.SSLContext) -> None:
        self.behaviour = behaviour
        self._tls = tls_context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.received: list[bytes] = []
        self.tls_handshakes = 0
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> FakeImapServer:
        self._acceptor.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        for th in self._threads:
            th.join(timeout=5)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            th = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(th)
            th.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            self._session(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            conn.close()

    def _session(self, sock: socket.socket) -> None:
        b = self.behaviour
        sock.sendall(b.greeting)
        buf = b""
        tls = False
        pending_sasl: tuple[str, str] | None = None
        while not self._stop.is_set():
            while b"\n" not in buf:
                data = sock.recv(4096)
                if not data:
                    return
                buf += data
            line, buf = buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            self.received.append(line)
            if pending_sasl is not None:
                tag, mech = pending_sasl
                pending_sasl = None
                if line == b"*":
                    sock.sendall(tag.encode() + b" BAD aborted\r\n")
                elif (
                    mech == "NTLM"
                    and b.ntlm_challenge is not None
                    and not line.startswith(b"TlRMTVNTUAAD")
                ):
                    sock.sendall(b"+ " + base64.b64encode(b.ntlm_challenge) + b"\r\n")
                    pending_sasl = (tag, mech)
                else:
                    sock.sendall(tag.encode() + b" NO [AUTHENTICATIONFAILED] failed\r\n")
                continue
            tag, _, rest = line.decode("utf-8", "replace").partition(" ")
            verb = rest.split(" ", 1)[0].upper()
            if verb == "CAPABILITY":
                caps = b.caps_tls if tls else b.caps
                sock.sendall(f"* CAPABILITY {caps}\r\n{tag} OK done\r\n".encode())
            elif verb == "STARTTLS" and not tls:
                sock.sendall(f"{tag} OK begin TLS\r\n".encode() + b.after_starttls_ok)
                with self._lock:
                    stall = (
                        b.stall_tls_after is not None and self.tls_handshakes >= b.stall_tls_after
                    )
                if stall:
                    self._stop.wait(60)  # never answer the ClientHello (bounded by shutdown)
                    return
                sock = self._tls.wrap_socket(sock, server_side=True)
                with self._lock:
                    self.tls_handshakes += 1
                tls = True
                if not b.execute_pipelined_after_starttls:
                    buf = b""
            elif verb == "LOGIN":
                if tls or b.plaintext_login:
                    sock.sendall(tag.encode() + b" " + self._login(line) + b"\r\n")
                else:
                    sock.sendall(f"{tag} NO [PRIVACYREQUIRED] TLS required\r\n".encode())
            elif verb == "AUTHENTICATE":
                mech = rest.split(" ")[1].upper() if " " in rest else ""
                if not (tls or b.plaintext_login) and mech != "NTLM":
                    sock.sendall(f"{tag} NO [PRIVACYREQUIRED] TLS required\r\n".encode())
                else:
                    sock.sendall(b"+ \r\n")
                    pending_sasl = (tag, mech)
            elif verb == "ID":
                sock.sendall(b.id_response + f"{tag} OK ID done\r\n".encode())
            elif verb == "IDLE":
                if not b.idle_supported:
                    sock.sendall(f"{tag} BAD unknown command\r\n".encode())
                    continue
                sock.sendall(b"+ idling\r\n")
                if b.idle_drop_after_s is not None:
                    if not self._stop.wait(b.idle_drop_after_s):  # the server's own timer
                        sock.sendall(b"* BYE idle timeout\r\n")
                    return
                while b"\n" not in buf:
                    data = sock.recv(4096)
                    if not data:
                        return
                    buf += data
                done, buf = buf.split(b"\n", 1)
                self.received.append(done.rstrip(b"\r"))
                sock.sendall(f"{tag} OK IDLE terminated\r\n".encode())
            elif verb == "LOGOUT":
                sock.sendall(f"* BYE bye\r\n{tag} OK bye\r\n".encode())
                return
            else:
                sock.sendall(f"{tag} OK {verb} done\r\n".encode())

    def _login(self, line: bytes) -> bytes:
        """The tagged reply (without tag) to a LOGIN line with quoted arguments."""
        b = self.behaviour
        args = [
            re.sub(rb"\\(.)", rb"\1", m).decode("utf-8", "replace") for m in _QUOTED.findall(line)
        ]
        if len(args) != 2:
            return b"BAD expected quoted user and password"
        user, password = args
        if user not in b.accounts:
            return b.unknown_user_reply
        if b.existing_user_delay_s:
            self._stop.wait(b.existing_user_delay_s)  # simulates a slow password hash
        if b.accounts[user] == password:
            return b"OK LOGIN completed"
        return b.wrong_password_reply
