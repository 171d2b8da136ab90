"""``store.security`` conformance: every backend (and the in-memory fakes) behaves alike."""

from __future__ import annotations

import itertools

from security_backend import Backend

from mailfort.store.security import (
    AppPassword,
    Ban,
    BanKind,
    IssuedToken,
    KnownSource,
    MfaSecret,
    PasswordState,
)
from mailfort.store.types import User

T0 = 1_700_000_000.0
_names = itertools.count(1)


async def new_user(b: Backend) -> User:
    return await b.users.create(f"user{next(_names)}@example.com", "$argon2id$v=19$dummy")


def app(user: User, ident: str, name: str = "laptop", *, created: float = T0,
        expires: float | None = None) -> AppPassword:
    return AppPassword(ident, user.id, name, "ab" * 32, "imap", created, expires, None, None,
                       None)


# -- MFA secrets ---------------------------------------------------------------------------

async def test_mfa_secret_round_trip_and_replace(backend: Backend) -> None:
    store = backend.security.mfa_secrets
    alice, bob = await new_user(backend), await new_user(backend)
    assert await store.get(alice.id) is None
    pending = MfaSecret(alice.id, "JBSWY3DPEHPK3PXP", False, T0, -1)
    await store.put(pending)
    assert await store.get(alice.id) == pending
    confirmed = MfaSecret(alice.id, "JBSWY3DPEHPK3PXP", True, T0, 56_666_666)
    await store.put(confirmed)
    assert await store.get(alice.id) == confirmed
    assert await store.get(bob.id) is None


async def test_mfa_step_only_moves_forward(backend: Backend) -> None:
    store = backend.security.mfa_secrets
    alice = await new_user(backend)
    await store.put(MfaSecret(alice.id, "JBSWY3DPEHPK3PXP", True, T0, 100))
    assert not await store.set_last_used_step(alice.id, 100)  # replay of the same step
    assert not await store.set_last_used_step(alice.id, 99)
    assert await store.set_last_used_step(alice.id, 101)
    assert not await store.set_last_used_step(alice.id, 101)
    got = await store.get(alice.id)
    assert got is not None and got.last_used_step == 101


async def test_mfa_delete(backend: Backend) -> None:
    store = backend.security.mfa_secrets
    alice, bob = await new_user(backend), await new_user(backend)
    for u in (alice, bob):
        await store.put(MfaSecret(u.id, "JBSWY3DPEHPK3PXP", True, T0, -1))
    await store.delete(alice.id)
    await store.delete(alice.id)  # deleting twice is harmless
    assert await store.get(alice.id) is None
    assert await store.get(bob.id) is not None


# -- recovery codes -----------------------------------------------------------------------

async def test_recovery_codes_work_once_and_per_user(backend: Backend) -> None:
    codes = backend.security.recovery_codes
    alice, bob = await new_user(backend), await new_user(backend)
    assert await codes.count(alice.id) == 0
    await codes.replace(alice.id, ["a1", "a2", "a3"])
    await codes.replace(bob.id, ["b1"])
    assert await codes.count(alice.id) == 3
    assert not await codes.consume(alice.id, "b1")  # another user's code
    assert await codes.consume(alice.id, "a2")
    assert not await codes.consume(alice.id, "a2")
    assert await codes.count(alice.id) == 2
    await codes.replace(alice.id, ["n1"])
    assert not await codes.consume(alice.id, "a1")  # replaced codes are gone
    assert await codes.count(alice.id) == 1
    await codes.replace(alice.id, [])
    assert await codes.count(alice.id) == 0
    assert await codes.count(bob.id) == 1


# -- app passwords ------------------------------------------------------------------------

async def test_app_password_round_trip(backend: Backend) -> None:
    apps = backend.security.app_passwords
    alice, bob = await new_user(backend), await new_user(backend)
    first = app(alice, "0001", "laptop", created=T0, expires=T0 + 86400)
    second = app(alice, "0002", "phone", created=T0 + 1)
    await apps.add(first)
    await apps.add(second)
    await apps.add(app(bob, "0003"))
    assert await apps.list(alice.id) == [first, second]
    assert [a.id for a in await apps.list(bob.id)] == ["0003"]


async def test_app_password_revoke(backend: Backend) -> None:
    apps = backend.security.app_passwords
    alice, bob = await new_user(backend), await new_user(backend)
    await apps.add(app(alice, "0001"))
    assert not await apps.revoke(bob.id, "0001", T0 + 5)  # not bob's
    assert not await apps.revoke(alice.id, "nope", T0 + 5)
    assert await apps.revoke(alice.id, "0001", T0 + 5)
    assert not await apps.revoke(alice.id, "0001", T0 + 6)  # already revoked
    [row] = await apps.list(alice.id)
    assert row.revoked_at == T0 + 5 and not row.is_usable(T0 + 10)


async def test_app_password_mark_used(backend: Backend) -> None:
    apps = backend.security.app_passwords
    alice = await new_user(backend)
    await apps.add(app(alice, "0001"))
    await apps.add(app(alice, "0002", "phone"))
    await apps.mark_used("0001", T0 + 60, "192.0.2.7")
    await apps.mark_used("0001", T0 + 90, "2001:db8::1")
    rows = {a.id: a for a in await apps.list(alice.id)}
    assert (rows["0001"].last_used_at, rows["0001"].last_used_peer) == (T0 + 90, "2001:db8::1")
    assert (rows["0002"].last_used_at, rows["0002"].last_used_peer) == (None, None)


# -- tokens ---------------------------------------------------------------------------------

async def test_tokens_round_trip_and_revoke(backend: Backend) -> None:
    tokens = backend.security.tokens
    alice = await new_user(backend)
    tok = IssuedToken("jti-1", alice.id, T0, T0 + 3600, None)
    await tokens.add(tok)
    assert await tokens.get("jti-1") == tok
    assert await tokens.get("jti-2") is None
    assert await tokens.revoke("jti-1", T0 + 10)
    assert not await tokens.revoke("jti-1", T0 + 11)
    assert not await tokens.revoke("jti-2", T0 + 11)
    got = await tokens.get("jti-1")
    assert got is not None and got.revoked_at == T0 + 10


async def test_tokens_revoke_all_counts_only_live_ones_of_the_user(backend: Backend) -> None:
    tokens = backend.security.tokens
    alice, bob = await new_user(backend), await new_user(backend)
    for i in range(3):
        await tokens.add(IssuedToken(f"a{i}", alice.id, T0, T0 + 3600, None))
    await tokens.add(IssuedToken("b0", bob.id, T0, T0 + 3600, None))
    await tokens.revoke("a0", T0 + 1)
    assert await tokens.revoke_all(alice.id, T0 + 2) == 2
    assert await tokens.revoke_all(alice.id, T0 + 3) == 0
    b0 = await tokens.get("b0")
    assert b0 is not None and b0.revoked_at is None
    a0 = await tokens.get("a0")
    assert a0 is not None and a0.revoked_at == T0 + 1  # the first revocation time is kept


async def test_tokens_purge_expired(backend: Backend) -> None:
    tokens = backend.security.tokens
    alice = await new_user(backend)
    await tokens.add(IssuedToken("old", alice.id, T0, T0 + 10, None))
    await tokens.add(IssuedToken("new", alice.id, T0, T0 + 1000, None))
    assert await tokens.purge_expired(T0 + 100) == 1
    assert await tokens.get("old") is None
    assert await tokens.get("new") is not None
    assert await tokens.purge_expired(T0 + 100) == 0


# -- guard state --------------------------------------------------------------------------

async def test_bans_put_replace_delete(backend: Backend) -> None:
    state = backend.security.guard_state
    assert await state.bans() == []
    addr = Ban("192.0.2.7", BanKind.ADDRESS, "20 failed logins", T0, T0 + 900, 0, False)
    net = Ban("2001:db8::/64", BanKind.NETWORK, "by hand", T0 + 1, None, 2, True)
    await state.put_ban(addr)
    await state.put_ban(net)
    assert {b.source: b for b in await state.bans()} == {addr.source: addr, net.source: net}
    longer = Ban("192.0.2.7", BanKind.ADDRESS, "again", T0 + 2000, T0 + 5600, 1, False)
    await state.put_ban(longer)
    by_source = {b.source: b for b in await state.bans()}
    assert by_source == {"192.0.2.7": longer, "2001:db8::/64": net}
    assert await state.delete_ban("192.0.2.7")
    assert not await state.delete_ban("192.0.2.7")
    assert await state.bans() == [net]


async def test_known_sources_put_and_replace(backend: Backend) -> None:
    state = backend.security.guard_state
    assert await state.known_sources() == []
    a = KnownSource("alice@example.com", "192.0.2.0/24", T0, T0)
    b = KnownSource("alice@example.com", "2001:db8::/64", T0, T0 + 5)
    c = KnownSource("bob@example.com", "192.0.2.0/24", T0, T0)
    for k in (a, b, c):
        await state.put_known_source(k)
    a2 = KnownSource("alice@example.com", "192.0.2.0/24", T0, T0 + 99)
    await state.put_known_source(a2)
    got = {(k.user, k.network): k for k in await state.known_sources()}
    assert got == {(a.user, a.network): a2, (b.user, b.network): b, (c.user, c.network): c}


# -- password states ----------------------------------------------------------------------

async def test_password_states(backend: Backend) -> None:
    states = backend.security.password_states
    alice, bob = await new_user(backend), await new_user(backend)
    assert await states.get(alice.id) is None
    await states.put(PasswordState(alice.id, None, False))
    assert await states.get(alice.id) == PasswordState(alice.id, None, False)
    await states.put(PasswordState(alice.id, T0, True))
    assert await states.get(alice.id) == PasswordState(alice.id, T0, True)
    assert await states.get(bob.id) is None
