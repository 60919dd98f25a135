"""Threads in the stand-in, through the real slack_sdk WebClient: replies are counted on their
parent as conversations.history shows them, conversations.replies reads them, and a thread_ts
that names no message of the channel is refused as Slack refuses it."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.launch import RunningSlack

HISTORY = ["chat:write", "im:write", "channels:read", "groups:read", "channels:history"]


def _error(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def test_replies_are_counted_on_the_parent_and_read_back(client: WebClient, slack: RunningSlack) -> None:
    slack.control("PUT", "scopes", {"scopes": HISTORY})
    parent = client.chat_postMessage(channel="C0TEAMB", text="the card")
    first = client.chat_postMessage(channel="C0TEAMB", text="a reminder", thread_ts=parent["ts"])
    second = client.chat_postMessage(channel="C0TEAMB", text="the decision", thread_ts=parent["ts"])
    [stored] = [r for r in slack.messages("C0TEAMB") if r["message"]["ts"] == parent["ts"]]
    shown = stored["message"]
    assert (shown["thread_ts"], shown["reply_count"], shown["latest_reply"]) == (
        parent["ts"],
        2,
        second["ts"],
    )
    assert (shown["reply_users"], shown["reply_users_count"]) == ([slack.config["bot_user_id"]], 1)

    thread = client.conversations_replies(channel="C0TEAMB", ts=parent["ts"])
    assert [m["text"] for m in thread["messages"]] == ["the card", "a reminder", "the decision"]
    assert thread["messages"][1]["thread_ts"] == parent["ts"] and thread["has_more"] is False
    by_reply = client.conversations_replies(channel="C0TEAMB", ts=first["ts"])  # a reply names its thread
    assert [m["ts"] for m in by_reply["messages"]] == [parent["ts"], first["ts"], second["ts"]]

    page = client.conversations_replies(channel="C0TEAMB", ts=parent["ts"], limit=2)
    assert [m["text"] for m in page["messages"]] == ["the card", "a reminder"] and page["has_more"]
    rest = client.conversations_replies(
        channel="C0TEAMB", ts=parent["ts"], cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["the decision"] and rest["has_more"] is False

    alone = client.chat_postMessage(channel="C0TEAMB", text="no replies")
    assert [m["ts"] for m in client.conversations_replies(channel="C0TEAMB", ts=alone["ts"])["messages"]] == [
        alone["ts"]
    ]


def test_a_thread_ts_that_is_no_message_of_the_channel_is_refused(
    client: WebClient, slack: RunningSlack
) -> None:
    parent = client.chat_postMessage(channel="C0TEAMB", text="the card")
    reply = client.chat_postMessage(channel="C0TEAMB", text="reply", thread_ts=parent["ts"])
    elsewhere = client.chat_postMessage(channel="C0TEAMA", text="another channel's")
    gone = client.chat_postMessage(channel="C0TEAMB", text="deleted")
    client.chat_delete(channel="C0TEAMB", ts=gone["ts"])

    post = client.chat_postMessage
    assert _error(lambda: post(channel="C0TEAMB", text="x", thread_ts="0")) == "invalid_thread_ts"
    assert _error(lambda: post(channel="C0TEAMB", text="x", thread_ts="1.000001")) == "thread_not_found"
    assert _error(lambda: post(channel="C0TEAMB", text="x", thread_ts=elsewhere["ts"])) == "thread_not_found"
    assert _error(lambda: post(channel="C0TEAMB", text="x", thread_ts=gone["ts"])) == "thread_not_found"
    assert _error(lambda: post(channel="C0TEAMB", text="x", thread_ts=reply["ts"])) == "thread_not_found"
    ephemeral = client.chat_postEphemeral
    assert (
        _error(lambda: ephemeral(channel="C0TEAMB", user="U0ALICE", text="x", thread_ts=elsewhere["ts"]))
        == "thread_not_found"
    )
    shown = ephemeral(channel="C0TEAMB", user="U0ALICE", text="only alice", thread_ts=parent["ts"])
    assert shown["ok"]
    [stored] = [r for r in slack.messages("C0TEAMB") if r["message"]["ts"] == parent["ts"]]
    assert stored["message"]["reply_count"] == 1  # the refused ones and the ephemeral count for nobody


def test_reading_a_thread_needs_the_channels_history_scope(client: WebClient, slack: RunningSlack) -> None:
    parent = client.chat_postMessage(channel="C0TEAMB", text="the card")
    error = None
    with pytest.raises(SlackApiError) as caught:
        client.conversations_replies(channel="C0TEAMB", ts=parent["ts"])
    error = caught.value.response
    assert (error["error"], error["needed"]) == ("missing_scope", "channels:history")
    slack.control("PUT", "scopes", {"scopes": [*HISTORY, "im:history"]})
    dm = client.conversations_open(users="U0ALICE")["channel"]["id"]
    note = client.chat_postMessage(channel=dm, text="dm")
    assert client.conversations_replies(channel=dm, ts=note["ts"])["messages"][0]["text"] == "dm"
    assert (
        _error(lambda: client.conversations_replies(channel="C0TEAMB", ts="2.000001")) == "thread_not_found"
    )
    assert (
        _error(lambda: client.conversations_replies(channel="team-b", ts=parent["ts"])) == "channel_not_found"
    )
    ops = slack.control("POST", "channels", {"name": "ops"})
    assert (
        _error(lambda: client.conversations_replies(channel=ops["id"], ts=parent["ts"])) == "not_in_channel"
    )
