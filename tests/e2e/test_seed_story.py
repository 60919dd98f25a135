"""The seed story from Slack, end to end: signed requests in, real SDK calls to the sandbox ARM,
Block Kit out to the sandbox Slack."""

from __future__ import annotations

import json

from storage import audit
from storage.database import open_database
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import ADMIN, find, text_of, wait_for

MAPPING = (
    "from VM-Win2019 (10.0.0.4) connect to 10.0.0.5:3389; it arrives at VM-Win2019-2 10.2.0.5:3389, "
    "which sees you as 10.2.0.6"
)


def _ok(reply) -> dict:
    assert reply.status == 200, reply.text
    return reply.json() if reply.text else {}


def test_seed_story(bot, driver, slack) -> None:
    alice, bob = slack.user("alice"), slack.user("bob")
    _ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    _ok(driver.slash_command("admin", "#team-a", f"grant <@{bob}|bob> request {TEAM_A}"))

    # 1. alice creates rdp-vmb from VM-Win2019-2:3389; the progress message ends with the alias.
    ack = _ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    assert ack["response_type"] == "ephemeral" and "Queued" in str(ack)
    created = wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "the create to finish")
    body = text_of(created)
    assert "10.2.0.4" in body and "10.2.0.6" in body and ".japaneast.azure.privatelinkservice" in body
    earlier = [json.dumps(h.get("blocks") or []) for h in created["history"]]
    assert any("load balancer" in e and "working" in e for e in earlier), "each step was shown in place"

    # 2. she shares it in #team-a.
    _ok(driver.slash_command("alice", "#team-b", "share rdp-vmb <#C0TEAMA|team-a>"))
    shared = wait_for(lambda: find(slack, "team-a", "natlink_request_endpoint"), 10, "the share card")
    assert "Request endpoint" in text_of(shared)

    # 3. bob requests from VM-Win2019; the approval card reaches the owner channel.
    _ok(
        driver.slash_command(
            "bob", "#team-a", "request rdp-vmb --vm VM-Win2019 --reason 'RDP for the migration'"
        )
    )
    card = wait_for(lambda: find(slack, "team-b", "natlink_approve"), 60, "the approval card")
    card_text = text_of(card)
    for fact in (
        "rdp-vmb",
        f"<@{bob}>",
        TEAM_A,
        "RG-normal-vnet / default",
        "RDP for the migration",
        "natlink_reject",
    ):
        assert fact in card_text, fact

    # 4. alice clicks Approve: the card is updated in place and its buttons go away.
    _ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    decided = wait_for(
        lambda: (r := find(slack, "team-b", "Approved* by")) and "natlink_approve" not in text_of(r) and r,
        30,
        "the card to show the approval",
    )
    assert decided["message"]["ts"] == card["message"]["ts"] and f"<@{alice}>" in text_of(decided)

    # 5. bob receives the exact mapping, and `map` shows it.
    told = wait_for(lambda: find(slack, bob, MAPPING), 60, "bob's DM with the mapping")
    assert "approved" in text_of(told)
    _ok(driver.slash_command("bob", "#team-a", "map rdp-vmb"))
    mapped = wait_for(
        # the service and endpoint link to the portal; the load balancer is a plain name (describe.mapping_row)
        lambda: find(slack, "team-a", "→ natlink-lb-temp-vnet-default 10.2.0.4:3389", ephemeral=True),
        60,
        "the map reply",
    )
    assert "10.0.0.5:3389" in text_of(mapped) and "NAT 10.2.0.6" in text_of(mapped)

    # Every decision is in the audit.
    db = open_database(bot.log.parent / "natlink.db")
    trail = {(e.actor, e.action, e.outcome) for e in audit.list_entries(db, limit=100)}
    assert {
        (ADMIN, "grant", "allowed"),
        (alice, "create", "succeeded"),
        (alice, "approve", "allowed"),
        (alice, "approve", "succeeded"),
        (bob, "request", "succeeded"),
    } <= trail
