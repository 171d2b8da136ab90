"""Optional authenticated checks with operator-supplied credentials.

IMAP4rev2 support, and mailboxes of other users visible through LIST/NAMESPACE (over-broad
ACLs, RFC 9051 §11: LIST on Other Users' namespace SHOULD NOT list users who did not grant
access).
"""

from __future__ import annotations

from mailfort.imap.response_parser import Status, Untagged
from mailfort.scan.client import ProbeError
from mailfort.scan.context import Check, HostContext
from mailfort.scan.discovery import open_tls_session, quoted
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK"]


def _other_users_prefixes(responses: list[Untagged]) -> list[str]:
    prefixes: list[str] = []
    for r in responses:
        if r.keyword != "NAMESPACE" or len(r.values) < 2:
            continue
        other = r.values[1]
        if isinstance(other, tuple):
            for entry in other:
                if isinstance(entry, tuple) and entry and isinstance(entry[0], bytes):
                    prefixes.append(entry[0].decode("utf-8", "replace"))
    return prefixes


def run(ctx: HostContext) -> list[Finding]:
    opts = ctx.options
    if not opts.auth_user or opts.auth_password is None:
        return []
    probe = open_tls_session(ctx)
    if probe is None:
        return []
    findings: list[Finding] = []
    with probe:
        _, tagged = probe.command(
            f"LOGIN {quoted(opts.auth_user)} {quoted(opts.auth_password.reveal())}",
            log_as=f'LOGIN {quoted(opts.auth_user)} "****"',
        )
        if tagged.status is not Status.OK:
            return [
                Finding(
                    id="authenticated-login-failed",
                    severity=Severity.INFO,
                    title="Authenticated checks skipped: login failed",
                    evidence=f"S: {tagged.status.value} {tagged.text}",
                    remediation="Check the credentials given to --auth-user.",
                )
            ]
        caps = probe.capabilities()
        if "IMAP4REV2" not in caps:
            findings.append(
                Finding(
                    id="imap4rev2-missing",
                    severity=Severity.INFO,
                    title="IMAP4rev2 (RFC 9051) not supported",
                    evidence="CAPABILITY: " + " ".join(sorted(caps)),
                    remediation="Upgrade to a server release supporting IMAP4rev2.",
                    references=("RFC 9051",),
                )
            )
        prefixes: list[str] = []
        if "NAMESPACE" in caps:
            try:
                responses, _ = probe.command("NAMESPACE")
                prefixes = _other_users_prefixes([r for r in responses if isinstance(r, Untagged)])
            except ProbeError:
                prefixes = []
        visible: list[str] = []
        for prefix in prefixes:
            responses, _ = probe.command(f'LIST "" {quoted(prefix + "%")}')
            for r in responses:
                if isinstance(r, Untagged) and r.keyword == "LIST" and len(r.values) >= 3:
                    name = r.values[2]
                    if isinstance(name, bytes | str):
                        visible.append(
                            name.decode("utf-8", "replace") if isinstance(name, bytes) else name
                        )
        if visible:
            findings.append(
                Finding(
                    id="other-users-mailboxes-visible",
                    severity=Severity.MEDIUM,
                    title="Other users' mailboxes are visible to the test account",
                    evidence=f"{len(visible)} entries under other users' namespace, e.g. "
                    + ", ".join(visible[:5]),
                    remediation="Review ACLs: grant 'l' (lookup) only where sharing is intended "
                    "(Dovecot: acl plugin, `acl_anyone = allow` off).",
                    references=("RFC 4314", "RFC 9051 §11"),
                )
            )
        try:
            probe.command("LOGOUT")
        except ProbeError:
            pass
    return findings


CHECK = Check(
    name="authenticated",
    description="Optional authenticated checks",
    run=run,
    opt_in=True,
    enabled_by=lambda o: bool(o.auth_user) and o.auth_password is not None,
)
