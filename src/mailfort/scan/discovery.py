"""Reachability: which ports answer IMAP, over what, and what they say before and after TLS."""

from __future__ import annotations

from mailfort.imap.response_parser import capabilities_in, id_fields
from mailfort.scan.client import Deadline, ImapProbe, ProbeError, StartTlsResult
from mailfort.scan.context import PLAIN_PORTS, TLS_PORTS, HostContext, PortObservation, ScanOptions
from mailfort.scan.report import Transport

__all__ = ["discover", "observe_port", "open_tls_session", "quoted"]


def discover(
    host: str, options: ScanOptions, deadline: Deadline
) -> tuple[list[PortObservation], dict[int, str]]:
    """Observations for the ports that answer, and the reason for each that does not."""
    seen: list[PortObservation] = []
    failures: dict[int, str] = {}
    for port in options.ports:
        try:
            seen.append(observe_port(host, port, options, deadline))
        except ProbeError as exc:
            failures[port] = str(exc)
    return seen, failures


def observe_port(host: str, port: int, options: ScanOptions, deadline: Deadline) -> PortObservation:
    # Implicit TLS is tried first except on the well-known cleartext port: a TLS handshake with a
    # cleartext server fails at once (its greeting is not a TLS record), whereas waiting for a
    # greeting from a TLS port only ends at the timeout (the server waits for our ClientHello).
    order = [False, True] if port in PLAIN_PORTS and port not in TLS_PORTS else [True, False]
    last: ProbeError | None = None
    for implicit_tls in order:
        try:
            return _observe(host, port, implicit_tls, options, deadline)
        except ProbeError as exc:
            last = exc
            if "connect failed" in str(exc) or "budget" in str(exc):
                break
    assert last is not None  # noqa: S101 - the loop ran at least once
    raise last


def _observe(
    host: str, port: int, implicit_tls: bool, options: ScanOptions, deadline: Deadline
) -> PortObservation:
    with ImapProbe.open(
        host, port, deadline=deadline, op_timeout_s=options.op_timeout_s, implicit_tls=implicit_tls
    ) as probe:
        greeting = probe.greeting
        assert greeting is not None  # noqa: S101 - open() read it
        transport = Transport.TLS if implicit_tls else Transport.PLAIN
        caps = probe.capabilities()
        greeting_caps = capabilities_in(greeting) or frozenset()
        caps_before = caps or greeting_caps
        starttls: StartTlsResult | None = None
        caps_after: frozenset[str] | None = None
        if (
            transport is Transport.PLAIN
            and "STARTTLS" in caps_before
            and not greeting.status.value == "PREAUTH"
        ):
            starttls = probe.starttls()
            if starttls.upgraded:
                try:
                    caps_after = probe.capabilities()
                except ProbeError:
                    caps_after = frozenset()
        ident: dict[str, str | None] | None = None
        if (
            greeting.status.value != "BYE"
            and ("ID" in caps_before or (caps_after is not None and "ID" in caps_after))
            and (starttls is None or starttls.upgraded)
        ):
            for response in probe.id_exchange():
                ident = id_fields(response)
        try:
            probe.command("LOGOUT")
        except ProbeError:
            pass
        return PortObservation(
            port=port,
            transport=transport,
            greeting=greeting,
            caps_before_tls=caps_before,
            starttls=starttls,
            caps_after_tls=caps_after,
            id_fields=ident,
            transcript=probe.evidence(),
        )


def open_tls_session(ctx: HostContext) -> ImapProbe | None:
    """A new connection protected by TLS (implicit TLS preferred), or None if none offers it."""
    ranked = sorted(
        (o for o in ctx.observations if o.tls_available and not o.is_preauth),
        key=lambda o: o.transport is not Transport.TLS,
    )
    for obs in ranked:
        probe = ImapProbe.open(
            ctx.host,
            obs.port,
            deadline=ctx.deadline,
            op_timeout_s=ctx.options.op_timeout_s,
            implicit_tls=obs.transport is Transport.TLS,
        )
        if obs.transport is Transport.TLS:
            return probe
        if probe.starttls(linger_s=0.0).upgraded:  # injection is the starttls check's business
            return probe
        probe.close()
    return None


def quoted(text: str) -> str:
    """An IMAP quoted string for ``text`` (RFC 9051 ``quoted``); rejects CR/LF/NUL."""
    if any(c in text for c in "\r\n\0"):
        raise ValueError("CR, LF and NUL cannot be sent in a quoted string")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
