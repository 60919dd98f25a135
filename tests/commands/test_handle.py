"""The synchronous half of /natlink: answers, refusals (audited) and queued operations, on a real store."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloud.tokens import new_request_id
from commands.context import Config, Context
from commands.form import service_options
from commands.handle import Delivery, handle, page
from commands.replies import Listing, Queued, Refusal, Reply, ShareCard, Turn
from commands.verbs import VERBS
from storage import audit, grants, operations, owners, requests, services
from storage.database import open_database

TEAM_A = "11111111-1111-1111-1111-111111111111"
TEAM_B = "22222222-2222-2222-2222-222222222222"
ALICE, BOB, CAROL, ADMIN = "U0ALICE", "U0BOB", "U0CAROL", "U0ADMIN"
PLS = f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b/providers/Microsoft.Network/privateLinkServices/rdp-vmb"
ALIAS = "rdp-vmb.0b1c2d3e-0000-4000-8000-000000000000.japaneast.azure.privatelinkservice"


@pytest.fixture
def db(tmp_path: Path):
    database = open_database(tmp_path / "natlink.db")
    services.upsert_service(
        database,
        name="rdp-vmb",
        pls_id=PLS,
        subscription=TEAM_B,
        resource_group="rg-team-b",
        location="japaneast",
        alias=ALIAS,
        created_by=ALICE,
        owner_channel="C0TEAMB",
        details={"ports": [3389], "visibility": [TEAM_A]},
    )
    owners.add_owner(database, "rdp-vmb", ALICE, added_by=ALICE)
    grants.add_grant(database, BOB, "request", TEAM_A, granted_by=ADMIN)
    return database


def run(db, actor: str, text: str, key: str | None = None):
    ctx = Context(db, Config(frozenset({ADMIN}), False, (TEAM_A, TEAM_B)), actor, channel="C0TEAMB")
    return handle(ctx, text, Delivery(key=key, response_url="http://127.0.0.1:1/hooks/x"))


def pending_request(db) -> str:
    request = requests.create_request(
        db, request_id=new_request_id(), service="rdp-vmb", requester=BOB, consumer_subscription=TEAM_A
    )
    return requests.set_state(db, request.id, "pending").id


def test_every_verb_is_answered_or_queued() -> None:
    """The verb table and the dispatcher agree, so no verb can fall through to an error."""
    answered = {
        "help",
        "list",
        "pending",
        "audit",
        "owners",
        "grant",
        "ungrant",
        "subscribe",
        "unsubscribe",
        "share",
        "approve",
        "reject",
        "whoami",
    }
    queued = {name for name, verb in VERBS.items() if verb.answer is None and verb.run is not None}
    assert queued == {"create", "request", "revoke", "delete", "status", "map", "adopt", "forget", "verify"}
    assert set(VERBS) == answered | queued


def test_malformed_input_is_refused_with_usage(db) -> None:
    answer = run(db, ALICE, "create rdp --vm VM-Win2019-2 --port 99999")
    assert (
        isinstance(answer, Refusal)
        and "65535" in answer.reason
        and answer.usage.startswith("/natlink create")
    )
    assert operations.list_operations(db) == []


def test_help_and_list(db) -> None:
    assert isinstance(run(db, CAROL, "help"), Reply)
    listed = run(db, BOB, "list")
    assert isinstance(listed, Reply) and "rdp-vmb" in listed.lines[0]
    nothing = run(db, CAROL, "list")
    assert nothing.lines == () and "Ask an admin" in nothing.empty


def test_list_shows_what_the_request_form_offers(db) -> None:
    """One rule for both (``enforce.offered_to``): an adopted service whose visibility natlink does
    not know is offered to every requester, as the request policy lets it through; one visible only
    to another subscription is in neither."""
    for name, details in (
        ("adopted-x", {"ports": [22]}),
        ("team-b-only", {"ports": [22], "visibility": [TEAM_B]}),
    ):
        services.upsert_service(
            db,
            name=name,
            pls_id=PLS.replace("rdp-vmb", name),
            subscription=TEAM_B,
            resource_group="rg-team-b",
            location="japaneast",
            alias=ALIAS.replace("rdp-vmb", name),
            created_by=ALICE,
            owner_channel="C0TEAMB",
            details=details,
        )
    listed = set(run(db, BOB, "list").keys)  # the rows' sort keys: the services' names
    ctx = Context(db, Config(frozenset({ADMIN}), False, (TEAM_A, TEAM_B)), BOB, channel="C0TEAMB")
    assert listed == set(service_options(ctx, "")) == {"adopted-x", "rdp-vmb"}


def test_grants_are_for_admins_and_denials_are_audited(db) -> None:
    refused = run(db, CAROL, f"grant <@{CAROL}|carol> create {TEAM_B}")
    assert isinstance(refused, Refusal)
    (entry,) = audit.list_entries(db, limit=1)
    assert (entry.actor, entry.action, entry.outcome) == (CAROL, "grant", "denied")
    granted = run(db, ADMIN, f"grant <@{CAROL}|carol> create {TEAM_B}/rg-team-b")
    assert isinstance(granted, Reply) and "may now *create*" in granted.lines[0]
    assert [(g.action, g.scope) for g in grants.grants_for(db, CAROL)] == [("create", f"{TEAM_B}/rg-team-b")]


def test_create_needs_some_grant_then_queues_once_per_delivery(db) -> None:
    assert isinstance(run(db, CAROL, "create web --vm VM-Win2019-2 --port 443"), Refusal)
    grants.add_grant(db, ALICE, "create", TEAM_B, granted_by=ADMIN)
    first = run(db, ALICE, "create web --vm VM-Win2019-2 --port 443", key="trigger-1")
    again = run(db, ALICE, "create web --vm VM-Win2019-2 --port 443", key="trigger-1")
    assert isinstance(first, Queued) and first.created and isinstance(again, Queued) and not again.created
    assert first.operation.id == again.operation.id
    assert first.operation.kind == "create"
    assert {k: v for k, v in first.operation.args.items() if v not in (None, False, [], ())} == {
        "v": 1,
        "name": "web",
        "vm": "VM-Win2019-2",
        "port": [443],
        "nat_ips": 1,
    }


def test_request_for_an_unknown_service_is_refused(db) -> None:
    answer = run(db, BOB, "request nothing-here --vm VM-Win2019")
    assert isinstance(answer, Refusal) and "nothing-here" in answer.reason


def test_first_decision_wins_and_others_are_told(db) -> None:
    request_id = pending_request(db)
    refused = run(db, CAROL, f"approve {request_id}")
    assert isinstance(refused, Refusal) and "owner" in refused.reason
    assert requests.get_request(db, request_id).state == "pending"
    approved = run(db, ALICE, f"approve {request_id} looks fine")
    assert isinstance(approved, Queued)
    assert requests.get_request(db, request_id).decided_by == ALICE
    late = run(db, ADMIN, f"reject {request_id}")
    assert isinstance(late, Reply) and f"already approved by <@{ALICE}>" in late.lines[0]
    assert len(operations.list_operations(db)) == 1
    outcomes = [(e.actor, e.action, e.outcome) for e in audit.list_entries(db, limit=10)]
    assert (CAROL, "approve", "denied") in outcomes and (ALICE, "approve", "allowed") in outcomes


def test_a_decision_that_cannot_be_queued_is_not_recorded(db, monkeypatch) -> None:
    """Invariant 6: the decision, its audit row and its Azure operation commit together or not at all."""
    request_id = pending_request(db)

    def crash(*_args, **_kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(operations, "enqueue", crash)
    with pytest.raises(RuntimeError):
        run(db, ALICE, f"approve {request_id}")
    assert requests.get_request(db, request_id).state == "pending"
    assert (ALICE, "approve", "allowed") not in [
        (e.actor, e.action, e.outcome) for e in audit.list_entries(db)
    ]
    monkeypatch.undo()
    assert isinstance(run(db, ALICE, f"approve {request_id}"), Queued), "the next click decides"


def test_a_refused_create_of_someone_elses_service_is_audited(db) -> None:
    """Issue 13, also seen: "a refused create (belongs to ...) is not audited"; it is refused before
    anything is queued, and the denial is on the trail."""
    grants.add_grant(db, BOB, "create", TEAM_B, granted_by=ADMIN)
    refused = run(db, BOB, "create rdp-vmb --vm VM-Win2019-2 --port 3389")
    assert isinstance(refused, Refusal) and "already exists and belongs to" in refused.reason
    assert operations.list_operations(db) == []
    assert (BOB, "create", "denied") in [(e.actor, e.action, e.outcome) for e in audit.list_entries(db)]


def test_self_approval_is_refused(db) -> None:
    request = requests.create_request(
        db, request_id=new_request_id(), service="rdp-vmb", requester=ALICE, consumer_subscription=TEAM_A
    )
    requests.set_state(db, request.id, "pending")
    answer = run(db, ALICE, f"approve {request.id}")
    assert isinstance(answer, Refusal) and "your own request" in answer.reason


def test_share_and_owners(db) -> None:
    assert isinstance(run(db, BOB, "share rdp-vmb"), Refusal)
    card = run(db, ALICE, "share rdp-vmb <#C0TEAMA|team-a>")
    assert isinstance(card, ShareCard) and card.channel == "C0TEAMA" and card.service.alias == ALIAS
    added = run(db, ALICE, f"owners rdp-vmb add <@{CAROL}|carol>")
    assert isinstance(added, Reply) and owners.is_owner(db, "rdp-vmb", CAROL)
    listed = run(db, BOB, "owners rdp-vmb list")
    assert isinstance(listed, Reply) and len(listed.lines) == 2


def test_subscribe_and_audit(db) -> None:
    assert isinstance(run(db, ALICE, "subscribe rdp-vmb <#C0TEAMB|team-b> --events problems"), Reply)
    assert isinstance(run(db, ALICE, "subscribe * <#C0TEAMB|team-b>"), Refusal)
    assert isinstance(run(db, BOB, "audit"), Refusal)
    trail = run(db, ADMIN, "audit --limit 5")
    assert isinstance(trail, Reply) and 1 <= len(trail.lines) <= 5


def test_whoami_says_what_each_person_may_do(db) -> None:
    bob = run(db, BOB, "whoami")
    assert isinstance(bob, Reply) and bob.title == f"What <@{BOB}> may do"
    assert bob.lines == (
        f"You are not an admin (admins: <@{ADMIN}>).",
        f"You may *request* in `{TEAM_A}` (granted by <@{ADMIN}>).",
        "You own no service.",
    )
    pending_request(db)
    alice = run(db, ALICE, "whoami")
    assert alice.lines[-2:] == (
        "You own *rdp-vmb*; 1 request(s) wait for a decision.",
        "You hold no grant: an admin can give you one with `/natlink grant`.",
    )
    assert run(db, ADMIN, "whoami").lines[0].startswith("You are an admin")
    assert audit.list_entries(db, limit=5) == [], "reading your own rights is not audited"


def test_natlink_alone_answers_with_help_not_a_warning(db) -> None:
    """Issue 12: ``/natlink`` with nothing after it warned 'no verb given'."""
    for text in ("", "   "):
        answer = run(db, BOB, text)
        assert isinstance(answer, Reply) and "request" in " ".join(answer.lines), answer


def test_a_queued_summary_names_the_verb_and_target_not_the_text_typed(db) -> None:
    """A reason may hold anything (a backtick breaks the summary's code span); the summary is the title."""
    answer = run(db, ADMIN, "create rdp-vmb --vm VM-Win2019-2 --port 3389")
    assert isinstance(answer, Queued) and answer.summary == "`/natlink create rdp-vmb`", answer.summary


def test_listings_narrow_by_owner_and_subscription(db) -> None:
    """Issue 12: with a thousand services a person narrows before paging."""
    services.upsert_service(
        db,
        name="ssh-vma",
        pls_id=PLS.replace(TEAM_B, TEAM_A).replace("rdp-vmb", "ssh-vma"),
        subscription=TEAM_A,
        resource_group="rg-team-a",
        location="japaneast",
        alias=ALIAS.replace("rdp-vmb", "ssh-vma"),
        created_by=BOB,
        details={"ports": [22]},
    )
    owners.add_owner(db, "ssh-vma", BOB, added_by=BOB)

    def shown(text: str) -> list[str]:
        return [
            re.sub(r"<[^|>]+\|([^>]+)>", r"\1", line).split("*")[1] for line in run(db, ADMIN, text).lines
        ]

    assert shown("list") == ["rdp-vmb", "ssh-vma"]
    assert shown(f"list --owner <@{BOB}|bob>") == ["ssh-vma"]
    assert shown(f"list --subscription {TEAM_B}") == ["rdp-vmb"]
    assert shown(f"list --owner <@{BOB}|bob> --subscription {TEAM_B}") == []
    paged = run(db, ADMIN, f"list --owner <@{BOB}|bob>")
    assert paged.more == f"list --owner <@{BOB}>", "the next page keeps the filter"


def test_a_listings_button_is_its_command_again_for_the_one_who_asked(db) -> None:
    """Issue 12: Previous/Next/Export CSV re-ask the listing with its filters; the policy's `page`
    lets only the person who asked turn it (an admin too is refused), and the refusal is audited."""
    config = Config(frozenset({ADMIN}), False, (TEAM_A, TEAM_B), "https://portal.azure.com/#@tenant-1")
    first = run(db, BOB, "list --mine")
    assert first.listing is not None and first.listing.asked_by == BOB and first.listing.args["mine"] is True
    as_bob = Context(db, config, BOB, channel="C0TEAMB")
    again = page(as_bob, first.listing, Turn(after="a"), Delivery(key="click:1"))
    assert (
        isinstance(again, Reply)
        and again.turn == Turn(after="a")
        and again.title == "Your services"
        and not again.table
    )
    exported = page(as_bob, Listing("list", {}, BOB), Turn(), Delivery(), csv=True)
    assert exported.table[0][0] == "service" and [r[0] for r in exported.table[1:]] == ["rdp-vmb"]
    assert exported.table[1][-1] == f"https://portal.azure.com/#@tenant-1/resource{PLS}"
    assert "<https://portal.azure.com/#@tenant-1/resource" in exported.lines[0]

    refused = page(Context(db, config, ADMIN, channel="C0TEAMB"), first.listing, Turn(2), Delivery())
    assert isinstance(refused, Refusal) and f"asked for by <@{BOB}>" in refused.reason
    [denied] = [e for e in audit.list_entries(db) if e.action == "page"]
    assert (denied.actor, denied.outcome) == (ADMIN, "denied")
    stale = Listing("list", {"gone": 1}, BOB)
    assert isinstance(page(as_bob, stale, Turn(), Delivery()), Refusal)
    assert isinstance(page(as_bob, Listing("grant", {}, BOB), Turn(), Delivery()), Refusal)


def test_a_listings_rows_carry_their_sort_keys_in_order(db) -> None:
    """Issue 12: the buttons page by the rows' keys, so the keys must run in the order shown."""
    start = datetime(2026, 11, 27, 9, tzinfo=UTC)
    made = [
        requests.create_request(
            db, request_id=new_request_id(), service="rdp-vmb", requester=BOB, consumer_subscription=TEAM_A,
            now=start - timedelta(minutes=n),
        ).id
        for n in range(3)
    ]  # fmt: skip
    for request_id in made:
        requests.set_state(db, request_id, "pending")
    listed = run(db, ADMIN, "pending")
    assert len(listed.keys) == len(listed.lines) == 3 and list(listed.keys) == sorted(listed.keys)
    assert [k.rsplit(" ", 1)[1] for k in listed.keys] == made[::-1], "oldest first, as the lines are"
    assert [line.split("`")[1] for line in listed.lines] == made[::-1]
    services_listed = run(db, ADMIN, "list")
    assert services_listed.keys == ("rdp-vmb",)
