"""``mailfort serve``: initialise the data directory on first run, then serve IMAP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import Final

from mailfort.audit.events import EventSink, NullSink
from mailfort.cli.bootstrap import AuditRuntime, acl_state, build_security, open_audit, runtime
from mailfort.cli.logs import configure_logging
from mailfort.cli.settings import settings_from_args
from mailfort.config.model import Settings
from mailfort.core.clock import SystemClock

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser(
        "serve", help="serve IMAP (initialises the data directory on first run)",
        description="Serve IMAP on the configured listeners (by default 127.0.0.1:1993 with "
                    "implicit TLS and 127.0.0.1:1143 with STARTTLS). On first run the data "
                    "directory and a self-signed certificate are created and the "
                    "certificate's SHA-256 fingerprint is printed. SIGHUP reloads the "
                    "certificate; SIGTERM or Ctrl-C stops after closing sessions.")


# The GIL hand-over interval for the server process (CPython's default is 5 ms). The store's
# reader/writer threads take the GIL back after every SQLite step (each row) and to hand
# their result to the loop; with the event loop busy, each such take waited up to 5 ms, so a
# 500-row SELECT snapshot could queue for far longer than the query ran. 0.5 ms cut the
# mixed workload's p99 and raised its ops/s (BENCHMARKS.md; docs/decisions/008).
SWITCH_INTERVAL_S: Final = 0.0005


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _serve(settings: Settings, sink: EventSink | None = None) -> int:
    """``sink`` receives every security decision (the audit bus; NullSink when None)."""
    from mailfort.server.gcpacing import GcPacer
    from mailfort.server.imap import INPUT_ACTIVITY
    from mailfort.server.lifecycle import serve
    from mailfort.server.tls import TlsContext, ensure_tls_material

    first_run = not settings.data_dir.exists()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    material = ensure_tls_material(settings)
    tls = TlsContext(material, settings.tls.min_version)
    if first_run:
        print(f"Initialised data directory {settings.data_dir}", file=sys.stderr)
    if material.is_generated:
        print(f"Self-signed certificate {material.cert_file}\n"
              f"  SHA-256 fingerprint {material.fingerprint_sha256}", file=sys.stderr)
    clock = SystemClock()
    async with runtime(settings) as rt:
        if not await rt.store.users.list():
            print("No accounts yet: create one with `mailfort user add NAME`.", file=sys.stderr)
        async with contextlib.AsyncExitStack() as stack:
            audit = (await stack.enter_async_context(open_audit(settings, rt.store, clock))
                     if settings.audit.is_enabled else None)
            if audit is not None:
                _announce_audit(settings, audit)
                sink = audit.bus
            sec = await build_security(settings, rt.store, clock, sink or NullSink(),
                                       hashing=rt.hashing)
            # Start-up is done: freeze it, and pace full collections to quiet moments.
            pacer = GcPacer(activity=lambda: INPUT_ACTIVITY.count)
            pacer.start()
            stack.callback(pacer.stop)
            await serve(settings, rt.store, rt.authenticator, tls, guard=sec.guard,
                        login_service=sec.login_service,
                        audit=audit.hooks if audit is not None else None,
                        on_reload=audit.reloaded if audit is not None else None,
                        acl=acl_state(rt.store))
    return 0


def _announce_audit(settings: Settings, audit: AuditRuntime) -> None:
    """Say where the audit layer writes, and what is off."""
    if audit.key_created:
        key = settings.path(settings.audit.signing_key_file)
        print(f"Created the audit signing key {key} (keep it private; its public half "
              f"{key}.pub verifies the log)", file=sys.stderr)
    if audit.geoip == "off":
        log.info("audit: GeoIP is off (no audit.geoip_db): new-country and impossible-travel "
                 "detections are off")
    else:
        log.info("audit: GeoIP from %s: new-country and impossible-travel detections on",
                 audit.geoip)
    if audit.metrics_server is not None:
        log.info("audit: metrics on http://%s/metrics", settings.audit.metrics_listen)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    configure_logging(settings.log, settings.path(settings.log.file) if settings.log.file
                      else None)
    _install_uvloop()
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # see SWITCH_INTERVAL_S
    try:
        return asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        return 0
