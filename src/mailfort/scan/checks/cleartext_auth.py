"""Credentials in clear: LOGIN/AUTHENTICATE accepted before TLS, plaintext SASL offered.

The probe uses a random user name and password, so a real account is never touched. A refusal
(``[PRIVACYREQUIRED]``, BAD, or NO on a server advertising LOGINDISABLED without an
``[AUTHENTICATIONFAILED]`` code) is told apart from an actual authentication attempt.
"""

from __future__ import annotations

import base64
import secrets

from mailfort.imap.response_parser import Continuation, Status, Tagged
from mailfort.scan.client import ImapProbe, ProbeError
from mailfort.scan.context import Check, HostContext, PortObservation
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK", "classify_login_reply"]

_PLAINTEXT_MECHS = ("AUTH=PLAIN", "AUTH=LOGIN")
_REMEDIATION = (
    "Refuse authentication before TLS and advertise LOGINDISABLED on cleartext connections "
    "(Dovecot: `auth_allow_cleartext = no` (2.4) / `disable_plaintext_auth = yes` (2.3) and "
    "`ssl = required`; Cyrus: `allowplaintext: 0`). Prefer implicit TLS on 993 (RFC 8314)."
)
_REFS = ("RFC 8314", "RFC 9051 §11", "RFC 5530 (PRIVACYREQUIRED)")


def classify_login_reply(tagged: Tagged, login_disabled: bool) -> str:
    """``"refused"`` (no credential check happened), ``"attempted"`` or ``"accepted"``."""
    code = tagged.code.name if tagged.code else None
    if tagged.status is Status.OK:
        return "accepted"
    if tagged.status is Status.BAD or code == "PRIVACYREQUIRED":
        return "refused"
    if code == "AUTHENTICATIONFAILED":
        return "attempted"
    return "refused" if login_disabled else "attempted"


def _random_identity() -> tuple[str, str]:
    return f"mfscan-{secrets.token_hex(6)}", secrets.token_urlsafe(12)


def _probe_login(ctx: HostContext, obs: PortObservation) -> Finding | None:
    user, password = _random_identity()
    login_disabled = "LOGINDISABLED" in obs.caps_before_tls
    with ImapProbe.open(
        ctx.host, obs.port, deadline=ctx.deadline, op_timeout_s=ctx.options.op_timeout_s
    ) as probe:
        _, tagged = probe.command(f'LOGIN "{user}" "{password}"', log_as=f'LOGIN "{user}" "****"')
        outcome = classify_login_reply(tagged, login_disabled)
        if outcome == "refused":
            return None
        accepted = outcome == "accepted"
        return Finding(
            id="cleartext-login-accepted",
            severity=Severity.CRITICAL if accepted else Severity.HIGH,
            title=(
                "LOGIN with a random user name succeeded on a cleartext connection"
                if accepted
                else "LOGIN is processed before TLS: passwords can be sent in clear"
            ),
            evidence=f"port {obs.port} (no TLS), random user name:\n" + probe.evidence(),
            remediation=_REMEDIATION,
            references=_REFS,
            port=obs.port,
        )


def _probe_authenticate(ctx: HostContext, obs: PortObservation) -> Finding | None:
    user, password = _random_identity()
    login_disabled = "LOGINDISABLED" in obs.caps_before_tls
    with ImapProbe.open(
        ctx.host, obs.port, deadline=ctx.deadline, op_timeout_s=ctx.options.op_timeout_s
    ) as probe:
        tag = probe.next_tag()
        probe.send(f"{tag} AUTHENTICATE PLAIN\r\n".encode())
        first = probe.read_response()
        while not isinstance(first, Continuation | Tagged):
            first = probe.read_response()
        if isinstance(first, Tagged):
            return None
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        probe.send(f"{blob}\r\n".encode(), log_as="<base64 PLAIN response, random credentials>")
        _, tagged = probe.collect(tag)
        outcome = classify_login_reply(tagged, login_disabled)
        if outcome == "refused":
            return None
        return Finding(
            id="cleartext-authenticate-accepted",
            severity=Severity.CRITICAL if outcome == "accepted" else Severity.HIGH,
            title="AUTHENTICATE PLAIN is processed before TLS",
            evidence=f"port {obs.port} (no TLS), random user name:\n" + probe.evidence(),
            remediation=_REMEDIATION,
            references=_REFS,
            port=obs.port,
        )


def run(ctx: HostContext) -> list[Finding]:
    findings: list[Finding] = []
    for obs in ctx.plain_ports():
        if obs.is_preauth or obs.greeting.status is Status.BYE:
            continue
        offered = sorted(m for m in _PLAINTEXT_MECHS if m in obs.caps_before_tls)
        if offered and "LOGINDISABLED" not in obs.caps_before_tls:
            findings.append(
                Finding(
                    id="plaintext-sasl-before-tls",
                    severity=Severity.MEDIUM,
                    title="Plaintext SASL mechanisms offered before TLS",
                    evidence=f"port {obs.port} CAPABILITY before TLS: "
                    + " ".join(sorted(obs.caps_before_tls)),
                    remediation=_REMEDIATION,
                    references=_REFS,
                    port=obs.port,
                )
            )
        for probe in (_probe_login, _probe_authenticate):
            try:
                found = probe(ctx, obs)
            except ProbeError:
                continue
            if found is not None:
                findings.append(found)
    return findings


CHECK = Check(
    name="cleartext-auth",
    description="LOGIN/AUTHENTICATE accepted before TLS, plaintext mechanisms offered",
    run=run,
)
