"""Issue #6, the remaining least-privilege gaps, over real sockets:

* SELECT without any right that changes the mailbox opens READ-ONLY (RFC 4314 §5.2), and
  PERMANENTFLAGS lists only the flags the user may change;
* a revoked ``r`` (or a removal from the owning group) takes effect at the next FETCH/SEARCH
  of the selected mailbox, and no further updates about it are sent;
* intermediate parents auto-created in a foreign tree inherit the ACL like the leaf;
* GETQUOTA/GETQUOTAROOT of a root without limits answer as RFC 9208 §5.1 says: the root is
  named and its QUOTA list is empty.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
from tests.conftest import Account, RunningServer
from tests.integration.conftest import login
from tests.integration.imapwire import WireClient
from tests.integration.test_acl import MSG, Pair, Team, _acl, _append, grant, make_box, q, tagged

from mailfort.imap import encoder
from mailfort.store.acl import Grantee, GranteeKind

Clients = Callable[[Account], WireClient]


@pytest.fixture()
def pair(server: RunningServer) -> Pair:
    return Pair(server.add_user(), server.add_user())


@pytest.fixture()
def clients(server: RunningServer) -> Iterator[Clients]:
    opened: list[WireClient] = []

    def make(account: Account) -> WireClient:
        opened.append(login(server, account))
        return opened[-1]

    yield make
    for w in opened:
        w.close()


@pytest.fixture()
def team(server: RunningServer) -> Team:
    a, b, out = server.add_user(), server.add_user(), server.add_user()
    group, shared = "g" + secrets.token_hex(3), "sales" + secrets.token_hex(3)

    async def go() -> None:
        acl = _acl(server)
        await acl.groups.create(group)
        for acct in (a, b):
            user = await server.store.users.get(acct.username)
            assert user is not None
            await acl.groups.add_member(group, user.id)
        await acl.shared.create(shared, group)
    server.run(go())
    return Team(group, shared, (a, b), out)


def _select(w: WireClient, name: str) -> list[bytes]:
    resp = w.command(b"s", b"SELECT " + q(name))
    assert tagged(resp).startswith(b"s OK"), resp
    return resp


def _permanentflags(resp: list[bytes]) -> bytes:
    line = next(x for x in resp if b"[PERMANENTFLAGS" in x)
    return line.split(b"[PERMANENTFLAGS ", 1)[1].split(b"]", 1)[0]


# ---- gap 2: READ-ONLY SELECT and narrowed PERMANENTFLAGS --------------------------------------
@pytest.mark.parametrize(("rights", "is_read_write", "flags"), [
    ("lr", False, b"()"),
    ("lrp", False, b"()"),  # "p" changes nothing in the mailbox
    ("lrs", True, b"(\\Seen)"),
    ("lrt", True, b"(\\Deleted)"),
    ("lrw", True, b"(\\Answered \\Flagged \\Draft \\*)"),
    ("lre", True, b"()"),  # may expunge, may set no flag
    ("lri", True, b"()"),
    ("lrswt", True, b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)"),
])
def test_select_is_read_only_without_rights_to_change(
        server: RunningServer, pair: Pair, clients: Clients, rights: str,
        is_read_write: bool, flags: bytes) -> None:
    make_box(server, pair.owner, "Box")
    grant(server, pair.owner, "Box", pair.other.username, rights)
    resp = _select(clients(pair.other), pair.prefix + "Box")
    expected = b"[READ-WRITE]" if is_read_write else b"[READ-ONLY]"
    assert expected in tagged(resp), resp
    assert _permanentflags(resp) == flags


def test_read_only_select_refuses_changes_with_noperm(server: RunningServer, pair: Pair,
                                                      clients: Clients) -> None:
    make_box(server, pair.owner, "Box")
    grant(server, pair.owner, "Box", pair.other.username, "lr")
    w = clients(pair.other)
    _select(w, pair.prefix + "Box")
    assert tagged(w.command(b"t", b"STORE 1 +FLAGS (\\Seen)")).startswith(b"t NO [NOPERM]")
    assert tagged(w.command(b"t", b"EXPUNGE")).startswith(b"t NO [NOPERM]")
    # Reading sets no \Seen (no "s"), and the mailbox is unchanged for the owner.
    assert tagged(w.command(b"f", b"FETCH 1 BODY[]")).startswith(b"f OK")
    o = clients(pair.owner)
    _select(o, "Box")
    assert b"\\Seen" not in b"".join(o.command(b"g", b"FETCH 1 FLAGS"))


def test_owner_select_is_unchanged(server: RunningServer, account: Account,
                                   clients: Clients) -> None:
    resp = _select(clients(account), "INBOX")
    assert b"[READ-WRITE]" in tagged(resp)
    assert _permanentflags(resp) == b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)"


# ---- gap 3: a revoked "r" takes effect at the next FETCH/SEARCH -------------------------------
@pytest.mark.parametrize("command", [b"FETCH 1 (FLAGS)", b"FETCH 1 BODY.PEEK[]",
                                     b"UID FETCH 1:* (UID)", b"SEARCH ALL", b"UID SEARCH ALL"])
def test_revoked_read_right_refuses_the_next_fetch_and_search(
        server: RunningServer, pair: Pair, clients: Clients, command: bytes) -> None:
    make_box(server, pair.owner, "Box")
    grant(server, pair.owner, "Box", pair.other.username, "lr")
    w = clients(pair.other)
    _select(w, pair.prefix + "Box")
    assert tagged(w.command(b"a", command)).startswith(b"a OK")
    grant(server, pair.owner, "Box", pair.other.username, "l")  # r revoked
    assert tagged(w.command(b"b", command)).startswith(b"b NO [NOPERM]")
    grant(server, pair.owner, "Box", pair.other.username, "lr")  # and granted again
    assert tagged(w.command(b"c", command)).startswith(b"c OK")


def test_revocation_over_imap_reaches_the_selected_session(server: RunningServer, pair: Pair,
                                                           clients: Clients) -> None:
    make_box(server, pair.owner, "Box")
    grant(server, pair.owner, "Box", pair.other.username, "lr")
    reader, owner = clients(pair.other), clients(pair.owner)
    _select(reader, pair.prefix + "Box")
    who = pair.other.username.encode()
    assert tagged(owner.command(b"d", b"DELETEACL Box " + who)).startswith(b"d OK")
    # Even with "l" gone the selected mailbox answers NOPERM, never "no such mailbox".
    assert tagged(reader.command(b"f", b"FETCH 1 FLAGS")).startswith(b"f NO [NOPERM]")


def test_no_updates_leak_after_revocation(server: RunningServer, pair: Pair,
                                          clients: Clients) -> None:
    make_box(server, pair.owner, "Box")
    grant(server, pair.owner, "Box", pair.other.username, "lr")
    reader = clients(pair.other)
    _select(reader, pair.prefix + "Box")
    grant(server, pair.owner, "Box", pair.other.username, "l")
    server.deliver(pair.owner, MSG, mailbox="Box")
    resp = reader.command(b"n", b"NOOP")
    assert tagged(resp).startswith(b"n OK")
    assert not any(b"EXISTS" in line for line in resp), resp


def test_removal_from_the_owning_group_takes_effect(server: RunningServer, team: Team,
                                                    clients: Clients) -> None:
    name = "Shared/" + team.shared
    a, b = clients(team.members[0]), clients(team.members[1])
    assert _append(b, name).startswith(b"t OK")
    _select(a, name)
    assert tagged(a.command(b"f", b"FETCH 1 FLAGS")).startswith(b"f OK")

    async def remove() -> None:
        user = await server.store.users.get(team.members[0].username)
        assert user is not None
        await _acl(server).groups.remove_member(team.group, user.id)
    server.run(remove())
    assert tagged(a.command(b"f", b"FETCH 1 FLAGS")).startswith(b"f NO [NOPERM]")
    assert tagged(a.command(b"s", b"SEARCH ALL")).startswith(b"s NO [NOPERM]")


# ---- gap 4: auto-created parents in a foreign tree inherit the ACL ----------------------------
def test_intermediate_parents_inherit_the_acl(server: RunningServer, pair: Pair,
                                              clients: Clients) -> None:
    make_box(server, pair.owner, "Proj", messages=0)
    grant(server, pair.owner, "Proj", pair.other.username, "lrk")
    w = clients(pair.other)
    deep = pair.prefix + "Proj/a/b/c"
    assert tagged(w.command(b"c", b"CREATE " + q(deep))).startswith(b"c OK")
    for name in ("Proj/a", "Proj/a/b", "Proj/a/b/c"):
        rights = w.command(b"m", b"MYRIGHTS " + q(pair.prefix + name))
        assert tagged(rights).startswith(b"m OK"), (name, rights)
        assert rights[0] == b"* MYRIGHTS " + q(pair.prefix + name) + b" lrkc\r\n"
    listed = b"".join(w.command(b"l", b"LIST " + q(pair.prefix) + b" " + q("Proj/*")))
    for name in ("Proj/a", "Proj/a/b", "Proj/a/b/c"):
        assert q(pair.prefix + name) in listed


def test_parents_made_by_rename_in_a_foreign_tree_inherit(server: RunningServer, pair: Pair,
                                                          clients: Clients) -> None:
    make_box(server, pair.owner, "Proj/old", messages=0)
    grant(server, pair.owner, "Proj", pair.other.username, "lrkx")
    grant(server, pair.owner, "Proj/old", pair.other.username, "lrkx")
    w = clients(pair.other)
    resp = w.command(b"r", b"RENAME " + q(pair.prefix + "Proj/old") + b" "
                     + q(pair.prefix + "Proj/x/y"))
    assert tagged(resp).startswith(b"r OK"), resp
    got = w.command(b"m", b"MYRIGHTS " + q(pair.prefix + "Proj/x"))
    assert got[0] == b"* MYRIGHTS " + q(pair.prefix + "Proj/x") + b" lrkxcd\r\n"


# ---- gap 5: RFC 9208 for roots without limits -------------------------------------------------
def test_quota_of_a_root_without_limits(server: RunningServer, clients: Clients) -> None:
    """RFC 9208 §5.1: resources not in the list are not limited; an empty list means no
    limits. The root still exists, so GETQUOTAROOT names it and GETQUOTA answers OK."""
    acct = server.add_user()
    w = clients(acct)
    resp = w.command(b"g", b'GETQUOTA ""')
    assert resp == [b'* QUOTA "" ()\r\n', resp[-1]] and tagged(resp).startswith(b"g OK")
    resp = w.command(b"r", b"GETQUOTAROOT INBOX")
    assert resp[:2] == [b'* QUOTAROOT INBOX ""\r\n', b'* QUOTA "" ()\r\n']
    assert tagged(resp).startswith(b"r OK")
    assert tagged(w.command(b"x", b'GETQUOTA "Other Users/nobody-here"')).startswith(
        b"x NO [NONEXISTENT]")


def test_quota_of_a_shared_root_without_limits(server: RunningServer, team: Team,
                                               clients: Clients) -> None:
    name = "Shared/" + team.shared
    w = clients(team.members[0])
    resp = w.command(b"r", b"GETQUOTAROOT " + q(name))
    root = encoder.astring(name)  # the quota root name is an astring (an atom here)
    assert resp[:2] == [b"* QUOTAROOT " + q(name) + b" " + root + b"\r\n",
                        b"* QUOTA " + root + b" ()\r\n"]
    outsider = clients(team.outsider)
    assert tagged(outsider.command(b"g", b"GETQUOTA " + q(name))).startswith(
        b"g NO [NONEXISTENT]")


def test_grant_via_store_api_matches_imap(server: RunningServer, pair: Pair) -> None:
    """The helper this module relies on grants what the wire then sees (a guard against a
    silently broken fixture making every test above pass vacuously)."""
    make_box(server, pair.owner, "Check", messages=0)
    grant(server, pair.owner, "Check", pair.other.username, "lr")

    async def read() -> list[str]:
        user = await server.store.users.get(pair.owner.username)
        assert user is not None
        box = await server.store.mailboxes.get(user.id, "Check")
        assert box is not None
        return [r.rights for r in await _acl(server).acl.get(box.id)
                if r.grantee == Grantee(GranteeKind.USER, pair.other.username)]
    assert server.run(read()) == ["lr"]
