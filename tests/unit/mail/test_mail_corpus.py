"""Known-answer tests for ``mail.mime.parse_message``: ENVELOPE and BODYSTRUCTURE byte-exact.

The corpus is under ``corpus/``. Expected values were derived by hand from RFC 9051 §7.5.2,
RFC 2045/2046/2047/2231 and RFC 5322, and cross-checked against Dovecot 2.3.19 (FETCH
BODYSTRUCTURE ENVELOPE over the same files). Where we differ from Dovecot on purpose:

- ``bad_content_type``: a syntactically invalid Content-Type is text/plain; charset=us-ascii
  (RFC 2045 §5.2); Dovecot sends ``("garbage" "" ...)``.
- ``padding``: ``--boundaryXYZ`` is not a delimiter (only transport padding may follow the
  boundary); Dovecot matches boundaries by prefix.
- ``rfc822_inner``: the line break before the outer delimiter belongs to that delimiter
  (RFC 2046 §5.1.1), so the message/rfc822 part is 288 octets; Dovecot counts 290.
- ``rfc2231``: merged continuations keep their position among the parameters.
- ``encoded_words``: the 103-octet subject is quoted; Dovecot sends a literal (both valid).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailfort.mail.mime import parse_message

CORPUS = Path(__file__).parent / "corpus"

KNOWN: list[tuple[str, bytes, bytes]] = [
    ('bad_content_type.eml',
     b'(NIL NIL ((NIL NIL "bad" "example.com")) ((NIL NIL "bad" "example.com")) ((NIL N'
     b'IL "bad" "example.com")) NIL NIL NIL NIL NIL)',
     b'("text" "plain" ("charset" "us-ascii") NIL NIL "x-uuencode" 18 2 NIL NIL NIL NIL'
     b')'),
    ('bare_lf.eml',
     b'(NIL "bare LF" ((NIL NIL "lf" "example.com")) ((NIL NIL "lf" "example.com")) ((N'
     b'IL NIL "lf" "example.com")) NIL NIL NIL NIL NIL)',
     b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 9 0 NIL NIL NIL NIL)("tex'
     b't" "html" ("charset" "utf-8") NIL NIL "7bit" 23 0 NIL NIL NIL NIL) "alternative"'
     b' ("boundary" "b1") NIL NIL NIL)'),
    ('base64_text.eml',
     b'(NIL NIL ((NIL NIL "b" "example.com")) ((NIL NIL "b" "example.com")) ((NIL NIL "'
     b'b" "example.com")) NIL NIL NIL NIL NIL)',
     b'("text" "plain" ("charset" "utf-8") NIL NIL "base64" 24 2 NIL NIL NIL NIL)'),
    ('digest.eml',
     b'(NIL NIL ((NIL NIL "digest" "example.com")) ((NIL NIL "digest" "example.com")) ('
     b'(NIL NIL "digest" "example.com")) NIL NIL NIL NIL NIL)',
     b'(("message" "rfc822" NIL NIL NIL "7bit" 44 (NIL "first" ((NIL NIL "one" "example'
     b'.com")) ((NIL NIL "one" "example.com")) ((NIL NIL "one" "example.com")) NIL NIL '
     b'NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL N'
     b'IL NIL) 3 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" '
     b'13 0 NIL NIL NIL NIL) "digest" ("boundary" "dd") NIL NIL NIL)'),
    ('eight_bit.eml',
     b'(NIL {17}\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln (({5}\r\nJ\xc3\xb6rg NIL "joerg'
     b'" "example.de")) (({5}\r\nJ\xc3\xb6rg NIL "joerg" "example.de")) (({5}\r\nJ\xc3'
     b'\xb6rg NIL "joerg" "example.de")) NIL NIL NIL NIL NIL)',
     b'("text" "plain" ("charset" "iso-8859-1") NIL NIL "8bit" 12 1 NIL NIL NIL NIL)'),
    ('empty_body.eml',
     b'(NIL "empty" ((NIL NIL "e" "example.com")) ((NIL NIL "e" "example.com")) ((NIL N'
     b'IL "e" "example.com")) NIL NIL NIL NIL NIL)',
     b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'),
    ('encoded_words.eml',
     b'(NIL "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlc'
     b'nN0YW5kIHRoZSBleGFtcGxlLg==?=" (("=?UTF-8?B?SsO8cmdlbg==?=" NIL "juergen" "examp'
     b'le.de")) (("=?UTF-8?B?SsO8cmdlbg==?=" NIL "juergen" "example.de")) (("=?UTF-8?B?'
     b'SsO8cmdlbg==?=" NIL "juergen" "example.de")) (("=?iso-8859-1?Q?Andr=E9?= Pirard"'
     b' NIL "PIRARD" "vm1.ulg.ac.be")) NIL NIL NIL NIL)',
     b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)'),
    ('groups.eml',
     b'(NIL NIL (("Doe, John" "@route1,@route2" "john" "example.com")) (("Doe, John" "@'
     b'route1,@route2" "john" "example.com")) (("Reply Name" NIL "reply" "example.com")'
     b') ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "Friends" '
     b'NIL)(NIL NIL "alice" "example.com")("Bob" NIL "bob" "example.com")(NIL NIL NIL N'
     b'IL)(NIL NIL "carol" "example.com")) (("Mr. Nobody" NIL "nobody" "MISSING_DOMAIN"'
     b')) "<parent@example.com>" "<id@example.com>")',
     b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL)'),
    ('header_only.eml',
     b'(NIL "header only" ((NIL NIL "h" "example.com")) ((NIL NIL "h" "example.com")) ('
     b'(NIL NIL "h" "example.com")) NIL NIL NIL NIL NIL)',
     b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'),
    ('missing_close.eml',
     b'(NIL NIL ((NIL NIL "broken" "example.com")) ((NIL NIL "broken" "example.com")) ('
     b'(NIL NIL "broken" "example.com")) NIL NIL NIL NIL NIL)',
     b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)("tex'
     b't" "plain" ("charset" "us-ascii") NIL NIL "7bit" 22 1 NIL NIL NIL NIL) "mixed" ('
     b'"boundary" "zz") NIL NIL NIL)'),
    ('nested.eml',
     b'(NIL "nested" ((NIL NIL "nest" "example.com")) ((NIL NIL "nest" "example.com")) '
     b'((NIL NIL "nest" "example.com")) NIL NIL NIL NIL NIL)',
     b'((("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 14 0 NIL N'
     b'IL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "7bit" 18 0 NIL NIL NIL NI'
     b'L) "alternative" ("boundary" "inner") NIL NIL NIL)("application" "pdf" ("name" "'
     b'doc.pdf") "<part3@example.com>" "A document" "base64" 12 "Q2hlY2sgSW50ZWdyaXR5IQ'
     b'==" ("attachment" ("filename" "doc.pdf")) ("en" "de") "http://example.com/doc.pd'
     b'f") "mixed" ("boundary" "outer") NIL NIL NIL)'),
    ('no_boundary_found.eml',
     b'(NIL NIL ((NIL NIL "broken" "example.com")) ((NIL NIL "broken" "example.com")) ('
     b'(NIL NIL "broken" "example.com")) NIL NIL NIL NIL NIL)',
     b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mix'
     b'ed" ("boundary" "never") NIL NIL NIL)'),
    ('no_content_type.eml',
     b'(NIL "no type" ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) ((NIL'
     b' NIL "a" "example.com")) NIL NIL NIL NIL NIL)',
     b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 1 NIL NIL NIL NIL)'),
    ('padding.eml',
     b'(NIL NIL ((NIL NIL "pad" "example.com")) ((NIL NIL "pad" "example.com")) ((NIL N'
     b'IL "pad" "example.com")) NIL NIL NIL NIL NIL)',
     b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 38 2 NIL NIL NIL NIL) "mi'
     b'xed" ("boundary" "sp ace") NIL NIL NIL)'),
    ('rfc2231.eml',
     b'(NIL NIL ((NIL NIL "r" "example.com")) ((NIL NIL "r" "example.com")) ((NIL NIL "'
     b'r" "example.com")) NIL NIL NIL NIL NIL)',
     b'(("application" "octet-stream" ("name*" "utf-8\'\'%E2%82%AC%20rates.txt") NIL NI'
     b'L "base64" 8 NIL ("attachment" ("filename*" "iso-8859-1\'en\'caf%E9.txt")) NIL N'
     b'IL)("text" "plain" ("title" "long title" "charset" "us-ascii") NIL NIL "7bit" 1 '
     b'0 NIL NIL NIL NIL) "mixed" ("boundary" "pp") NIL NIL NIL)'),
    ('rfc822_inner.eml',
     b'(NIL "Fwd: inner" ((NIL NIL "outer" "example.com")) ((NIL NIL "outer" "example.c'
     b'om")) ((NIL NIL "outer" "example.com")) ((NIL NIL "someone" "example.com")) NIL '
     b'NIL NIL NIL)',
     b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL)("me'
     b'ssage" "rfc822" NIL NIL NIL "7bit" 288 ("2 Jan 2020 08:00:00 +0000" "the inner o'
     b'ne" (("Inner Sender" NIL "inner" "example.org")) (("Inner Sender" NIL "inner" "e'
     b'xample.org")) (("Inner Sender" NIL "inner" "example.org")) NIL NIL NIL NIL NIL) '
     b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL)("te'
     b'xt" "plain" ("name" "x.txt" "charset" "us-ascii") NIL NIL "7bit" 12 0 NIL ("inli'
     b'ne" NIL) NIL NIL) "mixed" ("boundary" "in2") NIL NIL NIL) 14 NIL NIL NIL NIL) "m'
     b'ixed" ("boundary" "XYZ") NIL NIL NIL)'),
    ('simple.eml',
     b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" '
     b'(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.'
     b'washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "im'
     b'ap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensi'
     b'n" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")',
     b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7bit" 28 2 NIL NIL NIL NIL)'),
    ('top_rfc822.eml',
     b'(NIL NIL ((NIL NIL "wrap" "example.com")) ((NIL NIL "wrap" "example.com")) ((NIL'
     b' NIL "wrap" "example.com")) NIL NIL NIL NIL NIL)',
     b'("message" "rfc822" NIL NIL NIL "7bit" 61 (NIL "wrapped" ((NIL NIL "wrapped" "ex'
     b'ample.com")) ((NIL NIL "wrapped" "example.com")) ((NIL NIL "wrapped" "example.co'
     b'm")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" '
     b'14 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)'),
]


def test_corpus_is_complete() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == {name for name, _, _ in KNOWN}
    assert len(KNOWN) >= 15


@pytest.mark.parametrize(("name", "envelope", "bodystructure"), KNOWN,
                         ids=[k[0] for k in KNOWN])
def test_known_answers(name: str, envelope: bytes, bodystructure: bytes) -> None:
    raw = (CORPUS / name).read_bytes()
    parsed = parse_message(raw)
    assert parsed.envelope == envelope
    assert parsed.bodystructure == bodystructure
    assert parsed.size == len(raw)
