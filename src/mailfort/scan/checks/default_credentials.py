"""Opt-in: a short list of default/common credentials, rate-limited (``--default-credentials``)."""

from __future__ import annotations

import time
from typing import Final

from mailfort.imap.response_parser import Status
from mailfort.scan.client import ProbeError
from mailfort.scan.context import Check, HostContext
from mailfort.scan.discovery import open_tls_session, quoted
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK", "DEFAULT_CREDENTIALS"]

DEFAULT_CREDENTIALS: Final[tuple[tuple[str, str], ...]] = (
    ("admin", "admin"),
    ("admin", "password"),
    ("administrator", "administrator"),
    ("root", "root"),
    ("test", "test"),
    ("guest", "guest"),
    ("user", "user"),
    ("postmaster", "postmaster"),
    ("demo", "demo"),
    ("info", "info"),
)


def run(ctx: HostContext) -> list[Finding]:
    if not ctx.options.default_credentials:
        return []
    interval_s = 1.0 / ctx.options.rate_per_s if ctx.options.rate_per_s > 0 else 0.0
    accepted: list[str] = []
    probe = open_tls_session(ctx)
    if probe is None:
        return []
    try:
        for user, password in DEFAULT_CREDENTIALS:
            if ctx.deadline.remaining() <= interval_s:
                break
            t0 = time.monotonic()
            try:
                _, tagged = probe.command(
                    f"LOGIN {quoted(user)} {quoted(password)}",
                    log_as=f'LOGIN {quoted(user)} "****"',
                )
            except ProbeError:
                probe.close()
                probe = open_tls_session(ctx)
                if probe is None:
                    break
                continue
            if tagged.status is Status.OK:
                accepted.append(user)
                probe.close()
                probe = open_tls_session(ctx)
                if probe is None:
                    break
            rest = interval_s - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)  # operator-requested pacing
    finally:
        if probe is not None:
            probe.close()
    if not accepted:
        return []
    return [
        Finding(
            id="default-credentials",
            severity=Severity.CRITICAL,
            title="Default or common credentials accepted",
            evidence="accepted logins for: " + ", ".join(accepted) + " (passwords not shown)",
            remediation="Remove or re-password these accounts; enforce a password policy that "
            "rejects common passwords.",
            references=("OWASP ASVS 5.0 6.3.2", "OWASP ASVS 5.0 6.2.4"),
        )
    ]


CHECK = Check(
    name="default-credentials",
    description="Opt-in default credentials",
    run=run,
    opt_in=True,
    enabled_by=lambda o: o.default_credentials,
)
