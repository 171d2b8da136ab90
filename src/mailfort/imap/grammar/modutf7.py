"""Modified UTF-7 for mailbox names (RFC 3501 §5.1.3; RFC 9051 §5.1.3)."""

from __future__ import annotations

import base64
import binascii

__all__ = ["encode_mutf7", "decode_mutf7", "InvalidMutf7"]


class InvalidMutf7(ValueError):
    pass


def _b64(chunk: str) -> bytes:
    data = chunk.encode("utf-16-be")
    return base64.b64encode(data).rstrip(b"=").replace(b"/", b",")


def encode_mutf7(name: str) -> bytes:
    out = bytearray()
    pending: list[str] = []

    def flush() -> None:
        if pending:
            out.extend(b"&" + _b64("".join(pending)) + b"-")
            pending.clear()

    for ch in name:
        o = ord(ch)
        if 0x20 <= o <= 0x7E:
            flush()
            out.extend(b"&-" if ch == "&" else ch.encode("ascii"))
        else:
            pending.append(ch)
    flush()
    return bytes(out)


def decode_mutf7(raw: bytes) -> str:
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == 0x26:  # '&'
            j = raw.find(b"-", i + 1)
            if j < 0:
                raise InvalidMutf7("unterminated shift sequence")
            chunk = raw[i + 1 : j]
            if not chunk:
                out.append("&")
            else:
                b64 = chunk.replace(b",", b"/")
                b64 += b"=" * (-len(b64) % 4)
                try:
                    text = base64.b64decode(b64, validate=True).decode("utf-16-be")
                except (binascii.Error, UnicodeDecodeError) as exc:
                    raise InvalidMutf7("bad base64 in shift sequence") from exc
                if any(0x20 <= ord(ch) <= 0x7E for ch in text):
                    raise InvalidMutf7("printable ASCII must not be encoded")
                out.append(text)
            i = j + 1
        elif 0x20 <= c <= 0x7E:
            out.append(chr(c))
            i += 1
        else:
            raise InvalidMutf7("8-bit or control byte in mailbox name")
    return "".join(out)
