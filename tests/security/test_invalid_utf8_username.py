"""SECURITY.md row #18 — CVE-2019-10691 (Dovecot < 2.3.5.2): an invalid UTF-8 user name crashed
the auth process in its JSON encoder.

Logging and serialising attacker bytes must not assume valid UTF-8. Safe behaviour: LOGIN with
``\\xff\\xfe\\xc0\\x80`` as the user name, and AUTHENTICATE PLAIN whose authzid/authcid are
invalid UTF-8, get NO (or BAD); the server keeps serving logins; its log stays valid UTF-8 (the
bytes were escaped, not written raw) — checked with the log in JSON format too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.security.wire import Server, plain_sasl, serving

BAD_UTF8 = [b"\xff\xfe\xc0\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"al\x80ice",
            b"\xf8\x88\x80\x80\x80"]


@pytest.fixture(scope="module", params=["text", "json"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    overrides: dict[str, dict[str, str | int | bool]] = {"log": {"format": request.param}}
    with serving(tmp_path_factory.mktemp("mailfort"), overrides=overrides) as srv:
        yield srv


@pytest.mark.parametrize("user", BAD_UTF8)
def test_invalid_utf8_user_names(server: Server, user: bytes) -> None:
    wire = server.tls()
    reply, _ = wire.literal_command("a", b"LOGIN ", user, b' "x"')
    assert reply.status in (b"NO", b"BAD"), reply
    sasl = wire.command("b", b"AUTHENTICATE PLAIN " + plain_sasl(b"", user, b"x"))
    assert sasl.status in (b"NO", b"BAD"), sasl
    wire.close()
    wire = server.tls()
    authz = wire.command("c", b"AUTHENTICATE PLAIN " + plain_sasl(
        user, b"alice", server.passwords["alice"].encode()))
    assert authz.status in (b"NO", b"BAD"), authz
    assert server.login("alice").command("s", b"SELECT INBOX").is_ok
    server.log_bytes().decode("utf-8")  # raises if raw invalid bytes reached the log
