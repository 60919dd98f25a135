"""Slack answering 429: every message still arrives, after Retry-After."""

from __future__ import annotations

from tests.e2e.harness import find, ok, pending_request, text_of, wait_for


def test_rate_limited_posts_and_updates_are_retried(bot, driver, slack) -> None:
    for method in ("chat.postMessage", "chat.update"):
        slack.control("POST", "faults", {"method": method, "count": 2, "retry_after": 1})

    card = pending_request(driver, slack)  # the create's progress and final message, then the card
    assert "rdp-vmb is exposed" in text_of(find(slack, "team-b", "rdp-vmb is exposed"))
    assert "natlink_approve" in text_of(card)

    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    bob = slack.user("bob")
    told = wait_for(lambda: find(slack, bob, "was approved"), 60, "bob's DM")
    assert "10.0.0.5:3389" in text_of(told)
    wait_for(lambda: find(slack, "team-b", "Approved* by"), 30, "the card to show the approval")

    assert slack.control("GET", "faults")["faults"] == [], "every injected 429 was hit"
    for method in ("chat.postMessage", "chat.update"):
        statuses = [c["status"] for c in slack.calls(method)]
        assert statuses[:2] == [429, 429], (method, statuses)
        assert statuses[2] == 200 and statuses.count(429) == 2, (method, statuses)
    assert "Traceback" not in bot.log.read_text()
