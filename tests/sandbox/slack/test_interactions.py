"""The driver's options loads, shortcuts and submissions, against a bolt app: what Slack would
throw away is refused (``AnswerRefused``), what it would never send is not sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from sandbox.slack.driver import Driver
from sandbox.slack.interactivity import AnswerRefused
from sandbox.slack.launch import RunningSlack
from tests.sandbox.slack.receiver import Receiver

ANSWERS: dict[str, Any] = {}
"""What the test app answers an options load for each typed value."""


def _option(i: int) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": f"VM-{i}"}, "value": f"v{i}"}


@pytest.fixture
def receiver(slack: RunningSlack) -> Iterator[Receiver]:
    app = App(
        signing_secret=slack.signing_secret, client=WebClient(token=slack.bot_token, base_url=slack.api_url)
    )

    @app.options("pick")
    def pick(ack: Any, body: dict) -> None:
        ack(options=ANSWERS.get(body["value"], [_option(1)]))

    @app.shortcut("natlink_request_shortcut")
    def shortcut(ack: Any) -> None:
        ack()

    @app.view("form")
    def submitted(ack: Any, view: dict) -> None:
        key = view["state"]["values"]["vm"]["pick"]["selected_option"]["value"]
        ack(response_action="errors", errors={key: "wrong"})

    server = Receiver(slack.signing_secret, app)
    yield server
    server.close()


@pytest.fixture
def opened(slack: RunningSlack) -> dict[str, Any]:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    trigger_id = slack.control("POST", "triggers", {"user": "U0BOB"})["trigger_id"]
    view = {
        "type": "modal",
        "callback_id": "form",
        "title": {"type": "plain_text", "text": "Form"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "vm",
                "label": {"type": "plain_text", "text": "VM"},
                "element": {"type": "external_select", "action_id": "pick", "min_query_length": 2},
            }
        ],
    }
    return client.views_open(trigger_id=trigger_id, view=view)["view"]


def test_options_loads_are_judged_as_slack_judges_them(
    slack: RunningSlack, receiver: Receiver, opened: dict[str, Any]
) -> None:
    driver = Driver(receiver.url, slack.config)
    assert driver.suggest("bob", opened, "vm", "VM").json() == {"options": [_option(1)]}
    payload = json.loads(parse_qs(receiver.received[-1].body.decode())["payload"][0])
    assert payload["type"] == "block_suggestion" and payload["action_id"] == "pick"
    assert payload["view"]["id"] == opened["id"] and payload["value"] == "VM"
    with pytest.raises(LookupError):  # under min_query_length, Slack sends nothing
        driver.suggest("bob", opened, "vm", "V")
    ANSWERS["many"] = [_option(i) for i in range(101)]
    with pytest.raises(AnswerRefused, match="at most 100"):
        driver.suggest("bob", opened, "vm", "many")
    # (an answer after 3 s is refused too: test_interactivity, without a test that waits)


def test_errors_must_name_an_input_block_and_shortcuts_must_be_declared(
    slack: RunningSlack, receiver: Receiver, opened: dict[str, Any]
) -> None:
    driver = Driver(receiver.url, slack.config)
    answer = driver.submit_view("bob", opened, {"vm": {"pick": "vm"}})  # errors under the vm block
    assert answer.json() == {"response_action": "errors", "errors": {"vm": "wrong"}}
    with pytest.raises(AnswerRefused, match="'elsewhere' is not the block_id"):
        driver.submit_view("bob", opened, {"vm": {"pick": "elsewhere"}})
    assert driver.shortcut("bob", "natlink_request_shortcut").status == 200
    payload = json.loads(parse_qs(receiver.received[-1].body.decode())["payload"][0])
    assert payload["type"] == "shortcut" and payload["trigger_id"] and "channel" not in payload
    with pytest.raises(LookupError):
        driver.shortcut("bob", "natlink_message_request")  # a message shortcut, not a global one
