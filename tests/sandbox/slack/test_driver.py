"""The driver signs as Slack signs: slack_sdk's verifier accepts it, and every forgery fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from sandbox.slack.driver import Driver, sign
from sandbox.slack.launch import RunningSlack
from tests.sandbox.slack.receiver import Receiver

CARD = [
    {"type": "section", "block_id": "what", "text": {"type": "mrkdwn", "text": "bob asks for rdp-b"}},
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": "pec-1",
            },
            {
                "type": "button",
                "action_id": "reject",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": "pec-1",
            },
        ],
    },
]


@pytest.fixture
def receiver(slack: RunningSlack) -> Iterator[Receiver]:
    server = Receiver(slack.signing_secret)
    yield server
    server.close()


@pytest.fixture
def driver(slack: RunningSlack, receiver: Receiver) -> Driver:
    return Driver(receiver.url, slack.config)


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def test_the_signature_is_the_one_slack_sdk_computes() -> None:
    body = b"token=x&team_id=T1&command=%2Fnatlink&text=status"
    expected = SignatureVerifier("a-secret").generate_signature(timestamp="1531420618", body=body)
    assert sign("a-secret", 1531420618, body) == expected


def test_slash_command_is_signed_and_shaped_like_slacks(
    driver: Driver, receiver: Receiver, slack: RunningSlack
) -> None:
    reply = driver.slash_command("bob", "#team-a", "request rdp-b --vm VM-Win2019")
    assert reply.status == 200
    [got] = receiver.received
    assert got.valid and got.path == "/slack/events"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    fields = form(got.body)
    assert fields["command"] == "/natlink" and fields["text"] == "request rdp-b --vm VM-Win2019"
    assert (fields["user_id"], fields["user_name"]) == ("U0BOB", "bob")
    assert (fields["channel_id"], fields["channel_name"]) == ("C0TEAMA", "team-a")
    assert fields["team_id"] == slack.config["team_id"] and fields["api_app_id"] == slack.config["api_app_id"]
    assert fields["response_url"].startswith(slack.config["base_url"] + "/hooks/response/")
    # the trigger ID is one the stand-in honours
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []}
    assert client.views_open(trigger_id=fields["trigger_id"], view=view)["ok"]


@pytest.mark.parametrize("forgery", [{"wrong_signature": True}, {"age": 301}, {"age": 3600}])
def test_forged_deliveries_fail_verification(driver: Driver, receiver: Receiver, forgery: dict) -> None:
    reply = driver.slash_command("carol", "team-b", "list", **forgery)
    assert reply.status == 401
    assert receiver.received[0].valid is False


def test_a_slightly_old_delivery_is_still_valid(driver: Driver, receiver: Receiver) -> None:
    assert driver.slash_command("carol", "team-b", "list", age=60).status == 200


def test_a_replay_is_the_same_delivery_with_retry_headers(driver: Driver, receiver: Receiver) -> None:
    first = driver.slash_command("alice", "team-b", "status")
    again = driver.replay(first, retry_num=2, reason="http_error")
    assert again.status == 200
    original, replayed = receiver.received
    assert replayed.body == original.body and replayed.valid
    assert replayed.headers["x-slack-signature"] == original.headers["x-slack-signature"]
    assert replayed.headers["x-slack-request-timestamp"] == original.headers["x-slack-request-timestamp"]
    assert (replayed.headers["x-slack-retry-num"], replayed.headers["x-slack-retry-reason"]) == (
        "2",
        "http_error",
    )
    assert "x-slack-retry-num" not in original.headers


def test_click_carries_the_stored_message(driver: Driver, receiver: Receiver, slack: RunningSlack) -> None:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    card = client.chat_postMessage(channel="C0TEAMB", text="request", blocks=CARD)
    reply = driver.click("alice", "team-b", card["ts"], "approve")
    assert reply.status == 200
    [got] = receiver.received
    assert got.valid and set(form(got.body)) == {"payload"}
    payload = json.loads(form(got.body)["payload"])
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U0ALICE"
    assert payload["container"] == {
        "type": "message",
        "message_ts": card["ts"],
        "channel_id": "C0TEAMB",
        "is_ephemeral": False,
    }
    assert payload["message"] == slack.messages("C0TEAMB")[0]["message"]
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["style"]) == (
        "approve",
        "decide",
        "pec-1",
        "primary",
    )
    assert payload["response_url"] and payload["trigger_id"]


def test_click_on_an_ephemeral_message_leaves_the_message_out(
    driver: Driver, receiver: Receiver, slack: RunningSlack
) -> None:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    sent = client.chat_postEphemeral(channel="C0TEAMA", user="U0BOB", text="pick", blocks=CARD)
    driver.click("bob", "team-a", sent["message_ts"], "reject", value="forged")
    payload = json.loads(form(receiver.received[0].body)["payload"])
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    assert payload["actions"][0]["value"] == "forged"


def test_a_button_that_is_not_there_cannot_be_clicked(driver: Driver, slack: RunningSlack) -> None:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    card = client.chat_postMessage(channel="C0TEAMB", text="request", blocks=CARD)
    with pytest.raises(LookupError):
        driver.click("alice", "team-b", card["ts"], "delete_everything")
    with pytest.raises(LookupError):
        driver.click("alice", "team-b", "1.000001", "approve")


def test_submit_view_fills_the_state(driver: Driver, receiver: Receiver, slack: RunningSlack) -> None:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    trigger_id = slack.control("POST", "triggers", {"user": "U0BOB"})["trigger_id"]
    view = {
        "type": "modal",
        "callback_id": "request",
        "title": {"type": "plain_text", "text": "Request"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "alias",
                "label": {"type": "plain_text", "text": "Alias"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    opened = client.views_open(trigger_id=trigger_id, view=view)["view"]
    assert driver.submit_view("bob", opened, {"alias": {"value": "rdp-b.1234.japaneast"}}).status == 200
    payload = json.loads(form(receiver.received[0].body)["payload"])
    assert payload["type"] == "view_submission" and payload["view"]["id"] == opened["id"]
    assert payload["view"]["callback_id"] == "request"
    assert payload["view"]["state"]["values"] == {
        "alias": {"value": {"type": "plain_text_input", "value": "rdp-b.1234.japaneast"}}
    }
