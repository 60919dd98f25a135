"""Round-trips through the real slack_sdk WebClient: the stand-in answers as Slack does."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.launch import RunningSlack

BUTTONS = [
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}}
        ],
    }
]


def test_auth_test_names_the_bot(client: WebClient, slack: RunningSlack) -> None:
    answer = client.auth_test()
    assert answer["ok"] is True
    assert answer["user_id"] == slack.config["bot_user_id"]
    assert answer["bot_id"] == slack.config["bot_id"]
    assert answer["team_id"] == slack.config["team_id"]


@pytest.mark.parametrize(("token", "error"), [("", "not_authed"), ("xoxb-wrong", "invalid_auth")])
def test_a_bad_token_is_refused(slack: RunningSlack, token: str, error: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(token=token or None, base_url=slack.api_url).chat_postMessage(channel="C0TEAMA", text="hi")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error


def test_the_token_may_come_as_a_form_field(slack: RunningSlack) -> None:
    client = WebClient(base_url=slack.api_url)
    answer = client.api_call("auth.test", params={"token": slack.bot_token})
    assert answer["ok"] is True


def test_post_message_is_stored_with_slack_shape(client: WebClient, slack: RunningSlack) -> None:
    answer = client.chat_postMessage(channel=slack.channel("team-a"), text="hello", blocks=BUTTONS)
    assert answer["channel"] == "C0TEAMA"
    message = answer["message"]
    assert message["ts"] == answer["ts"]
    assert message["user"] == slack.config["bot_user_id"]
    assert message["bot_id"] == slack.config["bot_id"]
    assert message["blocks"][0]["block_id"] == "decide"
    [record] = slack.messages("C0TEAMA")
    assert record["message"] == message
    assert record["ephemeral"] is False and record["via"] == "chat.postMessage"


def test_post_by_channel_name_and_in_a_thread(client: WebClient, slack: RunningSlack) -> None:
    parent = client.chat_postMessage(channel="#team-b", text="parent")
    reply = client.chat_postMessage(channel="team-b", text="reply", thread_ts=parent["ts"])
    assert reply["channel"] == "C0TEAMB"
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert float(reply["ts"]) > float(parent["ts"])


def test_blocks_get_ids_as_slack_assigns_them(client: WebClient) -> None:
    answer = client.chat_postMessage(
        channel="C0TEAMA",
        text="x",
        blocks=[
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}],
            }
        ],
    )
    block = answer["message"]["blocks"][0]
    assert block["block_id"] and block["elements"][0]["action_id"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "C0TEAMA"}, "no_text"),
        ({"channel": "C0TEAMA", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C0TEAMA", "blocks": "not json"}, "invalid_blocks_format"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(client: WebClient, kwargs: dict, error: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(**kwargs)
    assert caught.value.response["error"] == error


def _sections(count: int, size: int) -> list[dict]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * size}} for _ in range(count)]


def test_blocks_carrying_more_than_twelve_thousand_characters_are_refused(client: WebClient) -> None:
    """Each section is within 3,000, yet five of them are too much (slackapi/bolt-js #2509, #2867)."""
    assert client.chat_postMessage(channel="C0TEAMA", text="x", blocks=_sections(4, 3000))["ok"]
    for call in (
        lambda: client.chat_postMessage(channel="C0TEAMA", text="x", blocks=_sections(5, 2401)),
        lambda: client.chat_postEphemeral(
            channel="C0TEAMA", user="U0BOB", text="x", blocks=_sections(5, 2401)
        ),
    ):
        with pytest.raises(SlackApiError) as caught:
            call()
        assert caught.value.response["error"] == "msg_blocks_too_long"


def test_text_of_exactly_forty_thousand_characters_is_accepted(client: WebClient) -> None:
    assert client.chat_postMessage(channel="C0TEAMA", text="x" * 40_000)["ok"]


def test_update_edits_in_place_and_keeps_history(client: WebClient, slack: RunningSlack) -> None:
    posted = client.chat_postMessage(channel="C0TEAMB", text="Pending", blocks=BUTTONS)
    updated = client.chat_update(channel="C0TEAMB", ts=posted["ts"], text="Approved by alice")
    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "Approved by alice"
    assert updated["message"]["edited"]["user"] == slack.config["bot_user_id"]
    assert updated["message"]["blocks"] == posted["message"]["blocks"]  # no blocks given: they stay
    client.chat_update(channel="C0TEAMB", ts=posted["ts"], text="Closed", blocks=[])
    [record] = slack.messages("C0TEAMB")
    assert record["message"]["text"] == "Closed" and record["message"]["blocks"] == []
    assert [h["text"] for h in record["history"]] == ["Pending", "Approved by alice"]


def test_update_refuses_missing_and_foreign_messages(client: WebClient, slack: RunningSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C0TEAMA", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"
    human = slack.control("POST", "messages", {"channel": "C0TEAMA", "user": "U0CAROL", "text": "mine"})
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C0TEAMA", ts=human["ts"], text="hijacked")
    assert caught.value.response["error"] == "cant_update_message"
    assert slack.messages("C0TEAMA")[0]["message"]["text"] == "mine"


def test_ephemeral_is_stored_for_its_user(client: WebClient, slack: RunningSlack) -> None:
    answer = client.chat_postEphemeral(channel="C0TEAMA", user="U0BOB", text="only you")
    assert set(answer.data) == {"ok", "message_ts"}
    [record] = slack.messages("C0TEAMA")
    assert record["ephemeral"] is True and record["to"] == "U0BOB"
    assert record["message"]["ts"] == answer["message_ts"]
    with pytest.raises(SlackApiError) as caught:
        client.chat_postEphemeral(channel="C0TEAMA", user="U0NOBODY", text="x")
    assert caught.value.response["error"] == "user_not_found"


def test_users_info(client: WebClient, slack: RunningSlack) -> None:
    slack.control("PUT", "scopes", {"scopes": ["chat:write"]})  # a workspace that did not grant users:read
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user="U0ALICE")
    assert (
        caught.value.response["error"] == "missing_scope" and caught.value.response["needed"] == "users:read"
    )
    slack.control("PUT", "scopes", {"scopes": ["chat:write", "users:read"]})
    user = client.users_info(user="U0ALICE")["user"]
    assert user["id"] == "U0ALICE" and user["name"] == "alice" and user["is_bot"] is False
    assert not any(key.startswith("_") for key in user)
    assert (user["real_name"], user["profile"]["display_name"], user["profile"]["real_name"]) == (
        "Alice",
        "alice",
        "Alice",
    )
    carol = client.users_info(user="U0CAROL")["user"]["profile"]
    assert (carol["display_name"], carol["real_name"]) == ("", "Carol"), "carol never set a display name"
    assert client.users_info(user="U0ADMIN")["user"]["is_admin"] is True
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user="U0NOBODY")
    assert caught.value.response["error"] == "user_not_found"


def test_conversations_info_and_open(client: WebClient, slack: RunningSlack) -> None:
    channel = client.conversations_info(channel="C0TEAMA")["channel"]
    assert channel["name"] == "team-a" and channel["is_member"] is True
    with pytest.raises(SlackApiError) as caught:
        client.conversations_info(channel="C0NOPE")
    assert caught.value.response["error"] == "channel_not_found"
    first = client.conversations_open(users="U0ALICE")
    again = client.conversations_open(users=["U0ALICE"])
    dm = first["channel"]["id"]
    assert dm.startswith("D") and again["channel"]["id"] == dm and again["already_open"] is True
    with pytest.raises(SlackApiError) as caught:
        client.conversations_info(channel=dm)
    assert caught.value.response["needed"] == "im:read", "natlink never asks: it knows a DM reaches"
    client.chat_postMessage(channel=dm, text="a DM")
    assert [r["message"]["text"] for r in slack.messages(dm)] == ["a DM"]
    with pytest.raises(SlackApiError) as caught:
        client.conversations_open(users="U0NOBODY")
    assert caught.value.response["error"] == "user_not_found"


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("chat.teleport")
    assert caught.value.response["error"] == "unknown_method"


def test_every_call_is_recorded_without_the_token(client: WebClient, slack: RunningSlack) -> None:
    client.chat_postMessage(channel="C0TEAMA", text="logged")
    slack.control("PUT", "scopes", {"scopes": ["chat:write", "users:read"]})
    with pytest.raises(SlackApiError):
        client.users_info(user="U0NOBODY")
    calls = slack.calls()
    assert [c["method"] for c in calls] == ["chat.postMessage", "users.info"]
    assert calls[0]["args"]["text"] == "logged" and calls[0]["response"]["ok"] is True
    assert calls[1]["response"] == {"ok": False, "error": "user_not_found"}
    assert all(slack.bot_token not in str(c) for c in calls)
    assert [c["method"] for c in slack.calls("users.info")] == ["users.info"]


def test_concurrent_posts_get_distinct_increasing_timestamps(slack: RunningSlack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def post(i: int) -> str:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        return client.chat_postMessage(channel="C0TEAMA", text=str(i))["ts"]

    with ThreadPoolExecutor(16) as pool:
        stamps = list(pool.map(post, range(64)))
    assert len(set(stamps)) == 64
    stored = [r["message"]["ts"] for r in slack.messages("C0TEAMA")]
    assert sorted(stored, key=float) == stored and set(stored) == set(stamps)


def test_a_channel_without_the_bot(client: WebClient, slack: RunningSlack) -> None:
    """Public: visible, but posting is not_in_channel until /invite; private: not even visible."""
    public = slack.control("POST", "channels", {"name": "ops"})
    private = slack.control("POST", "channels", {"name": "secret", "private": True})
    assert client.conversations_info(channel=public["id"])["channel"]["is_member"] is False
    for channel, error in ((public["id"], "not_in_channel"), (private["id"], "channel_not_found")):
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel=channel, text="hello")
        assert caught.value.response["error"] == error
    with pytest.raises(SlackApiError) as caught:
        client.conversations_info(channel=private["id"])
    assert caught.value.response["error"] == "channel_not_found"
    slack.control("POST", "invite", {"channel": private["id"]})
    assert client.conversations_info(channel=private["id"])["channel"]["is_member"] is True
    assert client.chat_postMessage(channel=private["id"], text="hello")["ok"]


def test_reading_a_channel_needs_its_types_scope(client: WebClient, slack: RunningSlack) -> None:
    slack.control("PUT", "scopes", {"scopes": ["chat:write"]})
    with pytest.raises(SlackApiError) as caught:
        client.conversations_info(channel="C0TEAMA")
    assert (caught.value.response["error"], caught.value.response["needed"]) == (
        "missing_scope",
        "channels:read",
    )


def test_every_answer_names_the_granted_scopes(client: WebClient, slack: RunningSlack) -> None:
    """Slack's ``x-oauth-scopes`` header: how ``natlink doctor`` reads what a workspace granted."""
    slack.control("PUT", "scopes", {"scopes": ["chat:write", "users:read"]})
    answer = client.auth_test()
    assert answer.headers["x-oauth-scopes"] == "chat:write,users:read"
