"""Least privilege over IMAP (issue #6): the rights × commands matrix, hidden mailboxes, the
Other Users/ and Shared/ namespaces, LIST visibility, ACL and QUOTA commands, quota under
concurrency, and changes in a shared mailbox reaching other sessions."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from mailfort.cli.bootstrap import acl_state
from mailfort.store.acl import AclStore, Grantee, GranteeKind, QuotaRoot, QuotaRootKind
from tests.conftest import Account, RunningServer
from tests.integration.conftest import login, quote
from tests.integration.imapwire import WireClient

MSG = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


def _acl(server: RunningServer) -> AclStore:
    return acl_state(server.store)


def make_box(server: RunningServer, owner: Account, name: str, *, messages: int = 1) -> None:
    async def go() -> None:
        user = await server.store.users.get(owner.username)
        assert user is not None
        parts = name.split("/")
        for i in range(1, len(parts) + 1):
            if await server.store.mailboxes.get(user.id, "/".join(parts[:i])) is None:
                await server.store.mailboxes.create(user.id, "/".join(parts[:i]))
    server.run(go())
    for _ in range(messages):
        server.deliver(owner, MSG, mailbox=name)


def grant(server: RunningServer, owner: Account, name: str, who: str, rights: str) -> None:
    async def go() -> None:
        user = await server.store.users.get(owner.username)
        assert user is not None
        box = await server.store.mailboxes.get(user.id, name)
        assert box is not None
        await _acl(server).acl.set(box.id, Grantee(GranteeKind.USER, who), rights)
    server.run(go())


@dataclass
class Pair:
    owner: Account
    other: Account

    @property
    def prefix(self) -> str:
        return f"Other Users/{self.owner.username}/"


@pytest.fixture()
def pair(server: RunningServer) -> Pair:
    return Pair(server.add_user(), server.add_user())


@pytest.fixture()
def clients(server: RunningServer) -> Iterator[Callable[[Account], WireClient]]:
    opened: list[WireClient] = []

    def make(account: Account) -> WireClient:
        w = login(server, account)
        opened.append(w)
        return w

    yield make
    for w in opened:
        w.close()


def tagged(resp: list[bytes]) -> bytes:
    return resp[-1]


def q(name: str) -> bytes:
    return quote(name)


# ---- the matrix ------------------------------------------------------------------------------
# Each row: the right under test, the rights both users hold besides it, and a command run by
# the other user against the owner's "Box" (shared as Other Users/<owner>/Box). With the right
# the command succeeds; without it the answer is NO [NOPERM].

Runner = Callable[[WireClient, str], bytes]


def _select_then(cmd: bytes) -> Runner:
    def run(w: WireClient, box: str) -> bytes:
        assert tagged(w.command(b"s", b"SELECT " + q(box))).startswith(b"s OK")
        return tagged(w.command(b"t", cmd))
    return run


def _simple(fmt: str) -> Runner:
    def run(w: WireClient, box: str) -> bytes:
        return tagged(w.command(b"t", fmt.format(box=q(box).decode()).encode()))
    return run


def _append(w: WireClient, box: str) -> bytes:
    w.send(b"t APPEND " + q(box) + b" {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
    return tagged(w.until_tagged(b"t"))


def _copy_in(w: WireClient, box: str) -> bytes:
    w.command(b"a", b"APPEND INBOX {%d+}\r\n" % len(MSG) + MSG)
    assert tagged(w.command(b"s", b"SELECT INBOX")).startswith(b"s OK")
    return tagged(w.command(b"t", b"COPY 1 " + q(box)))


def _move_out(w: WireClient, box: str) -> bytes:
    assert tagged(w.command(b"s", b"SELECT " + q(box))).startswith(b"s OK")
    return tagged(w.command(b"t", b"MOVE 1 INBOX"))


def _setacl_owner(w: WireClient, box: str) -> bytes:
    owner = box.split("/")[1]
    return tagged(w.command(b"t", b"SETACL " + q(box) + b" " + q(owner) + b" l"))


def _create_child(w: WireClient, box: str) -> bytes:
    return tagged(w.command(b"t", b"CREATE " + q(box + "/new")))


def _rename_child(w: WireClient, box: str) -> bytes:
    return tagged(w.command(b"t", b"RENAME " + q(box + "/child") + b" " + q(box + "/moved")))


MATRIX: list[tuple[str, str, Runner]] = [
    ("r", "l", _simple("SELECT {box}")),
    ("r", "l", _simple("EXAMINE {box}")),
    ("r", "l", _simple("STATUS {box} (MESSAGES)")),
    ("r", "l", _simple("GETQUOTAROOT {box}")),
    ("i", "lr", _append),
    ("i", "lr", _copy_in),
    ("k", "lr", _create_child),
    ("x", "lr", _simple("DELETE {box}")),
    ("x", "lrk", _rename_child),
    ("s", "lr", _select_then(b"STORE 1 +FLAGS (\\Seen)")),
    ("t", "lr", _select_then(b"STORE 1 +FLAGS (\\Deleted)")),
    ("w", "lr", _select_then(b"STORE 1 +FLAGS ($Label1)")),
    ("w", "lrst", _select_then(b"STORE 1 FLAGS (\\Seen)")),
    ("e", "lr", _select_then(b"EXPUNGE")),
    ("e", "lrt", _move_out),
    ("t", "lre", _move_out),
    ("a", "lr", _simple("GETACL {box}")),
    ("a", "lr", _setacl_owner),  # never "anyone": the server is shared by every test
    ("a", "lr", _simple("DELETEACL {box} anyone")),
    ("a", "lr", _simple("LISTRIGHTS {box} anyone")),
]


def _matrix_id(row: tuple[str, str, Runner]) -> str:
    right, base, run = row
    name = getattr(run, "__name__", "cmd")
    return f"{right}-over-{base}-{name}"


@pytest.mark.parametrize("has_right", [True, False], ids=["with", "without"])
@pytest.mark.parametrize(("right", "base", "run"), MATRIX,
                         ids=[f"{i}-{r[0]}" for i, r in enumerate(MATRIX)])
def test_rights_matrix(server: RunningServer, pair: Pair, clients: Callable[[Account], WireClient],
                       right: str, base: str, run: Runner, has_right: bool) -> None:
    make_box(server, pair.owner, "Box")
    make_box(server, pair.owner, "Box/child", messages=0)
    rights = base + right if has_right else base
    grant(server, pair.owner, "Box", pair.other.username, rights)
    grant(server, pair.owner, "Box/child", pair.other.username, rights)
    w = clients(pair.other)
    reply = run(w, pair.prefix + "Box")
    if has_right:
        assert reply.startswith(b"t OK"), reply
    else:
        assert reply.startswith(b"t NO [NOPERM]"), reply


def test_subscribe_needs_lookup(server: RunningServer, pair: Pair,
                                clients: Callable[[Account], WireClient]) -> None:
    make_box(server, pair.owner, "Seen")
    make_box(server, pair.owner, "Unseen")
    grant(server, pair.owner, "Seen", pair.other.username, "l")
    grant(server, pair.owner, "Unseen", pair.other.username, "r")
    w = clients(pair.other)
    assert tagged(w.command(b"t", b"SUBSCRIBE " + q(pair.prefix + "Seen"))).startswith(b"t OK")
    hidden = tagged(w.command(b"t", b"SUBSCRIBE " + q(pair.prefix + "Unseen")))
    missing = tagged(w.command(b"t", b"SUBSCRIBE " + q(pair.prefix + "Nope")))
    assert hidden == missing == b"t NO [NONEXISTENT] Mailbox does not exist\r\n"


def test_fetch_sets_seen_only_with_s(server: RunningServer, pair: Pair,
                                     clients: Callable[[Account], WireClient]) -> None:
    make_box(server, pair.owner, "Box")
    grant(server, pair.owner, "Box", pair.other.username, "lr")
    w = clients(pair.other)
    w.command(b"s", b"SELECT " + q(pair.prefix + "Box"))
    resp = w.command(b"f", b"FETCH 1 BODY[]")
    assert tagged(resp).startswith(b"f OK")
    flags = w.command(b"g", b"FETCH 1 FLAGS")
    assert b"\\Seen" not in b"".join(flags)
    grant(server, pair.owner, "Box", pair.other.username, "lrs")
    w.command(b"s", b"SELECT " + q(pair.prefix + "Box"))
    w.command(b"f", b"FETCH 1 BODY[]")
    assert b"\\Seen" in b"".join(w.command(b"g", b"FETCH 1 FLAGS"))


# ---- hidden means missing --------------------------------------------------------------------
@pytest.mark.parametrize("verb", [b"SELECT", b"EXAMINE", b"STATUS", b"DELETE", b"GETACL",
                                  b"MYRIGHTS", b"GETQUOTAROOT"])
def test_hidden_mailbox_answers_like_a_missing_one(server: RunningServer, pair: Pair,
                                                   clients: Callable[[Account], WireClient],
                                                   verb: bytes) -> None:
    make_box(server, pair.owner, "Secret")
    w = clients(pair.other)
    suffix = b" (MESSAGES)" if verb == b"STATUS" else b""

    def ask(name: str) -> bytes:
        return tagged(w.command(b"t", verb + b" " + q(name) + suffix))

    hidden = ask(pair.prefix + "Secret")
    assert hidden == ask(pair.prefix + "NoSuchBox") == ask("Other Users/nobody-xyz/Secret")
    assert hidden.startswith(b"t NO [NONEXISTENT]")
    assert ask(f"Other Users/{pair.owner.username}") == hidden  # their INBOX, too


def test_append_and_copy_into_hidden_say_trycreate(server: RunningServer, pair: Pair,
                                                    clients: Callable[[Account], WireClient]
                                                    ) -> None:
    make_box(server, pair.owner, "Secret")
    w = clients(pair.other)
    assert _append(w, pair.prefix + "Secret") == _append(w, pair.prefix + "Missing")
    assert _append(w, pair.prefix + "Secret").startswith(b"t NO [TRYCREATE]")
    assert _copy_in(w, pair.prefix + "Secret") == b"t NO [TRYCREATE] Mailbox does not exist\r\n"
    # and nothing arrived
    status = w.command(b"x", b"STATUS INBOX (MESSAGES)")
    assert tagged(status).startswith(b"x OK")


def test_copy_from_a_mailbox_whose_read_right_was_revoked(
        server: RunningServer, pair: Pair, clients: Callable[[Account], WireClient]) -> None:
    make_box(server, pair.owner, "Box")
    grant(server, pair.owner, "Box", pair.other.username, "lr")
    w = clients(pair.other)
    assert tagged(w.command(b"s", b"SELECT " + q(pair.prefix + "Box"))).startswith(b"s OK")
    grant(server, pair.owner, "Box", pair.other.username, "l")
    assert tagged(w.command(b"c", b"COPY 1 INBOX")).startswith(b"c NO [NOPERM]")


# ---- LIST shows exactly what may be seen -----------------------------------------------------
def _listed(w: WireClient, ref: str, pattern: str) -> list[bytes]:
    resp = w.command(b"l", b"LIST " + q(ref) + b" " + q(pattern))
    assert tagged(resp).startswith(b"l OK")
    return [line for line in resp[:-1] if line.startswith(b"* LIST")]


@pytest.mark.parametrize("pattern", ["*", "%", "Other Users/*", "Other Users/%",
                                     "Other Users/%/%", "*Secret*", "%/%/%", "O*/*/S*",
                                     "Other Users/{owner}/*"])
def test_list_never_shows_what_is_not_granted(server: RunningServer, pair: Pair,
                                              clients: Callable[[Account], WireClient],
                                              pattern: str) -> None:
    make_box(server, pair.owner, "Secret/deep", messages=0)
    make_box(server, pair.owner, "Granted", messages=0)
    make_box(server, pair.owner, "Hidden", messages=0)
    grant(server, pair.owner, "Granted", pair.other.username, "lr")
    w = clients(pair.other)
    text = b"".join(_listed(w, "", pattern.format(owner=pair.owner.username)))
    assert b"Secret" not in text and b"Hidden" not in text
    if pattern in ("*", "Other Users/*", "Other Users/%/%", "Other Users/{owner}/*"):
        assert (pair.prefix + "Granted").encode() in text


def test_list_without_any_grant_never_names_the_owner(server: RunningServer, pair: Pair,
                                                      clients: Callable[[Account], WireClient]
                                                      ) -> None:
    make_box(server, pair.owner, "Private", messages=0)
    w = clients(pair.other)
    for pattern in ("*", "%", "Other Users/*", "Other Users/%", "*%*%*%*"):
        assert pair.owner.username.encode() not in b"".join(_listed(w, "", pattern))


def test_list_many_wildcards_over_ten_thousand_mailboxes(
        server: RunningServer, clients: Callable[[Account], WireClient]) -> None:
    """A benchmark-shaped check (no timing assertion): it completes and is correct."""
    acct = server.add_user()

    async def create() -> None:
        import asyncio
        user = await server.store.users.get(acct.username)
        assert user is not None
        for start in range(0, 10_000, 500):
            await asyncio.gather(*(server.store.mailboxes.create(user.id, f"m{i:05d}")
                                   for i in range(start, start + 500)))
    server.run(create(), timeout_s=300)
    w = clients(acct)
    hits = _listed(w, "", "*%*%*%*%*%*%*%*%*%*%*%*%*%*9")
    assert len(hits) == 1000
    assert len(_listed(w, "", "m*")) == 10_000


# ---- namespaces, RENAME across trees ---------------------------------------------------------
@dataclass
class Team:
    group: str
    shared: str
    members: tuple[Account, Account]
    outsider: Account


@pytest.fixture()
def team(server: RunningServer) -> Team:
    a, b, out = server.add_user(), server.add_user(), server.add_user()
    group = "g" + secrets.token_hex(3)
    shared = "sales" + secrets.token_hex(3)

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


def test_namespace_reply(server: RunningServer, account: Account,
                         clients: Callable[[Account], WireClient]) -> None:
    w = clients(account)
    assert w.command(b"n", b"NAMESPACE")[0] == (
        b'* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))\r\n')


def test_shared_mailbox_for_members_only(server: RunningServer, team: Team,
                                         clients: Callable[[Account], WireClient]) -> None:
    name = "Shared/" + team.shared
    member, outsider = clients(team.members[0]), clients(team.outsider)
    assert name.encode() in b"".join(_listed(member, "", "Shared/*"))
    assert b"".join(_listed(outsider, "", "*")).count(b"Shared") == 0
    assert tagged(member.command(b"c", b"CREATE " + q(name + "/2024"))).startswith(b"c OK")
    assert tagged(outsider.command(b"s", b"SELECT " + q(name))).startswith(
        b"s NO [NONEXISTENT]")
    assert tagged(member.command(b"m", b"MYRIGHTS " + q(name))) .startswith(b"m OK")
    rights = member.command(b"m", b"MYRIGHTS " + q(name))[0]
    assert rights == b"* MYRIGHTS " + q(name) + b" lrswipkxtecd\r\n"


def test_rename_into_or_out_of_a_shared_tree_is_refused(
        server: RunningServer, team: Team, clients: Callable[[Account], WireClient]) -> None:
    name = "Shared/" + team.shared
    member = clients(team.members[0])
    member.command(b"c", b"CREATE " + q(name + "/q1"))
    member.command(b"c", b"CREATE Mine")
    into = tagged(member.command(b"r", b"RENAME Mine " + q(name + "/Mine")))
    out = tagged(member.command(b"r", b"RENAME " + q(name + "/q1") + b" Stolen"))
    assert into.startswith(b"r NO [CANNOT]") and out.startswith(b"r NO [CANNOT]")
    outsider = clients(team.outsider)
    outsider.command(b"c", b"CREATE Theirs")
    assert tagged(outsider.command(b"r", b"RENAME Theirs " + q(name + "/x"))).startswith(
        b"r NO [NOPERM]")
    assert tagged(outsider.command(b"r", b"RENAME " + q(name + "/q1") + b" Y")).startswith(
        b"r NO [NONEXISTENT]")


def test_changes_in_a_shared_mailbox_reach_other_sessions(
        server: RunningServer, team: Team, clients: Callable[[Account], WireClient]) -> None:
    name = "Shared/" + team.shared
    a, b = clients(team.members[0]), clients(team.members[1])
    assert tagged(a.command(b"s", b"SELECT " + q(name))).startswith(b"s OK")
    assert _append(b, name).startswith(b"t OK")
    assert b"* 1 EXISTS\r\n" in a.command(b"n", b"NOOP")
    assert tagged(b.command(b"s", b"SELECT " + q(name))).startswith(b"s OK")
    b.command(b"f", b"STORE 1 +FLAGS (\\Flagged)")
    assert any(b"\\Flagged" in line for line in a.command(b"n", b"NOOP"))


# ---- ACL commands ----------------------------------------------------------------------------
def test_setacl_add_remove_replace_and_getacl(server: RunningServer, pair: Pair,
                                              clients: Callable[[Account], WireClient]) -> None:
    w = clients(pair.owner)
    w.command(b"c", b"CREATE Proj")
    who = pair.other.username.encode()
    assert tagged(w.command(b"a", b"SETACL Proj " + who + b" lr")).startswith(b"a OK")
    assert tagged(w.command(b"a", b"SETACL Proj " + who + b" +w")).startswith(b"a OK")
    acl = w.command(b"g", b"GETACL Proj")[0]
    assert b" " + who + b" lrw" in acl
    w.command(b"a", b"SETACL Proj " + who + b" -r")
    assert b" " + who + b" lw" in w.command(b"g", b"GETACL Proj")[0]
    w.command(b"a", b"SETACL Proj " + who + b" is")  # replace; stored in canonical order
    assert w.command(b"g", b"GETACL Proj")[0].endswith(b" " + who + b" si\r\n")
    assert tagged(w.command(b"d", b"DELETEACL Proj " + who)).startswith(b"d OK")
    assert who not in w.command(b"g", b"GETACL Proj")[0]


def test_setacl_refusals(server: RunningServer, pair: Pair,
                         clients: Callable[[Account], WireClient]) -> None:
    w = clients(pair.owner)
    w.command(b"c", b"CREATE Proj")
    assert tagged(w.command(b"a", b"SETACL Proj -" + pair.other.username.encode() + b" r")
                  ) == b"a NO [CANNOT] Negative rights are not supported\r\n"
    assert tagged(w.command(b"a", b"SETACL Proj anyone lrz")) == b"a BAD Invalid rights\r\n"
    assert tagged(w.command(b"a", b"SETACL Proj nobody-at-all lr")).startswith(b"a NO")


def test_listrights_and_myrights(server: RunningServer, pair: Pair,
                                 clients: Callable[[Account], WireClient]) -> None:
    w = clients(pair.owner)
    assert w.command(b"m", b"MYRIGHTS INBOX")[0] == b"* MYRIGHTS INBOX lrswipkxteacd\r\n"
    owner = pair.owner.username.encode()
    assert w.command(b"l", b"LISTRIGHTS INBOX " + owner)[0] == (
        b"* LISTRIGHTS INBOX " + owner + b" lrswipkxtea l r s w i p k x t e a\r\n")
    assert w.command(b"l", b"LISTRIGHTS INBOX anyone")[0] == (
        b'* LISTRIGHTS INBOX anyone "" l r s w i p k x t e a\r\n')


# ---- quotas ----------------------------------------------------------------------------------
def test_setquota_is_admin_only(server: RunningServer, pair: Pair,
                                clients: Callable[[Account], WireClient]) -> None:
    w = clients(pair.other)
    assert tagged(w.command(b"q", b'SETQUOTA "" (MESSAGE 5)')).startswith(b"q NO [NOPERM]")

    async def promote() -> None:
        user = await server.store.users.get(pair.owner.username)
        assert user is not None
        await _acl(server).roles.set(user.id, "admin")
    server.run(promote())
    admin = clients(pair.owner)
    target = q("Other Users/" + pair.other.username)
    resp = admin.command(b"q", b"SETQUOTA " + target + b" (MESSAGE 5 STORAGE 100)")
    assert tagged(resp).startswith(b"q OK")
    quota = w.command(b"g", b'GETQUOTA ""')
    assert quota[0] == b'* QUOTA "" (STORAGE 0 100 MESSAGE 0 5)\r\n'
    root = w.command(b"r", b"GETQUOTAROOT INBOX")
    assert root[0] == b'* QUOTAROOT INBOX ""\r\n'


def test_concurrent_appends_against_a_small_limit(server: RunningServer,
                                                  clients: Callable[[Account], WireClient]
                                                  ) -> None:
    acct = server.add_user()

    async def limit() -> None:
        await _acl(server).quotas.set_limits(QuotaRoot(QuotaRootKind.USER, acct.username),
                                             None, 3)
    server.run(limit())
    wires = [clients(acct) for _ in range(8)]
    results: list[bytes] = []
    lock = threading.Lock()
    start = threading.Barrier(len(wires), timeout=20)

    def append(w: WireClient) -> None:
        start.wait()
        reply = _append(w, "INBOX")
        with lock:
            results.append(reply)

    threads = [threading.Thread(target=append, args=(w,)) for w in wires]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8
    assert sum(r.startswith(b"t OK") for r in results) == 3
    assert sum(r.startswith(b"t NO [OVERQUOTA]") for r in results) == 5
    quota = wires[0].command(b"g", b'GETQUOTA ""')[0]
    assert b"MESSAGE 3 3" in quota


def test_copy_over_quota(server: RunningServer, clients: Callable[[Account], WireClient]) -> None:
    acct = server.add_user()
    server.deliver(acct, MSG)

    async def limit() -> None:
        await _acl(server).quotas.set_limits(QuotaRoot(QuotaRootKind.USER, acct.username),
                                             None, 1)
    server.run(limit())
    w = clients(acct)
    w.command(b"s", b"SELECT INBOX")
    assert tagged(w.command(b"c", b"COPY 1 Archive")).startswith(b"c NO [OVERQUOTA]")
