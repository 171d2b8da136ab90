from __future__ import annotations

import pytest

from mailfort.auth.sasl import (
    BearerCredentials,
    Challenge,
    PasswordCredentials,
    SaslFailed,
    advertised,
    create,
)
from mailfort.auth.sasl.oauthbearer import OAuthBearer
from mailfort.core.secret import Secret


def test_plain_with_and_without_initial_response() -> None:
    m = create("plain", is_tls=True)
    assert m.start(None) == Challenge(b"")
    assert m.step(b"\0alice\0pw") == PasswordCredentials("alice", "", Secret("pw"))
    m2 = create("PLAIN", is_tls=True)
    assert m2.start(b"alice\0alice\0pw") == PasswordCredentials("alice", "alice", Secret("pw"))


@pytest.mark.parametrize("data", [b"alice\0pw", b"bob\0alice\0pw", b"\0\0pw", b"\0a\0",
                                  b"\0a\0\xff", b"\0a\0b\0c"])
def test_plain_refuses_malformed(data: bytes) -> None:
    with pytest.raises(SaslFailed):
        create("PLAIN", is_tls=True).start(data)


def test_login_two_steps() -> None:
    m = create("LOGIN", is_tls=True)
    assert m.start(None) == Challenge(b"Username:")
    assert m.step(b"alice") == Challenge(b"Password:")
    assert m.step(b"pw") == PasswordCredentials("alice", "", Secret("pw"))
    with pytest.raises(SaslFailed):
        m.step(b"again")


def test_oauthbearer_and_error_flow() -> None:
    m = OAuthBearer()
    creds = m.start(b"n,a=user@example.com,\x01host=imap.example.com\x01port=993\x01"
                    b"auth=Bearer mft1.abc.def\x01\x01")
    assert creds == BearerCredentials("user@example.com", Secret("mft1.abc.def"))
    err = m.failure_challenge()
    assert b'"status":"invalid_token"' in err.data
    with pytest.raises(SaslFailed):
        m.step(b"\x01")


@pytest.mark.parametrize("data", [b"p=tls-unique,,\x01auth=Bearer x\x01\x01",
                                  b"n,,\x01auth=Basic x\x01\x01", b"n,,\x01auth=Bearer x\x01",
                                  b"n,a=a=b,\x01auth=Bearer x\x01\x01"])
def test_oauthbearer_refuses_malformed(data: bytes) -> None:
    with pytest.raises(SaslFailed):
        OAuthBearer().start(data)


def test_xoauth2() -> None:
    m = create("XOAUTH2", is_tls=True)
    assert m.start(b"user=bob\x01auth=Bearer tok\x01\x01") == BearerCredentials("bob",
                                                                                Secret("tok"))
    with pytest.raises(SaslFailed):
        create("XOAUTH2", is_tls=True).start(b"auth=Bearer tok\x01\x01")


def test_only_over_tls() -> None:
    assert advertised(is_tls=False) == ()
    assert set(advertised(is_tls=True)) == {"PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2"}
    with pytest.raises(SaslFailed):
        create("PLAIN", is_tls=False)
    with pytest.raises(SaslFailed):
        create("CRAM-MD5", is_tls=True)
