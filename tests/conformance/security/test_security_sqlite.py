"""What only a real database shows: state survives a reopen (guard state survives a restart),
and an account's security rows go with the account."""

from __future__ import annotations

from pathlib import Path

from mailfort.store.security import (
    AppPassword,
    Ban,
    BanKind,
    IssuedToken,
    KnownSource,
    MfaSecret,
    PasswordState,
)
from mailfort.store.sqlite import open_sqlite_store

T0 = 1_700_000_000.0


async def test_security_state_survives_a_reopen(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = await open_sqlite_store(data)
    try:
        alice = await store.users.create("alice@example.com", "$argon2id$dummy")
        sec = store.security
        await sec.mfa_secrets.put(MfaSecret(alice.id, "JBSWY3DPEHPK3PXP", True, T0, 7))
        await sec.recovery_codes.replace(alice.id, ["c1", "c2"])
        await sec.app_passwords.add(AppPassword("ap1", alice.id, "phone", "00" * 32, "imap",
                                                T0, None, None, None, None))
        await sec.tokens.add(IssuedToken("jti", alice.id, T0, T0 + 60, None))
        await sec.guard_state.put_ban(Ban("198.51.100.0/24", BanKind.NETWORK, "stuffing", T0,
                                          T0 + 900, 1, False))
        await sec.guard_state.put_known_source(
            KnownSource("alice@example.com", "192.0.2.0/24", T0, T0))
        await sec.password_states.put(PasswordState(alice.id, T0, False))
    finally:
        await store.close()

    store = await open_sqlite_store(data)
    try:
        sec = store.security
        secret = await sec.mfa_secrets.get(alice.id)
        assert secret is not None and secret.last_used_step == 7 and secret.is_confirmed
        assert await sec.recovery_codes.count(alice.id) == 2
        assert [a.name for a in await sec.app_passwords.list(alice.id)] == ["phone"]
        assert await sec.tokens.get("jti") is not None
        assert [b.source for b in await sec.guard_state.bans()] == ["198.51.100.0/24"]
        assert len(await sec.guard_state.known_sources()) == 1
        assert await sec.password_states.get(alice.id) == PasswordState(alice.id, T0, False)
    finally:
        await store.close()


async def test_deleting_an_account_deletes_its_security_rows(tmp_path: Path) -> None:
    store = await open_sqlite_store(tmp_path / "data")
    try:
        alice = await store.users.create("alice@example.com", "$argon2id$dummy")
        sec = store.security
        await sec.mfa_secrets.put(MfaSecret(alice.id, "JBSWY3DPEHPK3PXP", True, T0, 7))
        await sec.recovery_codes.replace(alice.id, ["c1"])
        await sec.app_passwords.add(AppPassword("ap1", alice.id, "phone", "00" * 32, "imap",
                                                T0, None, None, None, None))
        await sec.tokens.add(IssuedToken("jti", alice.id, T0, T0 + 60, None))
        await sec.password_states.put(PasswordState(alice.id, T0, True))
        await store.users.delete("alice@example.com")
        assert await sec.mfa_secrets.get(alice.id) is None
        assert await sec.recovery_codes.count(alice.id) == 0
        assert await sec.app_passwords.list(alice.id) == []
        assert await sec.tokens.get("jti") is None  # a deleted user's token can never verify
        assert await sec.password_states.get(alice.id) is None
    finally:
        await store.close()
