"""The least-privilege CLI: group, shared, acl, quota, role -- as subprocesses (exit codes,
words), and in-process to see the AdminAction each change emits."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from mailfort.audit.events import AdminAction, AuditEvent, PermissionChanged
from mailfort.cli import acl as acl_cli
from mailfort.cli import group as group_cli
from mailfort.cli import quota as quota_cli
from mailfort.cli import role as role_cli
from mailfort.cli import shared as shared_cli
from mailfort.cli.main import build_parser
from mailfort.core.errors import UsageError
from mailfort.store.sqlite import open_sqlite_store

TIMEOUT_S = 60


def _run(cfg: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    argv = [sys.executable, "-m", "mailfort.cli.main", "--config", str(cfg), *args]
    return subprocess.run(argv, input=stdin, capture_output=True,  # noqa: S603 - our CLI
                          timeout=TIMEOUT_S, check=False)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "m.toml"
    path.write_text('[storage]\ndata_dir = "data"\n[auth]\nargon2_memory_kib = 1024\n'
                    "argon2_time_cost = 1\n")
    return path


def test_cli_end_to_end(cfg: Path) -> None:
    for name in ("alice@example.com", "bob@example.com"):
        r = _run(cfg, "user", "add", name, "--password-stdin",
                 stdin=b"a-long-enough-passphrase\n")
        assert r.returncode == 0, r.stderr
    assert _run(cfg, "group", "add", "sales").returncode == 0
    assert _run(cfg, "group", "add", "sales").returncode == 2
    assert _run(cfg, "group", "add", "bad name").returncode == 2
    r = _run(cfg, "group", "member", "add", "sales", "bob@example.com")
    assert r.returncode == 0, r.stderr
    assert b"bob@example.com" in _run(cfg, "group", "member", "list", "sales").stdout
    assert _run(cfg, "group", "member", "add", "sales", "ghost@example.com").returncode == 2
    r = _run(cfg, "shared", "create", "sales", "--owner", "sales")
    assert r.returncode == 0, r.stderr
    assert _run(cfg, "shared", "create", "../x", "--owner", "sales").returncode == 2
    r = _run(cfg, "acl", "set", "alice@example.com/Sent", "$sales", "lr")
    assert r.returncode == 0, r.stderr
    r = _run(cfg, "acl", "set", "alice@example.com/Sent", "$sales", "+s")
    assert b"lrs" in r.stdout
    r = _run(cfg, "acl", "set", "Shared/sales", "bob@example.com", "lrswi")
    assert r.returncode == 0, r.stderr
    listed = _run(cfg, "acl", "get", "alice@example.com/Sent").stdout
    assert b"$sales\tlrs" in listed
    neg = _run(cfg, "acl", "set", "alice@example.com/Sent", "--", "-bob@example.com", "r")
    assert neg.returncode == 2 and b"negative rights" in neg.stderr
    assert _run(cfg, "acl", "set", "alice@example.com/Sent", "bob@example.com",
                "z").returncode == 2
    assert _run(cfg, "acl", "get", "alice@example.com/../bob").returncode == 2
    r = _run(cfg, "acl", "set", "alice@example.com/Sent", "$sales", "--", "-r")
    assert b"now has ls" in r.stdout, r.stderr
    assert _run(cfg, "acl", "delete", "alice@example.com/Sent", "$sales").returncode == 0
    assert _run(cfg, "acl", "delete", "alice@example.com/Sent", "$sales").returncode == 2
    r = _run(cfg, "quota", "set", "alice@example.com", "--storage", "1G", "--messages", "100000")
    assert r.returncode == 0, r.stderr
    assert b"of 1G" in r.stdout and b"of 100000" in r.stdout
    assert _run(cfg, "quota", "set", "Shared/sales", "--storage", "500M").returncode == 0
    assert b"of 500M" in _run(cfg, "quota", "get", "Shared/sales").stdout
    assert _run(cfg, "quota", "get", "Shared/nope").returncode == 2
    assert _run(cfg, "quota", "set", "alice@example.com", "--storage", "lots").returncode == 2
    assert _run(cfg, "role", "set", "alice@example.com", "auditor").returncode == 0
    assert b"auditor" in _run(cfg, "role", "get", "alice@example.com").stdout
    assert _run(cfg, "role", "set", "alice@example.com", "root").returncode == 2
    assert _run(cfg, "group", "del", "sales").returncode == 2  # owns Shared/sales


class _Recorder:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_every_change_emits_admin_action(tmp_path: Path) -> None:
    async def go() -> list[AuditEvent]:
        store = await open_sqlite_store(tmp_path / "data")
        sink = _Recorder()
        try:
            await store.users.create("alice", "$argon2id$x")
            await store.users.create("root", "$argon2id$x")
            acl = store.acl
            steps = [
                (group_cli, ("group", "add", "sales")),
                (group_cli, ("group", "member", "add", "sales", "alice")),
                (shared_cli, ("shared", "create", "sales", "--owner", "sales")),
                (acl_cli, ("acl", "set", "alice/INBOX", "root", "lr")),
                (acl_cli, ("acl", "delete", "alice/INBOX", "root")),
                (quota_cli, ("quota", "set", "alice", "--messages", "10")),
                (role_cli, ("role", "set", "root", "admin")),
                (group_cli, ("group", "member", "remove", "sales", "alice")),
            ]
            for module, argv in steps:
                assert await module.execute(_args(*argv), store, acl, sink) == 0
            # Read-only commands emit nothing; refusals emit nothing.
            before = len(sink.events)
            await acl_cli.execute(_args("acl", "get", "alice"), store, acl, sink)
            with pytest.raises(UsageError):
                await role_cli.execute(_args("role", "set", "root", "god"), store, acl, sink)
            assert len(sink.events) == before
        finally:
            await store.close()
        return sink.events

    events = asyncio.run(go())
    actions = [e.action for e in events if isinstance(e, AdminAction)]
    assert actions == ["group.add", "group.member.add", "shared.create", "acl.set",
                       "acl.delete", "quota.set", "role.set", "group.member.remove"]
    perms = [e for e in events if isinstance(e, PermissionChanged)]
    assert [(p.grantee, p.rights) for p in perms] == [("root", "lr"), ("root", "")]
    assert all(e.user == "cli" for e in events if isinstance(e, AdminAction))


def test_cli_admin_changes_reach_the_audit_log(tmp_path: Path) -> None:
    """An ACL grant made with the CLI is an audited event (issue #6: reading someone's mail
    needs a grant, which is audited), like one made over IMAP."""
    cfg = tmp_path / "conf" / "m.toml"
    cfg.parent.mkdir()
    cfg.write_text('[storage]\ndata_dir = "data"\n[auth]\nargon2_memory_kib = 1024\n'
                   'argon2_time_cost = 1\n[audit]\nsigning_key_file = "../keys/audit.key"\n')
    (tmp_path / "keys").mkdir()
    assert _run(cfg, "audit", "keygen").returncode == 0
    for name in ("alice@example.com", "bob@example.com"):
        assert _run(cfg, "user", "add", name, "--password-stdin",
                    stdin=b"a-long-enough-passphrase\n").returncode == 0
    assert _run(cfg, "acl", "set", "alice@example.com/INBOX", "bob@example.com",
                "lr").returncode == 0
    assert _run(cfg, "group", "add", "auditors").returncode == 0
    found = _run(cfg, "audit", "search", "--type", "PermissionChanged")
    assert found.returncode == 0, found.stderr
    assert b"bob@example.com" in found.stdout and b"INBOX" in found.stdout
    admin = _run(cfg, "audit", "search", "--type", "AdminAction")
    assert b"auditors" in admin.stdout
    alerts = _run(cfg, "audit", "search", "--type", "AlertRaised")
    assert b"permission_change" in alerts.stdout and b"admin_action" in alerts.stdout
    assert _run(cfg, "audit", "verify").returncode == 0
