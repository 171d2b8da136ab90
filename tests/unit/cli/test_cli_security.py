"""Account-security commands end to end: `python -m mailfort.cli.main --config X ...` in a
subprocess, codes on standard input, state read back through the store."""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import bcrypt
import pyotp
import pytest

from mailfort.audit.events import NullSink
from mailfort.auth.app_passwords import hash_app_password
from mailfort.auth.legacy import sha_crypt
from mailfort.auth.passwords import PasswordHashing
from mailfort.cli.bootstrap import build_security
from mailfort.cli.main import main
from mailfort.config.load import load_settings
from mailfort.core.clock import SystemClock
from mailfort.core.secret import Secret
from mailfort.store.security import MfaSecret
from mailfort.store.sqlite import SqliteMailStore, open_sqlite_store

T = TypeVar("T")
TIMEOUT_S = 60
PASSWORD = "tundra-maple-quiver-42-oboe"  # noqa: S105 - a test account
ALICE = "alice@example.com"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "m.toml"
    path.write_text('[storage]\ndata_dir = "data"\n[auth]\nargon2_memory_kib = 1024\n'
                    'argon2_time_cost = 1\n[guard]\nallow = ["198.51.100.0/24"]\n')
    return path


def cli(cfg: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "mailfort.cli.main", "--config", str(cfg),  # noqa: S603
                             *args], input=stdin, capture_output=True, text=True,
                            timeout=TIMEOUT_S, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def with_store(cfg: Path, fn: Callable[[SqliteMailStore], Awaitable[T]]) -> T:
    async def go() -> T:
        store = await open_sqlite_store(cfg.parent / "data")
        try:
            return await asyncio.wait_for(fn(store), TIMEOUT_S)
        finally:
            await store.close()
    return asyncio.run(go())


def add_alice(cfg: Path) -> None:
    result = cli(cfg, "user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr


def seed_mfa(cfg: Path) -> None:
    """MFA on for alice with a known seed, no step used yet."""
    async def go(store: SqliteMailStore) -> None:
        user = await store.users.get(ALICE)
        assert user is not None
        await store.security.mfa_secrets.put(MfaSecret(user.id, SEED, True, time.time(), -1))
    with_store(cfg, go)


def code_now(seed: str = SEED) -> str:
    return pyotp.TOTP(seed).now()


def refused(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert words in result.stderr, result.stderr


# -- user add / passwd use the password policy ------------------------------------------------

@pytest.mark.parametrize(("password", "words"), [
    ("short", "too short"),
    ("password1234", "most common passwords"),
    ("alice-and-some-more-words", "contains your user name"),
    ("example-forest-lamp-9", "mail domain name"),
    ("aaaaaaaaaaaaaaaa", "too easy to guess"),
])
def test_user_add_refuses_bad_passwords_in_words(cfg: Path, password: str, words: str) -> None:
    refused(cli(cfg, "user", "add", ALICE, "--password-stdin", stdin=password + "\n"), words)


def test_user_passwd_applies_the_policy_and_records_the_change(cfg: Path) -> None:
    add_alice(cfg)
    refused(cli(cfg, "user", "passwd", ALICE, "--password-stdin", stdin="qwerty123456\n"),
            "most common passwords")
    ok = cli(cfg, "user", "passwd", ALICE, "--password-stdin", stdin="violet-harbor-71-sprocket\n")
    assert ok.returncode == 0, ok.stderr

    async def changed(store: SqliteMailStore) -> float | None:
        user = await store.users.get(ALICE)
        assert user is not None
        state = await store.security.password_states.get(user.id)
        assert state is not None and not state.must_change
        return state.changed_at
    changed_at = with_store(cfg, changed)
    assert changed_at is not None and abs(changed_at - time.time()) < TIMEOUT_S


# -- mfa ---------------------------------------------------------------------------------------

def _lines(stream: object, sink: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)


def test_mfa_enroll_confirms_a_code_and_prints_recovery_codes(cfg: Path) -> None:
    add_alice(cfg)
    proc = subprocess.Popen([sys.executable, "-m", "mailfort.cli.main", "--config", str(cfg),  # noqa: S603
                             "mfa", "enroll", ALICE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None and proc.stderr is not None
        errors: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stderr, errors), daemon=True).start()
        deadline = time.monotonic() + TIMEOUT_S
        while "6-digit code" not in errors.get(timeout=max(0.1, deadline - time.monotonic())):
            pass

        async def pending(store: SqliteMailStore) -> MfaSecret:
            user = await store.users.get(ALICE)
            assert user is not None
            secret = await store.security.mfa_secrets.get(user.id)
            assert secret is not None and not secret.is_confirmed
            return secret
        seed = with_store(cfg, pending).totp_secret
        out, err = proc.communicate(code_now(seed) + "\n", timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT_S)
    assert proc.returncode == 0, err
    assert "otpauth://totp/" in out
    assert "\u2580" in out or "\u2584" in out  # the QR code, in half blocks
    codes = [w.strip() for w in out.splitlines() if w.strip().count("-") == 3
             and len(w.strip()) == 19]
    assert len(set(codes)) == 10
    status = cli(cfg, "mfa", "status", ALICE)
    assert "MFA is on" in status.stdout and "10 recovery codes" in status.stdout

    async def stored(store: SqliteMailStore) -> tuple[bool, int]:
        user = await store.users.get(ALICE)
        assert user is not None
        secret = await store.security.mfa_secrets.get(user.id)
        return (secret is not None and secret.is_confirmed,
                await store.security.recovery_codes.count(user.id))
    assert with_store(cfg, stored) == (True, 10)
    again = cli(cfg, "mfa", "enroll", ALICE)
    refused(again, "already on")
    off = cli(cfg, "mfa", "disable", ALICE, "--yes")
    assert off.returncode == 0 and "MFA is off" in off.stdout
    assert "MFA is off" in cli(cfg, "mfa", "status", ALICE).stdout


def test_mfa_enroll_with_a_wrong_code_leaves_mfa_off(cfg: Path) -> None:
    add_alice(cfg)
    result = cli(cfg, "mfa", "enroll", ALICE, stdin="000000\n")
    refused(result, "not right")
    assert "never confirmed" in cli(cfg, "mfa", "status", ALICE).stdout
    refused(cli(cfg, "mfa", "enroll", ALICE, stdin=""), "no answer")


def test_mfa_errors_exit_2(cfg: Path) -> None:
    refused(cli(cfg, "mfa", "status", "nobody@example.com"), "no such user")
    add_alice(cfg)
    refused(cli(cfg, "mfa", "disable", ALICE), "--yes")


# -- app passwords ------------------------------------------------------------------------------

def test_app_password_create_needs_the_second_factor(cfg: Path) -> None:
    add_alice(cfg)
    seed_mfa(cfg)
    refused(cli(cfg, "app-password", "create", ALICE, "--name", "phone", stdin="123\n"),
            "not right")
    refused(cli(cfg, "app-password", "create", ALICE, "--name", "phone", "--expires", "soon",
                stdin=code_now() + "\n"), "not a duration")
    used_code = code_now()
    made = cli(cfg, "app-password", "create", ALICE, "--name", "phone", "--expires", "90d",
               stdin=used_code + "\n")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.split("\n\n")[1].strip()

    async def rows(store: SqliteMailStore) -> list[tuple[str, str, float | None]]:
        user = await store.users.get(ALICE)
        assert user is not None
        return [(a.name, a.secret_hash, a.expires_at)
                for a in await store.security.app_passwords.list(user.id)]
    [(name, stored_hash, expires)] = with_store(cfg, rows)
    assert name == "phone" and stored_hash == hash_app_password(secret)
    assert secret not in stored_hash
    assert expires is not None and abs(expires - time.time() - 90 * 86400) < TIMEOUT_S
    # the same code twice is a replay (the very code used above, not a fresh one: a 30-second
    # step may have ended in between)
    refused(cli(cfg, "app-password", "create", ALICE, "--name", "tablet",
                stdin=used_code + "\n"), "not right")


def test_app_password_list_and_revoke(cfg: Path) -> None:
    add_alice(cfg)  # no MFA: no second factor asked
    made = cli(cfg, "app-password", "create", ALICE, "--name", "Thunderbird on laptop")
    assert made.returncode == 0 and "MFA is off" in made.stdout
    listed = cli(cfg, "app-password", "list", ALICE)
    assert "Thunderbird on laptop" in listed.stdout and "active" in listed.stdout
    assert made.stdout.split("\n\n")[1].strip() not in listed.stdout  # never shown again
    refused(cli(cfg, "app-password", "create", ALICE, "--name", "Thunderbird on laptop"),
            "already exists")
    gone = cli(cfg, "app-password", "revoke", ALICE, "Thunderbird on laptop")
    assert gone.returncode == 0, gone.stderr
    assert "revoked" in cli(cfg, "app-password", "list", ALICE).stdout
    refused(cli(cfg, "app-password", "revoke", ALICE, "Thunderbird on laptop"),
            "no unrevoked app password")
    refused(cli(cfg, "app-password", "list", "nobody@example.com"), "no such user")


# -- tokens -------------------------------------------------------------------------------------

def test_token_issue_needs_password_and_second_factor(cfg: Path) -> None:
    add_alice(cfg)
    refused(cli(cfg, "token", "issue", ALICE, stdin=PASSWORD + "\n000000\n"), "turn MFA on")
    seed_mfa(cfg)
    refused(cli(cfg, "token", "issue", ALICE, stdin="wrong-password\n" + code_now() + "\n"),
            "password is not right")
    issued = cli(cfg, "token", "issue", ALICE, "--ttl", "30m",
                 stdin=PASSWORD + "\n" + code_now() + "\n")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("mft1.")
    token_id = issued.stderr.split("Token ", 1)[1].split(" ", 1)[0]

    async def verify(store: SqliteMailStore) -> str:
        settings = load_settings(cfg)
        hashing = PasswordHashing(settings.auth)
        try:
            sec = await build_security(settings, store, SystemClock(), NullSink(),
                                       hashing=hashing)
            claims = await sec.tokens.verify(Secret(token), user=ALICE)
            assert abs(claims.expires_at - time.time() - 1800) < TIMEOUT_S
            return claims.token_id
        finally:
            hashing.close()
    assert with_store(cfg, verify) == token_id
    revoked = cli(cfg, "token", "revoke", ALICE, token_id)
    assert revoked.returncode == 0, revoked.stderr
    refused(cli(cfg, "token", "revoke", ALICE, token_id), "no unrevoked token")
    refused(cli(cfg, "token", "revoke", ALICE), "TOKEN_ID")


# -- guard --------------------------------------------------------------------------------------

def test_guard_ban_list_status_unban(cfg: Path) -> None:
    banned = cli(cfg, "guard", "ban", "192.0.2.7", "--for", "1h")
    assert banned.returncode == 0 and "Banned 192.0.2.7" in banned.stdout
    assert cli(cfg, "guard", "ban", "203.0.113.0/24", "--reason", "scanner").returncode == 0
    listed = cli(cfg, "guard", "list").stdout
    assert "192.0.2.7" in listed and "203.0.113.0/24" in listed and "scanner" in listed
    status = cli(cfg, "guard", "status", "192.0.2.7").stdout
    assert "banned since" in status and "guard unban 192.0.2.7" in status
    assert "until lifted by hand" in cli(cfg, "guard", "status", "203.0.113.0/24").stdout
    assert cli(cfg, "guard", "unban", "192.0.2.7").returncode == 0
    assert "not limited" in cli(cfg, "guard", "status", "192.0.2.7").stdout
    refused(cli(cfg, "guard", "unban", "192.0.2.7"), "not banned")
    assert "192.0.2.7" not in cli(cfg, "guard", "list").stdout


def test_guard_state_persists_in_the_store(cfg: Path) -> None:
    assert cli(cfg, "guard", "ban", "2001:db8::/64", "--for", "2d").returncode == 0

    async def bans(store: SqliteMailStore) -> list[str]:
        return [b.source for b in await store.security.guard_state.bans()]
    assert with_store(cfg, bans) == ["2001:db8::/64"]


@pytest.mark.parametrize(("args", "words"), [
    (("ban", "not-an-address"), "not an IP address"),
    (("ban", "192.0.2.1/24"), "host bits"),
    (("ban", "192.0.2.7", "--for", "forever"), "not a duration"),
    (("ban", "198.51.100.9"), "allowlist"),
])
def test_guard_errors_exit_2(cfg: Path, args: tuple[str, ...], words: str) -> None:
    refused(cli(cfg, "guard", *args), words)


def test_guard_status_of_a_user(cfg: Path) -> None:
    assert f"{ALICE} is not limited" in cli(cfg, "guard", "status", ALICE).stdout


# -- user import --------------------------------------------------------------------------------

def test_user_import_passwd_file(cfg: Path, tmp_path: Path) -> None:
    sha512 = sha_crypt(b"old-sha512-secret", "$6$saltsaltsalt")
    blf = bcrypt.hashpw(b"old-bcrypt-secret", bcrypt.gensalt(rounds=4)).decode()
    passwd = tmp_path / "users.passwd"
    passwd.write_text(
        "# exported from dovecot\n"
        f"carol@example.com:{{SHA512-CRYPT}}{sha512}:1000:1000::/home/carol::\n"
        f"dave@example.com:{{BLF-CRYPT}}{blf}\n"
        "erin@example.com:{PLAIN}erins-plain-password\n"
        "frank@example.com:{CRAM-MD5}e02d374fde0dc75a17a557039a3a5338c7743304777dccd376f332bee68d2cf6\n"
        "no-colon-here\n"
        "\n")
    first = cli(cfg, "user", "import", str(passwd))
    assert first.returncode == 1, first.stderr
    assert "Imported 2 accounts; refused 3 lines." in first.stdout
    assert "line 4: erin@example.com: refused: the password is stored in plain text" in \
        first.stderr
    assert "line 5: frank@example.com: refused: {CRAM-MD5}" in first.stderr
    assert "line 6:" in first.stderr
    assert "erins-plain-password" not in first.stdout + first.stderr

    again = cli(cfg, "user", "import", str(passwd), "--hash-plaintext")
    assert again.returncode == 1
    assert "Imported 1 accounts (1 from plain text, hashed now)" in again.stdout
    assert "line 4: erin@example.com: the password was stored in plain text" in again.stdout
    assert "line 2: carol@example.com: refused: the account already exists" in again.stderr

    async def login(store: SqliteMailStore) -> tuple[str, str]:
        settings = load_settings(cfg)
        hashing = PasswordHashing(settings.auth)
        try:
            sec = await build_security(settings, store, SystemClock(), NullSink(),
                                       hashing=hashing)
            user = await sec.login_service.authenticate(
                "carol@example.com", Secret("old-sha512-secret"), peer="192.0.2.10")
            erin = await store.users.get("erin@example.com")
            assert erin is not None and erin.password_hash.startswith("$argon2id$")
            upgraded = await store.users.get(user.name)
            assert upgraded is not None
            return user.name, upgraded.password_hash
        finally:
            hashing.close()
    name, stored = with_store(cfg, login)
    assert name == "carol@example.com" and stored.startswith("$argon2id$")  # migrated


def test_user_import_csv(cfg: Path, tmp_path: Path) -> None:
    sha256 = sha_crypt(b"csv-secret", "$5$rounds=6000$abcdefgh")
    table = tmp_path / "users.csv"
    table.write_text("user,password_hash\n"
                     f"gina@example.com,{{SHA256-CRYPT}}{sha256}\n"
                     "hank@example.com\n"
                     "bad name,{SSHA512}AAAA\n")
    result = cli(cfg, "user", "import", str(table))
    assert result.returncode == 1
    assert "Imported 1 accounts; refused 2 lines." in result.stdout
    assert "line 3: too few columns" in result.stderr
    assert "line 4: invalid user name" in result.stderr
    assert "gina@example.com" in cli(cfg, "user", "list").stdout


@pytest.mark.parametrize(("content", "args", "words"), [
    (None, (), "cannot read"),
    ("name,hash\nx,y\n", ("--format", "csv"), "header must name"),
])
def test_user_import_errors_exit_2(cfg: Path, tmp_path: Path, content: str | None,
                                   args: tuple[str, ...], words: str) -> None:
    path = tmp_path / "in.txt"
    if content is not None:
        path.write_text(content)
    refused(cli(cfg, "user", "import", str(path), *args), words)


@pytest.mark.parametrize("sub", [["mfa"], ["mfa", "enroll"], ["app-password"],
                                 ["app-password", "create"], ["token"], ["token", "issue"],
                                 ["guard"], ["guard", "ban"], ["user", "import"]])
def test_security_commands_explain_themselves(sub: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*sub, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out and len(out) > 300  # a description, not just the usage line
