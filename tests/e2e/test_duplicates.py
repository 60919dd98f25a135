"""Double clicks, concurrent clicks and Slack's retries make one change in Azure and one decision."""

from __future__ import annotations

import threading

import pytest

from storage import audit, operations, requests
from storage.database import open_database
from tests.conftest import TEAM_B
from tests.e2e.harness import (
    arm_count,
    database,
    ephemerals,
    find,
    ok,
    pending_request,
    prepared_click,
    request_id_of,
    wait_for,
)

CONNECTION_PUT = "/privateEndpointConnections/"


def _send_together(driver, deliveries) -> list:
    barrier, replies = threading.Barrier(len(deliveries)), [None] * len(deliveries)

    def send(index: int) -> None:
        barrier.wait()
        replies[index] = driver.send(deliveries[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(deliveries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return replies


def _approve_twice(mode: str, driver, slack) -> dict:
    card = pending_request(driver, slack)
    ts = card["message"]["ts"]
    if mode == "replay":
        first = driver.click("alice", "#team-b", ts, "natlink_approve")
        ok(first)
        ok(driver.replay(first))
        return card
    # Both clicks are built from the card as it was, as when someone clicks before the card refreshes.
    deliveries = [prepared_click(driver, "alice", "#team-b", ts, "natlink_approve") for _ in range(2)]
    if mode == "back to back":
        replies = [driver.send(d) for d in deliveries]
    else:
        replies = _send_together(driver, deliveries)
    for reply in replies:
        ok(reply)
    return card


@pytest.mark.parametrize("mode", ["back to back", "concurrent", "replay"])
def test_one_approval_per_request(mode: str, bot, driver, slack, sandbox) -> None:
    card = _approve_twice(mode, driver, slack)
    alice, bob, request_id = slack.user("alice"), slack.user("bob"), request_id_of(card)
    db = open_database(database(bot))

    # The loser of the race is told who won; that answer also means the duplicate was fully handled.
    already = f"already approved by <@{alice}>"
    wait_for(lambda: ephemerals(slack, "team-b", alice, already), 30, "the second click's 'already approved'")
    wait_for(lambda: find(slack, bob, "was approved"), 60, "bob's DM")
    wait_for(
        lambda: operations.list_operations(db)[0].state == "succeeded", 30, "the decide operation to finish"
    )

    assert len(ephemerals(slack, "team-b", alice, already)) == 1
    assert arm_count(sandbox, "PUT", CONNECTION_PUT) == 1, sandbox.control("GET", "requests")["counts"]
    assert [op.kind for op in operations.list_operations(db)].count("approve") == 1
    assert requests.get_request(db, request_id).state == "approved"
    trail = [(e.actor, e.action, e.outcome) for e in audit.list_entries(db, limit=200)]
    assert trail.count((alice, "approve", "succeeded")) == 1
    assert len([r for r in slack.messages(bob) if "was approved" in str(r)]) == 1, "bob is told once"
    decided = slack.messages(card["channel"], ts=card["message"]["ts"])[0]
    assert "Approved" in str(decided["message"]) and "natlink_approve" not in str(decided["message"])


def test_one_allowed_audit_row_per_approval(bot, driver, slack) -> None:
    _approve_twice("back to back", driver, slack)
    alice = slack.user("alice")
    wait_for(lambda: ephemerals(slack, "team-b", alice, "already approved"), 30, "the second click's answer")
    trail = [(e.actor, e.action, e.outcome) for e in audit.list_entries(open_database(database(bot)))]
    assert trail.count((alice, "approve", "allowed")) == 1, trail


def test_replayed_create_runs_once(bot, driver, slack, sandbox, net_b) -> None:
    alice = slack.user("alice")
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    first = driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389")
    assert "Queued" in str(ok(first))
    again = ok(driver.replay(first))
    assert again.get("response_type") == "ephemeral" and "Already queued" in str(again), again
    wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "rdp-vmb to be exposed")

    db = open_database(database(bot))
    wait_for(lambda: not operations.unfinished(db), 30, "no operation left in flight")
    assert [op.kind for op in operations.list_operations(db)] == ["create"]
    assert arm_count(sandbox, "PUT", "/privateLinkServices/rdp-vmb") == 1
    assert [s.name for s in net_b.private_link_services.list_by_subscription()].count("rdp-vmb") == 1
    assert len([r for r in slack.messages(slack.channel("team-b")) if "rdp-vmb is exposed" in str(r)]) == 1
