"""``make bench``: run every scenario against Mailfort and a private Dovecot in one run and print
each figure for both with the ratio (Mailfort / Dovecot). Results also go to
``bench/results/latest.json`` and ``bench/results/latest.md``.

Servers run one at a time (never both at once) so neither steals the other's cores; the load
generator runs in this process. Seeded mailboxes are cached (keyed by the corpus parameters and
the store schema) so a second run skips the slow part; ``--no-cache`` reseeds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from . import corpus, scenarios
from .servers import (
    ARGON2,
    CHEAP,
    Account,
    DovecotServer,
    MailfortServer,
    Scheme,
    Seeds,
    have_dovecot,
    make_certificate,
)

T = TypeVar("T")

__all__ = ["main", "Plan", "QUICK", "FULL"]

BENCH_DIR = Path(__file__).resolve().parent.parent
RESULTS = BENCH_DIR / "results"
SEED = 20240607


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    big_messages: int
    mix_users: int
    mix_messages: int
    mix_clients: tuple[int, ...]
    mix_argon2_clients: tuple[int, ...]
    mix_duration_s: float
    idle_sessions: int
    append_total: int
    append_buckets: int
    append_limit_s: float
    login_duration_s: float
    login_clients: int
    flooders: int


QUICK = Plan("quick", big_messages=3000, mix_users=5, mix_messages=500, mix_clients=(10, 50),
             mix_argon2_clients=(50,), mix_duration_s=6, idle_sessions=1000, append_total=300,
             append_buckets=3, append_limit_s=15, login_duration_s=4, login_clients=8,
             flooders=30)
FULL = Plan("full", big_messages=20000, mix_users=10, mix_messages=500,
            mix_clients=(10, 50, 200), mix_argon2_clients=(10, 50, 200), mix_duration_s=30,
            idle_sessions=10000, append_total=20000, append_buckets=10, append_limit_s=600,
            login_duration_s=20, login_clients=8, flooders=40)

MIX_MAX_BYTES = 50 * 1024


def _accounts(plan: Plan) -> dict[str, list[Account]]:
    def acct(name: str) -> Account:
        return Account(name, f"Bench-{name}-{SEED % 9973}-pw")
    return {
        "mix": [acct(f"mix{i}") for i in range(plan.mix_users)],
        "big": [acct("big")],
        "idle": [acct("idler")],
        "append": [acct("appender")],
        "sync": [acct("syncer")],
    }


def _seeds(plan: Plan) -> Seeds:
    def big() -> Iterator[tuple[bytes, dt.datetime]]:
        return ((m.raw, m.date) for m in corpus.generate(SEED, plan.big_messages))

    def mix(i: int) -> Callable[[], Iterator[tuple[bytes, dt.datetime]]]:
        return lambda: ((m.raw, m.date) for m in corpus.generate(
            SEED + 1 + i, plan.mix_messages, max_bytes=MIX_MAX_BYTES))

    seeds: Seeds = {"big": big}
    for i in range(plan.mix_users):
        seeds[f"mix{i}"] = mix(i)
    return seeds


def _cache_key(plan: Plan) -> str:
    h = hashlib.sha256()
    h.update(repr((SEED, plan.big_messages, plan.mix_users, plan.mix_messages,
                   MIX_MAX_BYTES)).encode())
    h.update((BENCH_DIR / "mailbench" / "corpus.py").read_bytes())
    import mailfort
    migrations = Path(mailfort.__file__).parent / "store" / "sqlite" / "migrations"
    for f in sorted(migrations.glob("*.sql")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def machine_facts() -> dict[str, str]:
    facts = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    facts["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as fh:
            facts["memory"] = fh.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    for tool, argv in (("openssl", ["openssl", "version"]), ("mbsync", ["mbsync", "--version"])):
        try:
            facts[tool] = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                                         check=False).stdout.strip()
        except OSError:
            facts[tool] = "missing"
    try:
        from importlib.metadata import version
        facts["uvloop"] = version("uvloop") + " (server and load generator)"
    except Exception:  # noqa: BLE001 - a fact for the report, best effort
        facts["uvloop"] = "missing"
    return facts


def run_load(coro: Coroutine[Any, Any, T]) -> T:
    """Run a scenario's load generator on uvloop when it is installed (it is: the server uses
    it). The generator shares the 2 cores with the server under test, so a leaner client
    leaves more to either server; with the stock loop, reading 10,000 TLS sockets cost the
    client more than the server (BENCHMARKS.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


class Profiler:
    """py-spy attached to the Mailfort server for one scenario (``--profile DIR``)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, pid: int, name: str) -> None:
        if self.directory is None:
            return
        pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [pyspy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
             "--threads", "--nonblocking",
             "-o", str(self.directory / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class Results:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, dict[str, float | int | str]]] = []  # (section, server)
        self.t0: float | None = None  # set when a scenario starts

    def add(self, section: str, server: str, figures: dict[str, float | int | str]) -> None:
        if self.t0 is not None:
            figures["scenario wall s"] = time.perf_counter() - self.t0
            self.t0 = None
        self.rows.append((section, server, figures))
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in list(figures.items())[:6])
        print(f"  [{server}] {section}: {shown}", flush=True)

    def sections(self) -> list[str]:
        seen: list[str] = []
        for section, _, _ in self.rows:
            if section not in seen:
                seen.append(section)
        return seen

    def get(self, section: str, server: str) -> dict[str, float | int | str]:
        for s, srv, figures in self.rows:
            if s == section and srv == server:
                return figures
        return {}

    def markdown(self) -> str:
        out: list[str] = []
        for section in self.sections():
            a, b = self.get(section, "mailfort"), self.get(section, "dovecot")
            out.append(f"\n### {section}\n")
            out.append("| figure | Mailfort | Dovecot | Mailfort / Dovecot |")
            out.append("| --- | ---: | ---: | ---: |")
            keys = list(a) + [k for k in b if k not in a]
            for k in keys:
                va, vb = a.get(k, ""), b.get(k, "")
                out.append(f"| {k} | {_fmt(va)} | {_fmt(vb)} | {_ratio(va, vb)} |")
        return "\n".join(out) + "\n"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.1f}"
    return str(v)


def _ratio(a: object, b: object) -> str:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b and \
            not (isinstance(a, float) and math.isnan(a)) and \
            not (isinstance(b, float) and math.isnan(b)):
        return f"{a / b:.2f}×"
    return ""


def _prepare(server: MailfortServer | DovecotServer, plan: Plan, accounts: list[Account],
             cache: Path | None) -> None:
    """Seed ``server``'s mailboxes, from the cache when it has them."""
    is_mailfort = isinstance(server, MailfortServer)
    part = "mailfort-data" if is_mailfort else "dovecot-mail"
    target = server.data_dir if isinstance(server, MailfortServer) else server.root / "mail"
    if cache is not None and (cache / part / ".complete").exists():
        shutil.copytree(cache / part, target, symlinks=True)
        (target / ".complete").unlink()
        if isinstance(server, DovecotServer):
            server.accounts = accounts
            server.chown_mail()
        server.write_config()
        return
    start = time.perf_counter()
    server.seed(accounts, _seeds(plan))
    print(f"  seeded {server.label} in {time.perf_counter() - start:.1f} s", flush=True)
    if cache is not None:
        if (cache / part).exists():
            shutil.rmtree(cache / part)
        shutil.copytree(target, cache / part, symlinks=True)
        (cache / part / ".complete").write_text("ok")


def run_server(server: MailfortServer | DovecotServer, plan: Plan, accs: dict[str, list[Account]],
               results: Results, cert: Path, work: Path, profiler: Profiler,
               scenario_filter: set[str]) -> None:
    everyone = [a for group in accs.values() for a in group]
    label = server.label
    mix_messages = [m.raw for m in corpus.generate(SEED + 500, 64, max_bytes=MIX_MAX_BYTES)]

    def want(name: str) -> bool:
        return not scenario_filter or name in scenario_filter

    def phase(scheme: Scheme, body: Callable[[], None]) -> None:
        server.set_scheme(scheme, everyone)
        server.start()
        try:
            body()
        finally:
            profiler.stop()
            server.stop()

    def profiled(name: str) -> None:
        results.t0 = time.perf_counter()
        if isinstance(server, MailfortServer) and server.proc is not None:
            profiler.stop()
            profiler.start(server.proc.pid, name)

    def cheap_phase() -> None:
        if want("big"):
            profiled("big")
            results.add(f"3. big mailbox ({plan.big_messages} messages)", label,
                        run_load(scenarios.big_mailbox(server.port, accs["big"][0])))
        if want("mbsync"):
            profiled("mbsync")
            results.add(f"4. mbsync of the big mailbox ({plan.big_messages} messages)", label,
                        scenarios.mbsync(server.port, accs["big"][0], cert,
                                         work / f"mbsync-{label}"))
        if want("append"):
            profiled("append")
            results.add(f"5. durable APPEND on one connection (up to {plan.append_total})",
                        label, run_load(scenarios.append_rate(
                            server.port, accs["append"][0], plan.append_total,
                            plan.append_buckets, mix_messages, plan.append_limit_s)))
        if want("mixed"):
            for n in plan.mix_clients:
                profiled(f"mixed-cheap-{n}")
                results.add(f"1. mixed workload, {n} clients, cheap password scheme", label,
                            run_load(scenarios.mixed(server.port, accs["mix"], n,
                                                        plan.mix_duration_s, mix_messages)))
        if want("idle"):
            profiled("idle")
            results.add(f"2. {plan.idle_sessions} sessions in IDLE over TLS", label,
                        run_load(scenarios.idle(server.port, accs["idle"][0],
                                                   plan.idle_sessions, server.pids)))

    def argon2_phase() -> None:
        if want("mixed"):
            for n in plan.mix_argon2_clients:
                profiled(f"mixed-argon2-{n}")
                results.add(f"1. mixed workload, {n} clients, Argon2id (equal schemes)", label,
                            run_load(scenarios.mixed(server.port, accs["mix"], n,
                                                        plan.mix_duration_s, mix_messages)))
        if want("logins"):
            profiled("logins")
            results.add("6. logins with Argon2id, and during a brute-force flood", label,
                        run_load(scenarios.logins(server.port, accs["mix"],
                                                     plan.login_duration_s, plan.login_clients,
                                                     plan.flooders)))

    phase(CHEAP, cheap_phase)
    if want("mixed") or want("logins"):
        phase(ARGON2, argon2_phase)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the quick plan (default)")
    mode.add_argument("--full", action="store_true", help="the full plan (long)")
    parser.add_argument("--only", default="", help="comma-separated scenarios: "
                        "mixed,idle,big,mbsync,append,logins")
    parser.add_argument("--servers", default="mailfort,dovecot")
    parser.add_argument("--no-cache", action="store_true", help="reseed the mailboxes")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the Mailfort server per "
                        "scenario into DIR (raw collapsed stacks)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    plan = FULL if args.full else QUICK
    servers = [s for s in args.servers.split(",") if s]
    if "dovecot" in servers and not have_dovecot():
        print("dovecot or openssl missing (apt-get install dovecot-imapd openssl)",
              file=sys.stderr)
        return 2
    scenario_filter = {s for s in args.only.split(",") if s}
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="mailbench-"))
    os.chmod(work, 0o755)  # Dovecot's mail processes run as nobody
    cache_root = Path(os.environ.get("MAILBENCH_CACHE", Path.home() / ".cache" / "mailbench"))
    cache = None if args.no_cache else cache_root / f"{plan.name}-{_cache_key(plan)}"
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    facts = machine_facts()
    results = Results()
    profiler = Profiler(Path(args.profile) if args.profile else None)
    accs = _accounts(plan)
    everyone = [a for group in accs.values() for a in group]
    try:
        cert, key = make_certificate(work / "tls")
        for name in servers:
            if name == "mailfort":
                mf = MailfortServer(work / "mailfort", cert, key)
                facts["mailfort"] = mf.version()
                print(f"== {mf.version()}", flush=True)
                _prepare(mf, plan, everyone, cache)
                run_server(mf, plan, accs, results, cert, work, profiler, scenario_filter)
            else:
                dc = DovecotServer(work / "dovecot", cert, key)
                facts["dovecot"] = dc.version()
                print(f"== {dc.version()}", flush=True)
                _prepare(dc, plan, everyone, cache)
                run_server(dc, plan, accs, results, cert, work, profiler, scenario_filter)
    finally:
        profiler.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    facts["plan"] = plan.name
    facts["bench wall time"] = f"{time.perf_counter() - started:.0f} s"
    RESULTS.mkdir(parents=True, exist_ok=True)
    md = "## Machine\n\n" + "\n".join(f"- {k}: {v}" for k, v in facts.items()) + "\n" + \
        results.markdown()
    (RESULTS / "latest.md").write_text(md)
    (RESULTS / "latest.json").write_text(json.dumps(
        {"facts": facts, "plan": dataclasses.asdict(plan),
         "results": [{"section": s, "server": srv, "figures": f}
                     for s, srv, f in results.rows]}, indent=2, default=str))
    print(md)
    return 0
