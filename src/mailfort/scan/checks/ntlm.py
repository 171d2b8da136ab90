"""NTLM information disclosure: the challenge names the host, domain and OS build.

Sends a NEGOTIATE message (no credentials) to ``AUTHENTICATE NTLM``, reads the CHALLENGE's
target-info list (MS-NLMP §2.2.1.2, §2.2.2.1) and cancels the exchange with ``*``.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from mailfort.imap.response_parser import Continuation, Tagged
from mailfort.scan.client import ImapProbe, ProbeError
from mailfort.scan.context import Check, HostContext, PortObservation
from mailfort.scan.report import Finding, Severity

__all__ = ["CHECK", "NEGOTIATE_MESSAGE", "NtlmChallengeInfo", "parse_challenge"]

_SIGNATURE = b"NTLMSSP\x00"
_FLAGS = 0xE2088297  # unicode, OEM, request target, NTLM, always sign, ESS, version, 128, 56
NEGOTIATE_MESSAGE = _SIGNATURE + struct.pack("<II", 1, _FLAGS) + b"\x00" * 16
_AV_NAMES = {
    1: "NetBIOS computer",
    2: "NetBIOS domain",
    3: "DNS computer",
    4: "DNS domain",
    5: "DNS forest",
}


@dataclass(frozen=True, slots=True)
class NtlmChallengeInfo:
    target_name: str
    names: tuple[tuple[str, str], ...]
    os_version: str | None


def _buffer(data: bytes, at: int) -> bytes:
    length, _, offset = struct.unpack_from("<HHI", data, at)
    if offset + length > len(data):
        raise ValueError("security buffer out of range")
    return data[offset : offset + length]


def parse_challenge(data: bytes) -> NtlmChallengeInfo:
    """Parse an NTLM CHALLENGE_MESSAGE; raises ValueError when it is not one."""
    if len(data) < 48 or not data.startswith(_SIGNATURE):
        raise ValueError("not an NTLM message")
    (kind,) = struct.unpack_from("<I", data, 8)
    if kind != 2:
        raise ValueError("not a CHALLENGE message")
    (flags,) = struct.unpack_from("<I", data, 20)
    target = _buffer(data, 12).decode("utf-16-le", "replace")
    info = _buffer(data, 40)
    names: list[tuple[str, str]] = []
    pos = 0
    while pos + 4 <= len(info):
        av_id, av_len = struct.unpack_from("<HH", info, pos)
        pos += 4
        if av_id == 0:
            break
        value = info[pos : pos + av_len]
        pos += av_len
        if av_id in _AV_NAMES:
            names.append((_AV_NAMES[av_id], value.decode("utf-16-le", "replace")))
    os_version = None
    if flags & 0x02000000 and len(data) >= 56:
        major, minor, build = struct.unpack_from("<BBH", data, 48)
        os_version = f"{major}.{minor}.{build}"
    return NtlmChallengeInfo(target_name=target, names=tuple(names), os_version=os_version)


def _probe(ctx: HostContext, obs: PortObservation) -> Finding | None:
    with ImapProbe.open(
        ctx.host,
        obs.port,
        deadline=ctx.deadline,
        op_timeout_s=ctx.options.op_timeout_s,
        implicit_tls=obs.transport.value == "tls",
    ) as probe:
        if obs.starttls is not None and obs.starttls.upgraded:
            if not probe.starttls().upgraded:
                return None
        tag = probe.next_tag()
        probe.send(f"{tag} AUTHENTICATE NTLM\r\n".encode())
        first = probe.read_response()
        if isinstance(first, Tagged) or not isinstance(first, Continuation):
            return None
        probe.send(base64.b64encode(NEGOTIATE_MESSAGE) + b"\r\n")
        challenge = probe.read_response()
        if not isinstance(challenge, Continuation):
            return None
        probe.send(b"*\r\n", log_as="* (exchange cancelled)")
        try:
            probe.collect(tag)
        except ProbeError:
            pass
        try:
            info = parse_challenge(base64.b64decode(challenge.text.strip(), validate=True))
        except (ValueError, binascii.Error, struct.error):
            return None
        disclosed = [f"target name: {info.target_name}"] if info.target_name else []
        disclosed += [f"{label}: {value}" for label, value in info.names]
        if info.os_version:
            disclosed.append(f"OS version: {info.os_version}")
        if not disclosed:
            return None
        return Finding(
            id="ntlm-info-disclosure",
            severity=Severity.LOW,
            title="NTLM challenge discloses internal host and domain names",
            evidence=f"port {obs.port}: AUTHENTICATE NTLM with an anonymous NEGOTIATE:\n"
            + "\n".join(disclosed),
            remediation="Disable NTLM on internet-facing IMAP (Exchange: "
            "Set-ImapSettings -EnableGSSAPIAndNTLMAuth $false).",
            references=("MS-NLMP §2.2.1.2", "nmap imap-ntlm-info"),
            port=obs.port,
        )


def run(ctx: HostContext) -> list[Finding]:
    for obs in ctx.observations:
        if "AUTH=NTLM" not in obs.all_capabilities or obs.is_preauth:
            continue
        try:
            found = _probe(ctx, obs)
        except ProbeError:
            continue
        if found is not None:
            return [found]
    return []


CHECK = Check(name="ntlm", description="NTLM challenge information disclosure", run=run)
