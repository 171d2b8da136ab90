"""fetchmail retrieves over implicit TLS (and over STARTTLS) with strict certificate checking
and hands each message to an MDA; the bytes that arrive are the bytes that were appended
(8-bit text, dot lines, "From " lines, trailing blanks, a 300 KB attachment). ``keep`` leaves
the mail on the server."""

from __future__ import annotations

import base64
import hashlib
import shlex
import sys
from pathlib import Path
from typing import Final

import pytest
from tests.clients.imapsession import make_message
from tests.clients.processes import RunningServer, client_env, run_tool

pytestmark = [pytest.mark.clients, pytest.mark.tools("fetchmail")]

MDA_SCRIPT: Final = """\
import sys, uuid, pathlib
data = sys.stdin.buffer.read()
(pathlib.Path(sys.argv[1]) / uuid.uuid4().hex).write_bytes(data)
"""


def _messages() -> list[bytes]:
    blob = hashlib.shake_256(b"mailfort").digest(300 * 1024)
    attachment = base64.encodebytes(blob).replace(b"\n", b"\r\n")
    return [
        make_message("fetchmail plain"),
        make_message("fetchmail 8bit", extra_headers=["Content-Transfer-Encoding: 8bit"],
                     raw_body="Gr\u00fc\u00dfe aus K\u00f6ln \u2014 na\u00efve\r\n".encode()
                     + b"latin-1 bytes: \xe9\xe8\xff\r\n"),
        make_message("fetchmail edges",
                     raw_body=b"From the start of a line\r\n.\r\n..\r\n.leading dot\r\n"
                              b"trailing blanks   \r\n\tand a tab\r\n\r\n\r\nend\r\n"),
        make_message(
            "fetchmail attachment",
            extra_headers=['Content-Type: multipart/mixed; boundary="b1"'],
            raw_body=b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b1\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment
                     + b"--b1--\r\n"),
    ]


@pytest.mark.parametrize("tls_mode", ["imaps", "starttls"])
def test_fetchmail_retrieves_intact_bytes(tmp_path: Path, server: RunningServer,
                                          client_home: Path, tls_mode: str) -> None:
    account = server.account
    messages = _messages()
    with account.connect() as session:
        session.select("INBOX")
        old = list(session.fetch_all(with_body=False))
        if old:  # left by the other parametrization: start from an empty INBOX
            session.uid_store(old, "+FLAGS.SILENT", ["\\Deleted"])
            session.expunge()
        for body in messages:
            session.append("INBOX", body)
    if tls_mode == "imaps":   # implicit TLS (RFC 8314)
        port, tls_args = account.port, ["--ssl"]
    else:                     # STARTTLS on the plain port, mandatory with sslproto tls1.2+
        port, tls_args = server.process.imap_port, ["--sslproto", "tls1.2+"]

    inbox = tmp_path / "delivered"
    inbox.mkdir()
    mda = tmp_path / "mda.py"
    mda.write_text(MDA_SCRIPT)
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        f"poll {account.tls_name} with proto IMAP port {port}\n"
        f'  user "{account.user}" there with password "{account.password}"\n'
        "  fetchall\n"
    )
    rc.chmod(0o600)  # fetchmail refuses a run control file others can read
    mda_command = f"{shlex.quote(sys.executable)} {shlex.quote(str(mda))} " \
                  f"{shlex.quote(str(inbox))}"
    run_tool(["fetchmail", "-f", str(rc), "--nodetach", "-k", "--invisible", *tls_args,
              "--sslcertfile", str(account.cert_path), "--sslcertck",
              "--pidfile", str(tmp_path / "fetchmail.pid"), "--mda", mda_command],
             env=client_env(client_home, FETCHMAILHOME=str(tmp_path)),
             server_log=server.log_path)

    delivered = sorted(p.read_bytes() for p in inbox.iterdir())
    assert len(delivered) == len(messages)
    # With an MDA fetchmail delivers LF line ends (stripcr); nothing else may change.
    expected = sorted(m.replace(b"\r\n", b"\n") for m in messages)
    for got, want in zip(delivered, expected, strict=True):
        assert got == want

    # -k: the mail is still on the server, unchanged.
    with account.connect() as session:
        session.select("INBOX")
        on_server = sorted(m.body for m in session.fetch_all().values())
    assert on_server == sorted(messages)
