"""``mailfort serve``: initialise the data directory on first run, then serve IMAP."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from mailfort.cli.bootstrap import runtime
from mailfort.cli.logs import configure_logging
from mailfort.cli.settings import settings_from_args
from mailfort.config.model import Settings

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


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _serve(settings: Settings) -> int:
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
    async with runtime(settings) as rt:
        if not await rt.store.users.list():
            print("No accounts yet: create one with `mailfort user add NAME`.", file=sys.stderr)
        await serve(settings, rt.store, rt.authenticator, tls)
    return 0


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    configure_logging(settings.log, settings.path(settings.log.file) if settings.log.file
                      else None)
    _install_uvloop()
    try:
        return asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        return 0
