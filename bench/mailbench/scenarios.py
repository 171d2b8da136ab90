"""The benchmark's scenarios. Each takes a running server and returns plain figures (a dict of
name -> number or text) so the runner can print both servers side by side. Every loop is bounded
in time and count; all traffic goes to 127.0.0.1 (several 127.x source addresses are used so a
per-address connection limit does not cap the load)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import re
import resource
import ssl
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import corpus
from .client import ImapClient, ImapError, client_ssl_context, connect
from .servers import HOST, Account

__all__ = ["Latencies", "mixed", "idle", "big_mailbox", "mbsync", "append_rate", "logins",
           "memory_of", "raise_nofile"]

Figures = dict[str, float | int | str]
OP_TIMEOUT_S = 60.0


@dataclass
class Latencies:
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    first_error: dict[str, str] = field(default_factory=dict)

    def add(self, op: str, seconds: float) -> None:
        self.samples.setdefault(op, []).append(seconds)

    def error(self, op: str) -> None:
        self.errors[op] = self.errors.get(op, 0) + 1

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ssl() -> ssl.SSLContext:
    return client_ssl_context()


def raise_nofile(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# --------------------------------------------------------------------------------- scenario 1

async def _timed(lat: Latencies, op: str, client: ImapClient, text: str,
                 literal: bytes | None = None) -> bytes | None:
    start = time.perf_counter()
    try:
        reply = await asyncio.wait_for(client.command(text, literal, keep=op != "FETCH body",
                                                      check=False), OP_TIMEOUT_S)
    except (TimeoutError, ImapError, OSError, ssl.SSLError):
        lat.error(op)
        raise
    lat.add(op, time.perf_counter() - start)
    if reply.status != b"OK":
        lat.error(op)
        lat.first_error.setdefault(op, (reply.status + b" " + reply.text)[:80].decode(
            errors="replace"))
        return None
    return b"".join(reply.untagged)


async def _mixed_client(k: int, port: int, account: Account, deadline: float,
                        lat: Latencies, messages: Sequence[bytes], max_loops: int) -> None:
    rng = random.Random(k)
    local = f"127.0.0.{1 + k % 4}"
    for _ in range(max_loops):
        if time.perf_counter() >= deadline:
            return
        try:
            start = time.perf_counter()
            c = await connect(HOST, port, _ssl(), local_addr=local)
            lat.add("connect+TLS", time.perf_counter() - start)
        except (TimeoutError, OSError, ssl.SSLError, ImapError):
            lat.error("connect+TLS")
            await asyncio.sleep(0.05)  # back off before reconnecting, bounded by the deadline
            continue
        try:
            await _timed(lat, "LOGIN", c, f'LOGIN "{account.name}" "{account.password}"')
            await _timed(lat, "LIST", c, 'LIST "" "*"')
            await _timed(lat, "STATUS", c, "STATUS INBOX (MESSAGES UNSEEN)")
            await _timed(lat, "SELECT", c, "SELECT INBOX")
            n = c.exists
            if n > 0:
                lo = rng.randint(1, n)
                hi = min(n, lo + 9)
                await _timed(lat, "FETCH flags", c, f"FETCH {lo}:{hi} (UID FLAGS)")
                await _timed(lat, "FETCH body", c, f"FETCH {rng.randint(1, n)} (BODY.PEEK[])")
                await _timed(lat, "STORE", c, f"STORE {rng.randint(1, n)} +FLAGS (\\Seen)")
                await _timed(lat, "STORE deleted", c,
                             f"STORE {rng.randint(1, n)} +FLAGS (\\Deleted)")
                await _timed(lat, "EXPUNGE", c, "EXPUNGE")
            await _timed(lat, "APPEND", c, "APPEND INBOX", rng.choice(messages))
            await _timed(lat, "LOGOUT", c, "LOGOUT")
        except (TimeoutError, ImapError, OSError, ssl.SSLError):
            pass
        finally:
            await c.close()


async def mixed(port: int, accounts: Sequence[Account], clients: int, duration_s: float,
                messages: Sequence[bytes]) -> Figures:
    """imaptest-like loop: LOGIN, LIST, STATUS, SELECT, FETCH flags, FETCH a body, STORE
    \\Seen, STORE \\Deleted, EXPUNGE, APPEND, LOGOUT; ``clients`` at once for ``duration_s``."""
    lat = Latencies()
    start = time.perf_counter()
    deadline = start + duration_s
    await asyncio.gather(*(
        _mixed_client(k, port, accounts[k % len(accounts)], deadline, lat, messages, 100_000)
        for k in range(clients)))
    elapsed = time.perf_counter() - start
    out: Figures = {}
    total = 0
    for op, values in lat.samples.items():
        if op == "connect+TLS":
            continue
        total += len(values)
        out[f"{op} ops/s"] = len(values) / elapsed
        out[f"{op} p50 ms"] = Latencies.pct(values, 0.5) * 1000
        out[f"{op} p99 ms"] = Latencies.pct(values, 0.99) * 1000
    out["all commands ops/s"] = total / elapsed
    non_login = [v for op, vs in lat.samples.items()
                 if op not in ("LOGIN", "connect+TLS") for v in vs]
    out["non-login p99 ms"] = Latencies.pct(non_login, 0.99) * 1000
    out["errors"] = sum(lat.errors.values())
    if lat.errors:
        out["errors by command"] = ", ".join(f"{k}={v}" for k, v in sorted(lat.errors.items()))
        out["first error text"] = "; ".join(f"{k}: {v}" for k, v in lat.first_error.items())
    return out


# --------------------------------------------------------------------------------- scenario 2

def memory_of(pids: Sequence[int]) -> tuple[int, int]:
    """(RSS, PSS) in bytes, summed over ``pids`` (from /proc/PID/smaps_rollup)."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return rss, pss


def cpu_of(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far, summed over ``pids`` (from /proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        except (OSError, ValueError, IndexError):
            continue
    return total / tick


def own_cpu() -> float:
    """CPU seconds used so far by this process (the load generator)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# Dovecot forks two processes per IDLE session (about 1.8 MB PSS each pair here): at 10,000
# sessions it can exhaust a shared machine's RAM. Opening stops below this much MemAvailable
# and the figures say how many sessions were reached.
MEM_FLOOR_BYTES = int(os.environ.get("MAILBENCH_MEM_FLOOR_MB", "4096")) * 2**20


def mem_available() -> int:
    """MemAvailable from /proc/meminfo in bytes (a large number if it cannot be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 1 << 62


class _ExistsWatch(asyncio.Protocol):
    """Reads an idler's socket once the APPEND is under way: notes when an ``* n EXISTS`` with
    ``n > above`` arrives, and resolves ``done`` when the last of ``total`` idlers has one."""

    def __init__(self, above: int, reached: list[float], total: int,
                 done: asyncio.Future[None]) -> None:
        self.above = above
        self.reached = reached
        self.total = total
        self.done = done
        self.start = 0.0
        self.tail = b""
        self.has_it = False

    def data_received(self, data: bytes) -> None:
        if self.has_it:
            return
        text = self.tail + data
        for m in _EXISTS_LINE.finditer(text):
            if int(m.group(1)) > self.above:
                self.has_it = True
                self.reached.append(time.perf_counter() - self.start)
                if len(self.reached) == self.total and not self.done.done():
                    self.done.set_result(None)
                return
        self.tail = text[-64:]

    def connection_lost(self, exc: Exception | None) -> None:
        pass


_EXISTS_LINE = re.compile(rb"\* (\d+) EXISTS\r\n")


def _status_messages(untagged: list[bytes]) -> int:
    for line in untagged:
        m = re.search(rb"\(MESSAGES (\d+)\)", line)
        if m is not None:
            return int(m.group(1))
    raise ImapError("STATUS gave no MESSAGES")


def _idle_source(i: int) -> str:
    # 20 sessions per source address: under any per-(user, address) limit.
    block = i // 20
    return f"127.1.{block // 250}.{block % 250 + 1}"


async def idle(port: int, account: Account, sessions: int, pids_of: object,
               settle_s: float = 2.0) -> Figures:
    """``sessions`` logged in with INBOX selected, in IDLE over TLS; memory per session and
    the time for one APPEND to reach every idler."""
    assert callable(pids_of)
    raise_nofile(sessions + 1000)
    before = memory_of(pids_of())
    # The APPENDing connection logs in first: a first login from a new network makes Mailfort
    # deliver a "new sign-in" notice to INBOX, which must not race the APPEND being timed.
    writer = await connect(HOST, port, _ssl())
    await asyncio.wait_for(writer.login(account.name, account.password), OP_TIMEOUT_S)
    clients: list[ImapClient] = []
    sem = asyncio.Semaphore(64)
    failures = 0
    low_memory_at = -1  # sessions open when MemAvailable fell under the floor

    async def open_one(i: int) -> None:
        nonlocal failures, low_memory_at
        async with sem:
            if low_memory_at >= 0:
                return
            if mem_available() < MEM_FLOOR_BYTES:
                low_memory_at = len(clients)
                return
            try:
                c = await connect(HOST, port, _ssl(), local_addr=_idle_source(i))
                await asyncio.wait_for(c.login(account.name, account.password), OP_TIMEOUT_S)
                await asyncio.wait_for(c.command("SELECT INBOX", keep=False), OP_TIMEOUT_S)
                await asyncio.wait_for(c.idle_start(), OP_TIMEOUT_S)
                clients.append(c)
            except (TimeoutError, ImapError, OSError, ssl.SSLError):
                failures += 1

    start = time.perf_counter()
    await asyncio.gather(*(open_one(i) for i in range(sessions)))
    setup_s = time.perf_counter() - start
    await asyncio.sleep(settle_s)  # let the servers' allocators settle before measuring
    after = memory_of(pids_of())
    n = max(1, len(clients))
    out: Figures = {
        "sessions in IDLE": len(clients),
        "failed sessions": failures,
        "stopped at memory floor": (f"{low_memory_at} open, MemAvailable < "
                                    f"{MEM_FLOOR_BYTES >> 20} MB") if low_memory_at >= 0
        else "no",
        "setup s": setup_s,
        "server processes": len(pids_of()),
        "RSS per session KB": (after[0] - before[0]) / n / 1024,
        "PSS per session KB": (after[1] - before[1]) / n / 1024,
        "total RSS MB": after[0] / 2**20,
        "total PSS MB": after[1] / 2**20,
    }
    # One APPEND from another connection; time until every idler has seen the new EXISTS.
    # Every idler waits for the EXISTS of the mailbox's size after the APPEND (absolute, so an
    # EXISTS still unread in an idler's socket from setup cannot end its wait early).
    status = await asyncio.wait_for(writer.command("STATUS INBOX (MESSAGES)"), OP_TIMEOUT_S)
    size_before = _status_messages(status.untagged)
    message = corpus.message(99, 0, max_bytes=8192).raw
    pids = pids_of()  # Dovecot's processes are all there already (one pair per session)
    # The load generator's own collector would otherwise walk its 10,000 clients' objects in
    # the middle of the measurement: move them out of its reach until the figures are taken.
    gc.collect()
    gc.freeze()
    # From here each idler's socket is read by a bare protocol that notes the arrival time of
    # the awaited EXISTS in data_received: no task, no stream reader, no line splitting per
    # idler, so the figure is the servers' and not the Python client's.
    reached: list[float] = []
    all_reached = asyncio.get_running_loop().create_future()
    watchers = [_ExistsWatch(size_before, reached, len(clients), all_reached)
                for _ in clients]
    for c, w in zip(clients, watchers, strict=True):
        c.writer.transport.set_protocol(w)
    server_cpu, client_cpu = cpu_of(pids), own_cpu()
    start = time.perf_counter()
    for w in watchers:
        w.start = start
    await writer.command("APPEND INBOX", message)
    append_s = time.perf_counter() - start
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(all_reached), 30)
    # CPU spent between the APPEND and the last idler's EXISTS, by each side: the load
    # generator shares the 2 cores, and reading 10,000 TLS sockets costs it too.
    out["server CPU for the fan-out ms"] = (cpu_of(pids) - server_cpu) * 1000
    out["load generator CPU for the fan-out ms"] = (own_cpu() - client_cpu) * 1000
    out["APPEND ms"] = append_s * 1000
    gc.unfreeze()
    out["idlers reached"] = len(reached)
    out["APPEND reached all idlers ms"] = (max(reached) if reached else float("nan")) * 1000
    out["APPEND reached p50 idler ms"] = Latencies.pct(reached, 0.5) * 1000
    await writer.command("LOGOUT")
    await writer.close()
    for c in clients:  # their streams no longer own the transports (see _ExistsWatch)
        c.writer.transport.close()
    return out


# --------------------------------------------------------------------------------- scenario 3

BIG_COMMANDS: tuple[tuple[str, str], ...] = (
    ("SEARCH TEXT", f'SEARCH TEXT "{corpus.NEEDLE}"'),
    ("SEARCH FROM", f'SEARCH FROM "{corpus.NEEDLE_SENDER}"'),
    ("SEARCH SINCE", f"SEARCH SINCE {corpus.SINCE_DATE.strftime('%d-%b-%Y')}"),
    ("UID FETCH 1:* (FLAGS)", "UID FETCH 1:* (FLAGS)"),
    ("FETCH 1:* (ENVELOPE BODYSTRUCTURE)", "FETCH 1:* (ENVELOPE BODYSTRUCTURE)"),
    ("FETCH 1:* BODY.PEEK[]", "FETCH 1:* (BODY.PEEK[])"),
)


async def big_mailbox(port: int, account: Account, repeats: int = 2) -> Figures:
    """Each command ``repeats`` times on one connection: the first run is cold (server caches
    empty), the best of the later ones warm. Time and received bytes per second."""
    c = await connect(HOST, port, _ssl())
    await c.login(account.name, account.password)
    out: Figures = {}
    start = time.perf_counter()
    await asyncio.wait_for(c.command("SELECT INBOX", keep=False), 600)
    out["SELECT s"] = time.perf_counter() - start
    out["messages"] = c.exists
    for label, command in BIG_COMMANDS:
        times = []
        nbytes = 0
        result = ""
        for _ in range(repeats if "BODY.PEEK" not in label else 1):
            start = time.perf_counter()
            reply = await asyncio.wait_for(c.command(command, keep=label.startswith("SEARCH")),
                                           900)
            times.append(time.perf_counter() - start)
            nbytes = reply.nbytes
            if label.startswith("SEARCH"):
                hits = b"".join(reply.untagged).split()
                result = str(max(0, len(hits) - 2))
        out[f"{label} cold s"] = times[0]
        out[f"{label} warm s"] = min(times[1:]) if len(times) > 1 else times[0]
        if not label.startswith("SEARCH"):
            out[f"{label} MB/s"] = nbytes / min(times) / 2**20
        if result:
            out[f"{label} hits"] = result
    await c.command("LOGOUT")
    await c.close()
    return out


# --------------------------------------------------------------------------------- scenario 4

def _mbsync_rc(work: Path, port: int, account: Account, cert: Path) -> Path:
    (work / "maildir").mkdir(parents=True, exist_ok=True)
    (work / "pass").write_text(account.password)
    rc = work / "mbsyncrc"
    rc.write_text(f"""\
IMAPAccount bench
Host {HOST}
Port {port}
User {account.name}
PassCmd "cat {work / 'pass'}"
SSLType IMAPS
CertificateFile {cert}
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {work / 'maildir'}/
Inbox {work / 'maildir'}/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""")
    return rc


def mbsync(port: int, account: Account, cert: Path, work: Path) -> Figures:
    """First sync of INBOX into an empty Maildir, then a resync with nothing changed."""
    rc = _mbsync_rc(work, port, account, cert)
    env = {"HOME": str(work), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LC_ALL": "C.UTF-8"}
    out: Figures = {}
    resyncs: list[float] = []
    for label in ("first sync s", "resync s", "resync s", "resync s"):
        if label == "resync s":
            # mbsync's Maildir side will not trust a directory changed within the current
            # second (it waits the second out: a flat 1 s on top of whatever the server
            # takes). A resync "with nothing changed" is a later one: start it 1.5 s on.
            time.sleep(1.5)
        start = time.perf_counter()
        result = subprocess.run(["mbsync", "-c", str(rc), "-q", "bench"], env=env,
                                capture_output=True, text=True, timeout=1800, check=False)
        took = time.perf_counter() - start
        if label == "resync s":
            resyncs.append(took)
        else:
            out[label] = took
        if result.returncode != 0:
            out[f"{label} error"] = (result.stderr or result.stdout)[-200:].strip()
    out["resync s"] = sorted(resyncs)[len(resyncs) // 2]  # median of 3
    out["resync s, each"] = " / ".join(f"{t:.3f}" for t in resyncs)
    cur = work / "maildir" / "INBOX" / "cur"
    new = work / "maildir" / "INBOX" / "new"
    out["messages synced"] = sum(len(os.listdir(d)) for d in (cur, new) if d.exists())
    return out


# --------------------------------------------------------------------------------- scenario 5

async def append_rate(port: int, account: Account, total: int, buckets: int,
                      messages: Sequence[bytes], time_limit_s: float) -> Figures:
    """APPENDs one after another on one connection (each answered only once durable) into
    ``account``'s INBOX, reporting the rate per bucket of ``total / buckets`` messages."""
    c = await connect(HOST, port, _ssl())
    await c.login(account.name, account.password)
    await c.command("SELECT INBOX", keep=False)
    start_count = c.exists
    per = max(1, total // buckets)
    out: Figures = {}
    deadline = time.perf_counter() + time_limit_s
    done = 0
    overall = time.perf_counter()
    lat: list[float] = []
    for b in range(buckets):
        t0 = time.perf_counter()
        for i in range(per):
            s = time.perf_counter()
            await c.command("APPEND INBOX", messages[(b * per + i) % len(messages)])
            lat.append(time.perf_counter() - s)
        done += per
        out[f"msgs/s at {start_count + b * per}-{start_count + done}"] = \
            per / (time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            out["stopped early at"] = start_count + done
            break
    out["overall msgs/s"] = done / (time.perf_counter() - overall)
    out["APPEND p99 ms"] = Latencies.pct(lat, 0.99) * 1000
    await c.command("LOGOUT")
    await c.close()
    return out


# --------------------------------------------------------------------------------- scenario 6

async def _login_loop(port: int, accounts: Sequence[Account], deadline: float,
                      lat: list[float], errors: list[int], k: int, local: str) -> None:
    for i in range(100_000):
        if time.perf_counter() >= deadline:
            return
        acct = accounts[(k + i) % len(accounts)]
        try:
            c = await connect(HOST, port, _ssl(), local_addr=local)
        except (TimeoutError, OSError, ssl.SSLError, ImapError):
            errors[0] += 1
            await asyncio.sleep(0.05)  # back off, bounded by the deadline
            continue
        try:
            s = time.perf_counter()
            reply = await asyncio.wait_for(c.command(
                f'LOGIN "{acct.name}" "{acct.password}"', check=False), OP_TIMEOUT_S)
            if reply.status == b"OK":
                lat.append(time.perf_counter() - s)
            else:
                errors[0] += 1
            await asyncio.wait_for(c.command("LOGOUT", check=False), OP_TIMEOUT_S)
        except (TimeoutError, OSError, ssl.SSLError, ImapError):
            errors[0] += 1
        finally:
            await c.close()


async def _flood_loop(port: int, names: Sequence[str], deadline: float, attempts: list[int],
                      k: int) -> None:
    rng = random.Random(1000 + k)
    for _ in range(100_000):
        if time.perf_counter() >= deadline:
            return
        try:
            c = await connect(HOST, port, _ssl(), local_addr="127.0.0.2", timeout_s=10)
        except (TimeoutError, OSError, ssl.SSLError, ImapError):
            await asyncio.sleep(0.1)  # refused or throttled: back off, bounded by the deadline
            continue
        try:
            for _ in range(3):
                if time.perf_counter() >= deadline:
                    break
                left = max(0.1, deadline - time.perf_counter())
                reply = await asyncio.wait_for(c.command(
                    f'LOGIN "{rng.choice(names)}" "wrong-{rng.getrandbits(40):x}"',
                    check=False), left + 5)
                attempts[0] += 1
                if reply.status == b"OK":
                    break
        except (TimeoutError, OSError, ssl.SSLError, ImapError):
            pass
        finally:
            await c.close()


async def logins(port: int, accounts: Sequence[Account], duration_s: float,
                 clients: int, flooders: int) -> Figures:
    """Login throughput (connect, LOGIN, LOGOUT in ``clients`` loops) and then the same
    legitimate load while ``flooders`` connections from 127.0.0.2 guess passwords."""
    out: Figures = {}
    lat: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + duration_s
    start = time.perf_counter()
    await asyncio.gather(*(_login_loop(port, accounts, deadline, lat, errors, k, "127.0.0.1")
                           for k in range(clients)))
    elapsed = time.perf_counter() - start
    out["logins/s"] = len(lat) / elapsed
    out["LOGIN p50 ms"] = Latencies.pct(lat, 0.5) * 1000
    out["LOGIN p99 ms"] = Latencies.pct(lat, 0.99) * 1000
    out["login errors"] = errors[0]

    lat2: list[float] = []
    errors2 = [0]
    attempts = [0]
    names = [a.name for a in accounts] + [f"nobody{i}" for i in range(20)]
    deadline = time.perf_counter() + duration_s
    start = time.perf_counter()
    legit_deadline = deadline
    await asyncio.gather(
        *(_flood_loop(port, names, deadline, attempts, k) for k in range(flooders)),
        *(_login_loop(port, accounts, legit_deadline, lat2, errors2, k, "127.0.0.3")
          for k in range(max(1, clients // 2))))
    elapsed = time.perf_counter() - start
    out["flood: attacker guesses answered/s"] = attempts[0] / elapsed
    out["flood: legit logins/s"] = len(lat2) / elapsed
    out["flood: legit LOGIN p50 ms"] = Latencies.pct(lat2, 0.5) * 1000
    out["flood: legit LOGIN p99 ms"] = Latencies.pct(lat2, 0.99) * 1000
    out["flood: legit errors"] = errors2[0]
    return out
