"""A seeded, reproducible corpus of realistic messages for the benchmark.

The same ``(seed, index)`` always gives the same bytes, so both servers get byte-identical
mailboxes and two runs of the benchmark see the same mail. Messages are RFC 5322 with CRLF line
ends: a ``multipart/mixed`` of a text part (sometimes ``multipart/alternative`` text + HTML) and,
for most, one or two base64 attachments that bring the message to its target size. Sizes are
log-uniform between ``min_bytes`` and ``max_bytes`` (many small, a few large, like a real
mailbox). Dates spread over two years so ``SEARCH SINCE`` selects a fraction.

A fixed share of messages (``NEEDLE_SHARE``) carry the word ``NEEDLE`` in their text part and a
fixed share come from ``NEEDLE_SENDER``, so SEARCH TEXT and SEARCH FROM have a known, small
answer to find in a big mailbox.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["CorpusMessage", "generate", "message", "NEEDLE", "NEEDLE_SENDER", "SINCE_DATE",
           "expected_needles", "expected_from"]

NEEDLE: Final = "quokkafirmament"
NEEDLE_SHARE: Final = 0.01
NEEDLE_SENDER: Final = "zelda.quartermaine@example.org"
SENDER_SHARE: Final = 0.02
EPOCH: Final = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)
SPAN_DAYS: Final = 730
# SEARCH SINCE this date matches roughly the last quarter of the corpus's dates.
SINCE_DATE: Final = (EPOCH + dt.timedelta(days=int(SPAN_DAYS * 0.75))).date()

_FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "wendy")
_LAST = ("smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "taylor", "moore",
         "martin", "lee", "walker", "hall", "young", "king", "wright", "scott", "green")
_DOMAINS = ("example.com", "example.net", "example.org", "corp.example", "mail.example")
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "so", "vi", "de", "pa", "ri", "gu", "fe",
              "bo", "ly", "za", "che", "tor", "man", "ser", "ven", "dal", "ric", "ost")
_ATTACH = (("application/pdf", "report", "pdf"), ("image/png", "photo", "png"),
           ("application/zip", "archive", "zip"),
           ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "budget", "xlsx"))


@dataclass(frozen=True, slots=True)
class CorpusMessage:
    index: int
    raw: bytes
    date: dt.datetime
    has_needle: bool
    from_needle_sender: bool


def _vocabulary(rng: random.Random, size: int = 2000) -> tuple[str, ...]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return tuple(sorted(words))


_VOCAB: Final = _vocabulary(random.Random(0xC0FFEE))


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(_VOCAB) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: random.Random, approx_bytes: int, needle: bool) -> str:
    lines: list[str] = []
    size = 0
    while size < approx_bytes:
        line = _sentence(rng, rng.randint(6, 12))
        lines.append(line)
        size += len(line) + 2
    if needle:
        at = rng.randrange(len(lines))
        lines[at] = lines[at][:-1] + f" {NEEDLE}."
    return "\r\n".join(lines)


def _address(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return f"{first.capitalize()} {last.capitalize()}", f"{first}.{last}@{rng.choice(_DOMAINS)}"


def _base64_lines(data: bytes) -> str:
    text = base64.b64encode(data).decode("ascii")
    return "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def message(seed: int, index: int, *, min_bytes: int = 2048,
            max_bytes: int = 200 * 1024) -> CorpusMessage:
    """Message number ``index`` of the corpus ``seed``: deterministic bytes."""
    rng = random.Random(f"{seed}:{index}")
    target = int(math.exp(rng.uniform(math.log(min_bytes), math.log(max_bytes))))
    has_needle = rng.random() < NEEDLE_SHARE
    from_needle = rng.random() < SENDER_SHARE
    date = EPOCH + dt.timedelta(seconds=int(rng.uniform(0, SPAN_DAYS * 86400)))
    from_name, from_addr = ("Zelda Quartermaine", NEEDLE_SENDER) if from_needle \
        else _address(rng)
    to_name, to_addr = _address(rng)
    subject = _sentence(rng, rng.randint(3, 8))[:-1]
    boundary = f"=_mb_{seed}_{index}_{rng.getrandbits(48):012x}"
    headers = [
        f"Return-Path: <{from_addr}>",
        f"Received: from mx{rng.randint(1, 9)}.example.net"
        f" (mx.example.net [192.0.2.{rng.randint(1, 254)}])"
        f"\r\n\tby mail.example.com with ESMTPS id {rng.getrandbits(64):016x}"
        f"\r\n\tfor <{to_addr}>; {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"From: {from_name} <{from_addr}>",
        f"To: {to_name} <{to_addr}>",
        f"Subject: {subject}",
        f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"Message-ID: <{seed}.{index}.{rng.getrandbits(32):08x}@example.com>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
    ]
    if rng.random() < 0.3:
        headers.append(f"Cc: {' '.join(_address(rng)[1] for _ in range(rng.randint(1, 3)))}")
    text_bytes = min(target // 2, rng.randint(400, 6000))
    body_text = _paragraphs(rng, text_bytes, has_needle)
    parts: list[str] = []
    if rng.random() < 0.4:
        alt = f"{boundary}_alt"
        html = "<html><body><p>" + body_text.replace("\r\n", "</p>\r\n<p>") + "</p></body></html>"
        parts.append(
            f'Content-Type: multipart/alternative; boundary="{alt}"\r\n\r\n'
            f"--{alt}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{body_text}\r\n"
            f"--{alt}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{html}\r\n--{alt}--")
    else:
        parts.append("Content-Type: text/plain; charset=utf-8\r\n"
                     f"Content-Transfer-Encoding: 7bit\r\n\r\n{body_text}")
    used = sum(len(h) + 2 for h in headers) + sum(len(p) for p in parts) + 200
    remaining = target - used
    if remaining > 512:
        count = 1 if remaining < 40_000 or rng.random() < 0.5 else 2
        for k in range(count):
            ctype, stem, ext = rng.choice(_ATTACH)
            raw_size = max(64, (remaining // count) * 3 // 4 - 120)
            payload = _base64_lines(rng.randbytes(raw_size))
            parts.append(f'Content-Type: {ctype}; name="{stem}{k}.{ext}"\r\n'
                         "Content-Transfer-Encoding: base64\r\n"
                         f'Content-Disposition: attachment; filename="{stem}{k}.{ext}"\r\n'
                         f"\r\n{payload}")
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
    raw = ("\r\n".join(headers) + "\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n"
           + body).encode("utf-8")
    return CorpusMessage(index, raw, date, has_needle, from_needle)


def generate(seed: int, count: int, *, min_bytes: int = 2048,
             max_bytes: int = 200 * 1024) -> Iterator[CorpusMessage]:
    """Messages ``0 .. count-1`` of the corpus ``seed``, in order."""
    for index in range(count):
        yield message(seed, index, min_bytes=min_bytes, max_bytes=max_bytes)


def expected_needles(seed: int, count: int) -> int:
    """How many of the first ``count`` messages contain NEEDLE (cheap: no message built)."""
    return sum(1 for m in generate(seed, count, max_bytes=4096) if m.has_needle)


def expected_from(seed: int, count: int) -> int:
    return sum(1 for m in generate(seed, count, max_bytes=4096) if m.from_needle_sender)
