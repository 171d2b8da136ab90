"""SECURITY.md row #31 — management and side channels less hardened than IMAP.

CVE-2023-26269 / CVE-2023-51518 (Apache James: unauthenticated JMX, pre-auth deserialisation),
CVE-2021-29157 (Dovecot JWT ``kid`` path traversal), CVE-2022-45935 (Apache James: APPEND temp
files world-readable). Safe behaviour: ``mailfort serve`` listens on exactly the two configured
IMAP ports, on loopback, and nothing else (no unauthenticated admin/RPC endpoint); no file or
directory under the data directory is readable by group or others — checked while a 5 MB APPEND
is half-sent (when a spool file exists) and after it — except the public certificate.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.security.wire import Server

PUBLIC = {"cert.pem"}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _listening(pid: int) -> set[tuple[str, int]]:
    """(local address hex, port) of the process's listening TCP sockets."""
    inodes = _socket_inodes(pid)
    found = set()
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # TCP_LISTEN
                address, port = local.split(":")
                found.add((address, int(port, 16)))
    return found


def test_listens_only_on_the_configured_loopback_ports(server: Server) -> None:
    listening = _listening(server.pid)
    ports = {port for _, port in listening}
    assert ports == {server.proc.imaps_port, server.proc.imap_port}, listening
    loopback = {"0100007F", "00000000000000000000000001000000"}
    assert {address for address, _ in listening} <= loopback, listening


def _exposed(data_dir: Path) -> list[str]:
    exposed = []
    for dirpath, dirnames, filenames in os.walk(data_dir):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if name in PUBLIC or stat.S_ISLNK(mode):
                continue
            if mode & 0o077:
                exposed.append(f"{path} {stat.filemode(mode)}")
    return exposed


def test_data_files_are_private_during_and_after_append(server: Server) -> None:
    data_dir = server.proc.data_dir
    assert os.stat(data_dir).st_mode & 0o077 == 0, stat.filemode(os.stat(data_dir).st_mode)
    wire = server.login("alice")
    message = b"From: a@example.com\r\nSubject: spool\r\n\r\n" + b"s" * (5 * 1024 * 1024)
    wire.send(b"a APPEND INBOX {%d}\r\n" % len(message))
    assert wire.read_line().startswith(b"+")
    half = len(message) // 2
    wire.send(message[:half])
    # Best effort: whatever part of the message the server has spooled by now is on disk.
    during = _exposed(data_dir)
    wire.send(message[half:] + b"\r\n")
    assert wire.read_tagged("a", timeout_s=30).is_ok
    assert during == [], during
    assert _exposed(data_dir) == []
