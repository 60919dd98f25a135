"""A request's follow-ups go in its card's thread (issue 12, §3): signed requests through the real
bolt app, the outbox posted by the real scheduler, the stand-ins for ARM and Slack.

The owner channel sees one line about the request, its card, edited in place; the reminder, the
decision and the verification after approval are replies in the card's thread, read back with
conversations.replies. The requester still hears the decision by DM.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from commands.context import Config
from commands.reminders import queue_reminders
from sandbox.slack.driver import Driver
from storage.database import open_database
from tests.e2e.harness import (
    ADMIN,
    database,
    find,
    ok,
    pending_request,
    request_id_of,
    start_bot,
    text_of,
    wait_for,
)
from tests.e2e.test_verify import REACHED

THEIRS = "<@U0BOB>'s VM-Win2019 (10.0.0.4) connects to 10.0.0.5:3389; it arrives at VM-Win2019-2 10.2.0.5:3389 as 10.2.0.6"
SCOPES = ["commands", "chat:write", "im:write", "channels:read", "groups:read", "channels:history"]


def _replies(slack: Any, channel: str, parent: str) -> list[dict[str, Any]]:
    """The thread's replies as the stand-in stored them (ephemerals left out), oldest first."""
    return [
        r["message"]
        for r in slack.messages(channel)
        if not r["ephemeral"] and r["message"].get("thread_ts") == parent and r["message"]["ts"] != parent
    ]


def _reply(slack: Any, channel: str, parent: str, needle: str) -> dict[str, Any] | None:
    found = [m for m in _replies(slack, channel, parent) if needle in text_of({"message": m})]
    return found[0] if found else None


def test_the_reminder_the_decision_and_the_verification_go_in_the_cards_thread(
    sandbox, slack, tmp_path
) -> None:
    bot = start_bot(sandbox, slack, tmp_path, NATLINK_VERIFY_AFTER_APPROVAL="true")
    try:
        driver = Driver(f"{bot.url}/slack/events", slack.config)
        card = pending_request(driver, slack)
        channel, parent, request = card["channel"], card["message"]["ts"], request_id_of(card)

        # Two days later nobody has decided: the reminders (owners, then admins), posted by the real poster.
        config = Config(frozenset({ADMIN}), False, ())
        later = datetime.now(UTC) + timedelta(hours=49)
        assert queue_reminders(open_database(database(bot)), config, timedelta(hours=24), later) == 2
        reminder = wait_for(
            lambda: _reply(slack, channel, parent, "has waited"), 30, "the reminder in the thread"
        )
        assert request in text_of({"message": reminder})
        wait_for(lambda: find(slack, ADMIN, "has waited"), 30, "the admin's reminder, a DM")

        ok(driver.click("alice", "#team-b", parent, "natlink_approve"))
        decision = wait_for(
            lambda: _reply(slack, channel, parent, "was approved by"), 30, "the decision in the thread"
        )
        # The owners read the mapping about bob, in the third person; bob's DM keeps "you".
        assert THEIRS in text_of({"message": decision}) and "you" not in text_of({"message": decision})
        wait_for(lambda: find(slack, "U0BOB", "which sees you as 10.2.0.6"), 30, "bob's DM, to him")
        verified = wait_for(
            lambda: (
                (r := _reply(slack, channel, parent, REACHED))
                and "working" not in text_of({"message": r})
                and r
            ),
            90,
            "the verification in the thread",
        )
        assert f"Verify {request}" in text_of({"message": verified})
        assert "in the card's thread" in text_of(
            find(slack, "U0BOB", f"`{request}` for *rdp-vmb* was approved")
        )

        # The channel's top level: the card, edited in place to show the decision, and nothing after it.
        top = [
            r["message"]
            for r in slack.messages(channel)
            if not r["ephemeral"]
            and r["message"].get("thread_ts", r["message"]["ts"]) == r["message"]["ts"]
            and float(r["message"]["ts"]) >= float(parent)
        ]
        assert [m["ts"] for m in top] == [parent]
        assert "Approved* by" in text_of({"message": top[0]})
        # The verification's message may open before the decision's reply is posted: both follow
        # the approval at once (a worker picks the verification up while the decision is delivered).
        replies = sorted(m["ts"] for m in _replies(slack, channel, parent))
        assert reminder["ts"] == replies[0] and verified["ts"] in replies
        assert (top[0]["reply_count"], top[0]["latest_reply"]) == (3, replies[-1])

        slack.control("PUT", "scopes", {"scopes": SCOPES})
        thread = WebClient(token=slack.bot_token, base_url=slack.api_url).conversations_replies(
            channel=channel, ts=parent
        )
        assert [m["ts"] for m in thread["messages"]] == [parent, *replies]

        # bob verifies again from #team-a: the answer comes to him there, and the result in the thread too.
        ok(driver.slash_command("bob", "#team-a", f"verify {request}"))
        again = wait_for(
            lambda: (
                (
                    len(found := _replies(slack, channel, parent)) == 4
                    and REACHED in text_of({"message": found[-1]})
                )
                and found[-1]
            ),
            90,
            "bob's verification in the card's thread",
        )
        assert f"Verify {request}" in text_of({"message": again})
        assert wait_for(
            lambda: [r for r in slack.messages(slack.channel("team-a")) if f"Verify {request}" in text_of(r)],
            30,
            "bob's answer in #team-a",
        )
    finally:
        assert bot.stop() == 0, bot.log.read_text()[-3000:]
