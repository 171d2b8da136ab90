"""A private Dovecot instance for the scanner's tests: own config in a temp dir, loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import make_cert

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)
START_TIMEOUT_S = 15.0
# Dovecot counts a connection whose remote IP equals its local IP as "secured" and then allows
# plaintext authentication whatever the settings say. With both ends on 127.0.0.1 the hardened
# profile could never be told apart from the weak one, so the private instance listens on
# another loopback address: the kernel then picks 127.0.0.1 as our source address.
LISTEN = "127.0.0.2"
ACCOUNT = ("alice", "correct-horse-battery")  # the fixture's only account (user, password)


def require_dovecot() -> str:
    """The binary; under CI a missing binary fails the test instead of skipping it."""
    if DOVECOT is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("dovecot binary missing under CI (apt-get install dovecot-imapd)")
        pytest.skip("dovecot not installed (apt-get install dovecot-imapd)")
    if os.geteuid() != 0:
        pytest.skip("the private Dovecot fixture runs dovecot as root")
    return DOVECOT


@dataclass(frozen=True)
class DovecotInstance:
    host: str
    imap_port: int
    imaps_port: int
    ca_file: Path | None


def _free_port() -> int:
    with socket.create_server((LISTEN, 0)) as s:
        return int(s.getsockname()[1])


WEAK = """
ssl = yes
ssl_min_protocol = TLSv1
ssl_cipher_list = ALL:@SECLEVEL=0
ssl_prefer_server_ciphers = no
disable_plaintext_auth = no
auth_mechanisms = plain login
imap_id_send = name * version *
"""

HARDENED = """
ssl = required
ssl_min_protocol = TLSv1.2
ssl_cipher_list = ECDHE+AESGCM:ECDHE+CHACHA20
ssl_prefer_server_ciphers = yes
disable_plaintext_auth = yes
auth_mechanisms = plain
login_greeting = ready
imap_id_send =
"""


def _config(
    root: Path,
    profile: str,
    certs: tuple[Path, Path],
    ports: tuple[int, int],
    failure_delay_s: int,
    auth_penalty: bool,
) -> str:
    cert, key = certs
    imap, imaps = ports
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {LISTEN}
ssl_cert = <{cert}
ssl_key = <{key}
auth_failure_delay = {failure_delay_s} secs
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid=root gid=root home={root}/mail/%u
}}
service imap-login {{
  chroot =
  # "high-performance mode": no new login process per connection (sslyze opens hundreds)
  service_count = 0
  process_min_avail = 2
  inet_listener imap {{
    address = {LISTEN}
    port = {imap}
  }}
  inet_listener imaps {{
    address = {LISTEN}
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = {"0600" if auth_penalty else "0"}
  }}
}}
service auth {{
  user = root
}}
service auth-worker {{
  user = root
}}
{profile}
"""


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection((LISTEN, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # bounded poll for the listener, not a synchronisation guess
    raise TimeoutError(f"dovecot did not listen on {port} within {START_TIMEOUT_S}s")


@contextmanager
def run_dovecot(
    root: Path, *, hardened: bool, failure_delay_s: int = 0, auth_penalty: bool = False
) -> Iterator[DovecotInstance]:
    """Start a private Dovecot with one account (``ACCOUNT``).

    ``failure_delay_s`` is its ``auth_failure_delay`` and ``auth_penalty`` its per-IP growing
    delay (anvil). Dovecot's defaults are 2 s and on; both profiles turn them off so that the
    scan's random-credential probes stay fast, and the brute-force tests turn them on.
    """
    binary = require_dovecot()
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    certs = make_cert(root / "tls", expired=not hardened, self_signed=not hardened)
    (root / "passwd").write_text(f"{ACCOUNT[0]}:{{PLAIN}}{ACCOUNT[1]}\n")
    imap, imaps = _free_port(), _free_port()
    conf = root / "dovecot.conf"
    conf.write_text(
        _config(
            root,
            HARDENED if hardened else WEAK,
            (certs.cert, certs.key),
            (imap, imaps),
            failure_delay_s,
            auth_penalty,
        )
    )
    proc = subprocess.Popen(  # noqa: S603 - our own binary path and config file
        [binary, "-F", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(imap, proc, root / "dovecot.log")
        _wait_for_port(imaps, proc, root / "dovecot.log")
        yield DovecotInstance(LISTEN, imap, imaps, certs.ca if hardened else None)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
