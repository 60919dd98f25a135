"""Replayed deliveries and double submissions of the verbs answered at once: one card, one change row.

``share`` posts a card and ``grant`` writes a grant before Slack's 3 seconds, with no operation
to dedupe them by delivery. A replay of the same delivery (Slack's retry), the same command sent
twice back to back, or twice at once, must post one card and record one change.
"""

from __future__ import annotations

import threading

import pytest

from sandbox.slack.driver import Delivery, Reply
from storage import audit, grants
from storage.database import open_database
from tests.conftest import TEAM_B
from tests.e2e.harness import create_rdp_vmb, database, find, ok, text_of, wait_for

SHARE = "share rdp-vmb <#C0TEAMA|team-a>"
CARD = "natlink_request_endpoint"


def _prepared(driver, user: str, channel: str, text: str) -> Delivery:
    """The signed delivery Slack would send for this command, built but not sent."""
    held: list[Delivery] = []
    driver.send = lambda delivery: (held.append(delivery), Reply(200, {}, b"", delivery))[1]
    try:
        driver.slash_command(user, channel, text)
    finally:
        del driver.send  # back to the class's method
    return held[0]


def _twice(mode: str, driver, user: str, channel: str, text: str) -> list[dict]:
    """Send ``text`` twice: a replay of one delivery, two deliveries back to back, or two at once."""
    if mode == "replay":
        first = driver.slash_command(user, channel, text)
        return [ok(first), ok(driver.replay(first))]
    deliveries = [_prepared(driver, user, channel, text) for _ in range(2)]
    if mode == "back to back":
        return [ok(driver.send(d)) for d in deliveries]
    barrier, replies = threading.Barrier(2), [None, None]

    def send(index: int) -> None:
        barrier.wait()
        replies[index] = driver.send(deliveries[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return [ok(r) for r in replies]


def _cards(slack) -> list[dict]:
    return [r for r in slack.messages(slack.channel("team-a")) if CARD in text_of(r)]


@pytest.mark.parametrize("mode", ["replay", "back to back", "concurrent"])
def test_a_share_sent_twice_posts_one_card(mode: str, bot, driver, slack) -> None:
    create_rdp_vmb(driver, slack)
    answers = _twice(mode, driver, "alice", "#team-b", SHARE)
    wait_for(lambda: _cards(slack), 10, "the share card")
    already = [a for a in answers if "no second one is posted" in str(a)]
    assert len(already) == 1, answers
    assert "<#C0TEAMA>" in str(already[0]) and already[0].get("response_type") == "ephemeral"
    # The other answer's card is posted; the listener has returned for both, so nothing else follows.
    wait_for(lambda: slack.calls("chat.postMessage"), 10, "the card's post")
    assert len(_cards(slack)) == 1, [text_of(c) for c in _cards(slack)]


def test_a_share_to_another_channel_is_not_a_repeat(bot, driver, slack) -> None:
    create_rdp_vmb(driver, slack)
    ok(driver.slash_command("alice", "#team-b", SHARE))
    other = ok(driver.slash_command("alice", "#team-b", "share rdp-vmb <#C0TEAMB|team-b>"))
    assert "no second one is posted" not in str(other), other
    wait_for(lambda: find(slack, "team-b", CARD), 10, "the card in #team-b")
    wait_for(lambda: _cards(slack), 10, "the card in #team-a")


def _grant_rows(db, actor: str) -> list[str]:
    return [e.outcome for e in audit.list_entries(db, limit=500) if e.actor == actor and e.action == "grant"]


@pytest.mark.parametrize("mode", ["replay", "back to back", "concurrent"])
def test_a_grant_sent_twice_says_already_granted(mode: str, bot, driver, slack) -> None:
    alice = slack.user("alice")
    answers = _twice(mode, driver, "admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}")
    said = sorted("already" in str(a) for a in answers)
    assert said == [False, True], answers
    assert any("may now *create*" in str(a) for a in answers), answers
    db = open_database(database(bot))
    assert [(g.user_id, g.action, g.scope) for g in grants.list_grants(db)] == [(alice, "create", TEAM_B)]


def test_a_first_grant_has_one_allowed_row(bot, driver, slack) -> None:
    alice = slack.user("alice")
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    assert _grant_rows(open_database(database(bot)), slack.user("admin")) == ["allowed"]


def test_a_repeated_grant_adds_no_allowed_row(bot, driver, slack) -> None:
    alice = slack.user("alice")
    _twice("back to back", driver, "admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}")
    assert _grant_rows(open_database(database(bot)), slack.user("admin")) == ["allowed"]


def test_a_refused_grant_is_audited_each_time(bot, driver, slack) -> None:
    carol = slack.user("carol")
    answers = _twice("replay", driver, "carol", "#team-b", f"grant <@{carol}|carol> create {TEAM_B}")
    assert all("already" not in str(a) for a in answers), answers
    assert _grant_rows(open_database(database(bot)), carol) == ["denied", "denied"]
