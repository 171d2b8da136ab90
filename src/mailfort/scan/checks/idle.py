"""Optional authenticated check: IDLE (RFC 2177 / RFC 9051 §6.3.13) and its timeout.

With ``--auth-user`` the check logs in over TLS, EXAMINEs INBOX (read-only) and starts IDLE.
A scan cannot wait out a 30-minute timer, so it reports what a bounded probe observes: whether
the server accepts IDLE and, with ``--idle-probe SECONDS``, whether it ends the IDLE session
within that time. RFC 9051 §5.4 requires an inactivity autologout timer of at least 30 minutes
(clients re-issue IDLE every 29 minutes, RFC 2177), so a server that drops an idling client
within the probe breaks clients' push and makes them reconnect (and log in) over and over.
"""

from __future__ import annotations

import time
from typing import Final

from mailfort.imap.response_parser import Continuation, Status, Tagged, Untagged
from mailfort.scan.client import ImapProbe, ProbeError, ProbeTimeout
from mailfort.scan.context import Check, HostContext
from mailfort.scan.discovery import open_tls_session, quoted
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK", "MIN_AUTOLOGOUT_S"]

MIN_AUTOLOGOUT_S: Final = 30 * 60  # RFC 9051 §5.4
_REFS = ("RFC 9051 §5.4", "RFC 2177")
_LIMITS = (
    "Bound idle sessions by per-user and per-IP connection limits (Dovecot: "
    "`mail_max_userip_connections`) rather than by short timeouts."
)


def _login(probe: ImapProbe, ctx: HostContext) -> Tagged:
    opts = ctx.options
    assert opts.auth_user is not None and opts.auth_password is not None  # noqa: S101
    _, tagged = probe.command(
        f"LOGIN {quoted(opts.auth_user)} {quoted(opts.auth_password.reveal())}",
        log_as=f'LOGIN {quoted(opts.auth_user)} "****"',
    )
    return tagged


def _start_idle(probe: ImapProbe) -> tuple[str, Continuation | Tagged]:
    tag = probe.next_tag()
    probe.send(f"{tag} IDLE\r\n".encode())
    while True:
        response = probe.read_response()
        if isinstance(response, Continuation):
            return tag, response
        if isinstance(response, Tagged) and response.tag == tag:
            return tag, response


def _wait(probe: ImapProbe, ctx: HostContext, wait_s: float) -> tuple[float | None, str]:
    """Idle for up to ``wait_s``: (seconds until the server ended it, how) or (None, "")."""
    started = time.monotonic()
    end = started + min(wait_s, max(0.0, ctx.deadline.remaining() - ctx.options.op_timeout_s))
    while (left := end - time.monotonic()) > 0:
        try:
            response = probe.read_response(timeout_s=left)
        except ProbeTimeout:
            break
        except ProbeError as exc:
            return time.monotonic() - started, str(exc)
        if isinstance(response, Untagged) and response.status is Status.BYE:
            return time.monotonic() - started, f"BYE {response.text}"
        if isinstance(response, Tagged):
            return time.monotonic() - started, f"tagged {response.status.value} {response.text}"
    return None, ""


def run(ctx: HostContext) -> list[Finding]:
    opts = ctx.options
    if not opts.auth_user or opts.auth_password is None:
        return []
    probe = open_tls_session(ctx)
    if probe is None:
        return []
    with probe:
        if _login(probe, ctx).status is not Status.OK:
            return []  # the authenticated check reports the failed login
        probe.command('EXAMINE "INBOX"')
        tag, first = _start_idle(probe)
        if isinstance(first, Tagged):
            return [
                Finding(
                    id="idle-not-supported",
                    severity=Severity.INFO,
                    title="IDLE refused: clients must poll for new mail",
                    evidence=probe.evidence(last=4),
                    remediation="Enable IDLE (RFC 2177; part of IMAP4rev2).",
                    references=_REFS,
                )
            ]
        if opts.idle_wait_s <= 0:
            findings = [
                Finding(
                    id="idle-accepted",
                    severity=Severity.INFO,
                    title="IDLE accepted (its timeout was not probed)",
                    evidence=probe.evidence(last=3),
                    remediation="Probe the IDLE timeout with --idle-probe SECONDS. " + _LIMITS,
                    references=_REFS,
                )
            ]
        else:
            dropped_after, how = _wait(probe, ctx, opts.idle_wait_s)
            if dropped_after is not None and dropped_after < MIN_AUTOLOGOUT_S:
                return [
                    Finding(
                        id="idle-dropped-early",
                        severity=Severity.LOW,
                        title="The server ended an IDLE session after "
                        f"{dropped_after:.0f} s (less than 30 minutes)",
                        evidence=f"IDLE ended after {dropped_after:.1f} s ({how})\n"
                        + probe.evidence(last=4),
                        remediation="Keep IDLE sessions for at least 30 minutes of inactivity "
                        "(RFC 9051 §5.4); check proxies and load balancers with shorter idle "
                        "timeouts in front of the server. " + _LIMITS,
                        references=_REFS,
                    )
                ]
            findings = [
                Finding(
                    id="idle-survived-probe",
                    severity=Severity.INFO,
                    title=f"IDLE session still open after the {opts.idle_wait_s:g} s probe",
                    evidence=f"no BYE or close within {opts.idle_wait_s:g} s of IDLE; whether "
                    "the server ends idle sessions at all cannot be seen in a bounded probe",
                    remediation=_LIMITS,
                    references=_REFS,
                )
            ]
        try:
            probe.send(b"DONE\r\n")
            probe.collect(tag)
            probe.command("LOGOUT")
        except ProbeError:
            pass
    return findings


CHECK = Check(
    name="idle",
    description="Optional IDLE acceptance and timeout",
    run=run,
    opt_in=True,
    enabled_by=lambda o: bool(o.auth_user) and o.auth_password is not None,
)
