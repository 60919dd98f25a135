"""Invariant 5 as the owners meet it: every outbox event reaches Slack exactly once.

The scheduler's jobs each drain the outbox after their work and a post job drains it every two
seconds, so two drainers often run at once. These tests make the window wide (Slack answers the
first post with a 429, and the client waits out its Retry-After) and check that an endpoint made
outside natlink still gets exactly one approval card, the one its buttons and updates belong to;
and that one whose message copies another request's token gets a card of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloud.tokens import token
from storage import events, observations, requests, services
from storage.database import open_database
from tests.arm_story import A_RG, pe_body
from tests.e2e.harness import (
    RunningBot,
    create_rdp_vmb,
    database,
    find,
    ok,
    pending_request,
    request_id_of,
    start_bot,
    text_of,
    wait_for,
)

RETRY_AFTER = 3  # seconds Slack asks the first drainer to wait: longer than the post job's period
SWEEP_SECONDS = "10"  # the shortest period natlink accepts


@pytest.fixture
def bot(sandbox, slack, tmp_path: Path) -> Iterator[RunningBot]:
    """natlink serve sweeping every 10 s, so a change made outside natlink is found while the test waits."""
    running = start_bot(sandbox, slack, tmp_path, NATLINK_SWEEP_SECONDS=SWEEP_SECONDS)
    yield running
    assert running.stop() == 0, running.log.read_text()[-3000:]


def _cards(slack, needle: str = "") -> list[dict[str, Any]]:
    """The approval cards in #team-b (those with an Approve button) that mention ``needle``."""
    return [
        r
        for r in slack.messages(slack.channel("team-b"))
        if "natlink_approve" in str(r["message"]) and needle in text_of(r)
    ]


def _card_posts_after(slack, moment: float) -> list[dict[str, Any]]:
    """Successful chat.postMessage calls that Slack logged after ``moment``."""
    return [c for c in slack.calls("chat.postMessage") if c["status"] == 200 and c["time"] > moment]


def _slack_slows_the_next_post(slack) -> None:
    slack.control("POST", "faults", {"method": "chat.postMessage", "count": 1, "retry_after": RETRY_AFTER})


def _settled_after_the_retry(slack) -> None:
    """Wait until the 429'd post has been retried, so any second copy would be in Slack by now."""
    throttled = wait_for(
        lambda: [c for c in slack.calls("chat.postMessage") if c["status"] == 429], 60, "Slack's 429"
    )
    retried = throttled[0]["time"] + RETRY_AFTER
    wait_for(lambda: _card_posts_after(slack, retried), 30, "the throttled post to be retried")


def _baseline(bot, driver, slack):
    """rdp-vmb exposed and the first (baseline) sweep done: what appears next is a change."""
    create_rdp_vmb(driver, slack)
    db = open_database(database(bot))
    wait_for(lambda: observations.meta(db, "last_sweep"), 30, "the baseline sweep")
    return db


def test_an_endpoint_made_outside_natlink_gets_one_card(bot, driver, slack, sandbox, net_a) -> None:
    db = _baseline(bot, driver, slack)
    _slack_slows_the_next_post(slack)
    alias = services.get_service(db, "rdp-vmb").alias  # the consumer works in the portal, not in Slack
    net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-portal", pe_body(alias, "from the portal")
    ).result()

    wait_for(lambda: _cards(slack, "pe-portal"), 60, "the approval card for pe-portal")
    _settled_after_the_retry(slack)
    cards = _cards(slack, "pe-portal")
    assert len(cards) == 1, f"{len(cards)} approval cards for one endpoint"
    card = cards[0]
    (event,) = [e for e in events.recent(db) if e.kind == "approval_card"]
    assert event.posted and event.message_ts == card["message"]["ts"] and event.claimed_by

    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    decided = wait_for(
        lambda: find(slack, "team-b", ":white_check_mark: *Approved*"), 60, "the card to show the approval"
    )
    assert decided["message"]["ts"] == card["message"]["ts"]
    assert _cards(slack, "pe-portal") == [], "no card is left with buttons"
    request = requests.get_request(db, event.payload["request"])
    assert request is not None and request.state == "approved" and request.card_ts == card["message"]["ts"]
    time.sleep(1)  # the requester's message would follow the card's update
    for place in ("team-b", slack.user("alice")):
        assert not find(slack, place, "could not post"), "a request made in the portal has nobody to tell"


def test_a_copied_token_gets_its_own_card_and_leaves_the_request_alone(
    bot, driver, slack, sandbox, net_a
) -> None:
    """Someone copies bob's token into an endpoint of their own: the owners get one card for it,
    saying whose token it carries; bob's card and request stay as they were."""
    bobs_card = pending_request(driver, slack)
    bob_id = request_id_of(bobs_card)
    db = open_database(database(bot))
    wait_for(lambda: observations.meta(db, "last_sweep"), 30, "the baseline sweep")
    bob = wait_for(lambda: (r := requests.get_request(db, bob_id)) and r.pe_id and r, 60, "bob's endpoint")
    alias = services.get_service(db, "rdp-vmb").alias
    copied = pe_body(alias, f"{token(bob_id)} me too")
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-copycat", copied).result()

    wait_for(lambda: _cards(slack, "pe-copycat"), 60, "a card for pe-copycat")
    wait_for(lambda: not events.pending(db), 30, "the outbox to be empty")
    (card,) = _cards(slack, "pe-copycat")
    assert f"carries the token of request {bob_id}" in text_of(card) and bob.pe_name in text_of(card)
    assert request_id_of(card) != bob_id
    bobs = [r["message"]["ts"] for r in _cards(slack) if request_id_of(r) == bob_id]
    assert bobs == [bobs_card["message"]["ts"]], "bob's card is the only one that decides his request"
    after = requests.get_request(db, bob_id)
    assert (after.state, after.pe_id, after.connection_id) == ("pending", bob.pe_id, bob.connection_id)
