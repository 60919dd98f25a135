"""Who may not decide is told so, privately, and nothing else moves; forged deliveries run nothing."""

from __future__ import annotations

from storage import audit, operations, requests
from storage.database import open_database
from tests.e2e.harness import (
    arm_count,
    database,
    ephemerals,
    ok,
    pending_request,
    request_id_of,
    text_of,
    wait_for,
)


def _card_now(slack, card: dict) -> dict:
    return slack.messages(card["channel"], ts=card["message"]["ts"])[0]


def test_carol_cannot_approve_or_reject(bot, driver, slack) -> None:
    card = pending_request(driver, slack)
    carol, request_id = slack.user("carol"), request_id_of(card)
    db = open_database(database(bot))

    ok(driver.click("carol", "#team-b", card["message"]["ts"], "natlink_approve"))
    refusal = wait_for(lambda: ephemerals(slack, "team-b", carol), 15, "carol's refusal")[0]
    assert ":warning:" in text_of(refusal) and "Traceback" not in text_of(refusal)

    now = _card_now(slack, card)
    assert now["message"]["blocks"] == card["message"]["blocks"], "the card is unchanged"
    assert "natlink_approve" in text_of(now) and "natlink_reject" in text_of(now)
    assert len(now["history"]) == len(card["history"]), "the card was not edited"
    assert requests.get_request(db, request_id).state == "pending"
    trail = [(e.actor, e.action, e.outcome) for e in audit.list_entries(db, limit=200)]
    assert (carol, "approve", "denied") in trail
    assert not any(e.actor == carol and e.outcome != "denied" for e in audit.list_entries(db, limit=200))

    # Reject needs a reason in a modal; a non-owner is refused before any modal opens.
    ok(driver.click("carol", "#team-b", card["message"]["ts"], "natlink_reject"))
    wait_for(lambda: len(ephemerals(slack, "team-b", carol)) == 2, 15, "carol's second refusal")
    assert slack.calls("views.open") == []
    assert slack.control("GET", "views")["views"] == []
    assert (carol, "reject", "denied") in [
        (e.actor, e.action, e.outcome) for e in audit.list_entries(db, limit=200)
    ]
    assert _card_now(slack, card)["message"]["blocks"] == card["message"]["blocks"]
    assert requests.get_request(db, request_id).state == "pending"


def test_forged_deliveries_run_nothing(bot, driver, slack, sandbox) -> None:
    card = pending_request(driver, slack)
    alice, request_id = slack.user("alice"), request_id_of(card)
    db = open_database(database(bot))
    ops_before = [op.id for op in operations.list_operations(db, limit=500)]
    audit_before = len(audit.list_entries(db, limit=1000))
    calls_before = len(slack.calls())
    messages_before = len(slack.messages())
    pls_puts = arm_count(sandbox, "PUT", "/privateLinkServices/")

    forged = {
        "wrong signature": {"wrong_signature": True},
        "older than 5 minutes": {"age": 301},
    }
    for why, knob in forged.items():
        create = driver.slash_command(
            "alice", "#team-b", "create rdp-two --vm VM-Win2019-2 --port 3390", **knob
        )
        assert create.status == 401, (why, create.status, create.text)
        click = driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve", **knob)
        assert click.status == 401, (why, click.status, click.text)

    # A genuine command afterwards: once its answer is out, anything the forgeries queued would have run.
    ok(driver.slash_command("alice", "#team-b", "status rdp-vmb"))
    wait_for(lambda: ephemerals(slack, "team-b", alice, "rdp-vmb"), 30, "the genuine status answer")

    ops_after = operations.list_operations(db, limit=500)
    assert [op.kind for op in ops_after if op.id not in ops_before] == ["status"]
    assert requests.get_request(db, request_id).state == "pending"
    entries = audit.list_entries(db, limit=1000)
    new_audit = entries[: len(entries) - audit_before]
    assert not [e for e in new_audit if e.action in ("create", "approve")], new_audit
    assert arm_count(sandbox, "PUT", "/privateLinkServices/") == pls_puts
    assert arm_count(sandbox, "PUT", "/privateEndpointConnections/") == 0
    new_calls = slack.calls()[calls_before:]
    assert [c["method"] for c in new_calls] == ["response_url"], new_calls
    assert len(slack.messages()) == messages_before + 1, "only the status answer was posted"
    assert _card_now(slack, card)["message"]["blocks"] == card["message"]["blocks"]
