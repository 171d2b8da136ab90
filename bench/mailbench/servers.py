"""The two servers under test, each a private subprocess on loopback ports with its own
directory: Mailfort (``python -m mailfort.cli.main --config X serve``) and Dovecot (Debian's
``dovecot-imapd`` with a config written here: Maildir, a passwd-file, implicit TLS).

Both get the same certificate (ECDSA P-256, made with ``openssl`` once per run), the same users
and passwords, and the same password scheme: Argon2id at Mailfort's parameters, or a cheap one
(``{PLAIN}`` for Dovecot, the cheapest Argon2id Mailfort accepts) so protocol cost shows apart
from hashing. Mailboxes are seeded before a server starts: Mailfort through its store API (the
same parse-and-commit path as delivery), Dovecot by writing Maildir files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from argon2 import PasswordHasher
from argon2.low_level import Type

__all__ = ["Scheme", "ARGON2", "CHEAP", "Account", "Server", "MailfortServer", "DovecotServer",
           "make_certificate", "free_port", "server_pids"]

HOST: Final = "127.0.0.1"
START_TIMEOUT_S: Final = 60.0
DOVECOT: Final = "/usr/sbin/dovecot"


@dataclass(frozen=True, slots=True)
class Scheme:
    name: str
    memory_kib: int
    time_cost: int
    dovecot_plain: bool  # Dovecot's cheap scheme is {PLAIN}


ARGON2: Final = Scheme("argon2id m=19456 t=2 p=1", 19456, 2, False)
CHEAP: Final = Scheme("cheap (Dovecot PLAIN, Mailfort argon2id m=1024 t=1)", 1024, 1, True)


# account name -> its messages (raw bytes, internal date), in order
Seeds = dict[str, Callable[[], Iterator[tuple[bytes, dt.datetime]]]]


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    password: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"server exited ({proc.returncode}): {tail}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {HOST}:{port}") from None
            time.sleep(0.05)  # polling a port, bounded by the deadline


def make_certificate(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj",
         # mbsync 1.4 matches the host string against the CN and DNS names textually.
         "/CN=127.0.0.1", "-addext",
         "subjectAltName=DNS:127.0.0.1,DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def argon2_hash(password: str, scheme: Scheme) -> str:
    hasher = PasswordHasher(time_cost=scheme.time_cost, memory_cost=scheme.memory_kib,
                            parallelism=1, type=Type.ID)
    return hasher.hash(password)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def server_pids(root_pid: int) -> list[int]:
    """``root_pid`` and all its descendants (Dovecot forks a process tree)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class Server(Protocol):
    label: str
    port: int

    def pids(self) -> list[int]: ...
    def version(self) -> str: ...


@dataclass
class MailfortServer:
    root: Path
    cert: Path
    key: Path
    label: str = "mailfort"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    scheme: Scheme = ARGON2
    profiler: Sequence[str] = ()  # a command prefix, e.g. py-spy record ... --

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "mailfort.toml").write_text(f"""\
[server]
imaps_listen = "{HOST}:{self.port}"
imap_listen = ""
max_connections = 30000

[tls]
cert_file = "{self.cert}"
key_file = "{self.key}"

[storage]
data_dir = "data"

[auth]
argon2_memory_kib = {self.scheme.memory_kib}
argon2_time_cost = {self.scheme.time_cost}
argon2_parallelism = 1

[log]
level = "WARNING"

[guard]
max_connections_per_address = 30000
max_pre_auth_per_address = 30000
trusted = ["127.0.0.0/8"]
""")

    def version(self) -> str:
        try:
            from importlib.metadata import version
            return f"mailfort {version('mailfort')}"
        except Exception:  # noqa: BLE001 - best effort for the report
            return "mailfort (unknown version)"

    async def _with_store(self, accounts: Iterable[Account], seeds: Seeds,
                          create: bool) -> None:
        from mailfort.service.delivery import deliver
        from mailfort.store.sqlite import open_sqlite_store
        from mailfort.store.types import MailboxId

        store = await open_sqlite_store(self.data_dir)
        try:
            for account in accounts:
                hashed = argon2_hash(account.password, self.scheme)
                user = await store.users.get(account.name)
                if user is None and create:
                    user = await store.users.create(account.name, hashed)
                elif user is not None:
                    await store.users.set_password_hash(user.id, hashed)
                assert user is not None
                make = seeds.get(account.name)
                if make is not None:
                    box = await store.mailboxes.get(user.id, "INBOX")
                    assert box is not None
                    # A few deliveries in flight let the store's writer commit while the next
                    # message is parsed; order of UIDs still follows the corpus closely.
                    sem = asyncio.Semaphore(16)
                    box_id = box.id

                    async def one(raw: bytes, when: dt.datetime, box_id: MailboxId = box_id,
                                  sem: asyncio.Semaphore = sem) -> None:
                        try:
                            await deliver(store, box_id, raw, internal_date=when)
                        finally:
                            sem.release()

                    tasks = []
                    for raw, when in make():
                        await sem.acquire()
                        tasks.append(asyncio.create_task(one(raw, when)))
                    await asyncio.gather(*tasks)
        finally:
            await store.close()

    def seed(self, accounts: Sequence[Account], seeds: Seeds) -> None:
        """Create accounts and deliver messages (server stopped)."""
        self.write_config()
        asyncio.run(self._with_store(accounts, seeds, True))

    def set_scheme(self, scheme: Scheme, accounts: Sequence[Account]) -> None:
        """Rehash every account at ``scheme`` and configure the server for it (stopped)."""
        self.scheme = scheme
        self.write_config()
        asyncio.run(self._with_store(accounts, {}, False))

    def start(self) -> None:
        self.write_config()
        log = self.log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        argv = [*self.profiler, sys.executable, "-m", "mailfort.cli.main", "--config",
                str(self.root / "mailfort.toml"), "serve"]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.root, stdin=subprocess.DEVNULL)
        log.close()
        _wait_port(self.port, self.proc, self.log_path)

    def stop(self) -> None:
        if self.proc is not None and self.profiler:
            # py-spy writes its profile when the target exits; signal the target itself.
            for pid in server_pids(self.proc.pid)[1:]:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        _stop(self.proc)
        self.proc = None

    def pids(self) -> list[int]:
        if self.proc is None:
            return []
        pids = server_pids(self.proc.pid)
        return pids[1:] if self.profiler else pids


def _maildir_name(n: int, size: int, seen: bool) -> str:
    return f"{1700000000 + n}.M{n}P1.bench,S={size}:2,{'S' if seen else ''}"


@dataclass
class DovecotServer:
    root: Path
    cert: Path
    key: Path
    label: str = "dovecot"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    scheme: Scheme = ARGON2
    mail_user: str = "nobody"
    accounts: list[Account] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def version(self) -> str:
        out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True,
                             timeout=30, check=False)
        return f"dovecot {out.stdout.strip()}"

    def _passwd(self) -> None:
        import pwd
        pw = pwd.getpwnam(self.mail_user)
        lines = []
        for acct in self.accounts:
            hashed = "{PLAIN}" + acct.password if self.scheme.dovecot_plain \
                else "{ARGON2ID}" + argon2_hash(acct.password, self.scheme)
            lines.append(f"{acct.name}:{hashed}:{pw.pw_uid}:{pw.pw_gid}::"
                         f"{self.root}/mail/{acct.name}::")
        (self.root / "passwd").write_text("\n".join(lines) + "\n")

    def write_config(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._passwd()
        (self.root / "dovecot.conf").write_text(f"""\
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log_path}
info_log_path = {self.root}/dovecot-info.log
protocols = imap
listen = {HOST}
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{self.key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
mail_max_userip_connections = 100000
default_process_limit = 30000
default_client_limit = 60000
default_vsz_limit = 1G
passdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.port}
    ssl = yes
  }}
  process_limit = 30000
}}
service imap {{
  process_limit = 30000
}}
service anvil {{
  chroot =
  client_limit = 70000
}}
service auth {{
  user = root
  client_limit = 70000
}}
service auth-worker {{
  user = root
}}
""")

    def seed(self, accounts: Sequence[Account], seeds: Seeds) -> None:
        self.accounts = list(accounts)
        self.write_config()
        for acct in accounts:
            md = self.root / "mail" / acct.name / "Maildir"
            for sub in ("cur", "new", "tmp"):
                (md / sub).mkdir(parents=True, exist_ok=True)
            make = seeds.get(acct.name)
            for n, (raw, when) in enumerate(make() if make is not None else ()):
                path = md / "cur" / _maildir_name(n, len(raw), False)
                path.write_bytes(raw)
                stamp = when.timestamp()
                os.utime(path, (stamp, stamp))  # Maildir's INTERNALDATE is the mtime
        self.chown_mail()

    def chown_mail(self) -> None:
        import pwd
        pw = pwd.getpwnam(self.mail_user)
        subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(self.root / "mail")],
                       check=True, timeout=600)

    def set_scheme(self, scheme: Scheme, accounts: Sequence[Account]) -> None:
        self.scheme = scheme
        self.accounts = list(accounts)
        self._passwd()

    def start(self) -> None:
        self.write_config()
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        _wait_port(self.port, self.proc, self.log_path)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def pids(self) -> list[int]:
        return server_pids(self.proc.pid) if self.proc is not None else []


def have_dovecot() -> bool:
    return Path(DOVECOT).exists() and shutil.which("openssl") is not None


__all__ += ["have_dovecot", "argon2_hash"]
