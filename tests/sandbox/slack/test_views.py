"""Modals: views.open needs a fresh trigger ID the stand-in issued; views.update finds the view by ID."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.launch import RunningSlack


def modal(blocks: int = 1, **over: Any) -> dict[str, Any]:
    input_block = {
        "type": "input",
        "block_id": "alias",
        "label": {"type": "plain_text", "text": "Alias"},
        "element": {"type": "plain_text_input", "action_id": "value"},
    }
    divider = [{"type": "divider"}] * (blocks - 1)
    return {
        "type": "modal",
        "callback_id": "request",
        "title": {"type": "plain_text", "text": "Request endpoint"},
        "submit": {"type": "plain_text", "text": "Request"},
        "blocks": [input_block, *divider],
    } | over


def trigger(slack: RunningSlack, user: str = "U0BOB") -> str:
    return slack.control("POST", "triggers", {"user": user})["trigger_id"]


def test_open_then_update_by_id_and_by_external_id(client: WebClient, slack: RunningSlack) -> None:
    opened = client.views_open(trigger_id=trigger(slack), view=modal(external_id="req-1"))["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "request"
    assert opened["state"] == {"values": {}} and opened["hash"]
    updated = client.views_update(view_id=opened["id"], view=modal(3), hash=opened["hash"])["view"]
    assert updated["id"] == opened["id"] and len(updated["blocks"]) == 3
    assert updated["hash"] != opened["hash"]
    again = client.views_update(external_id="req-1", view=modal(2))["view"]
    assert again["id"] == opened["id"] and len(again["blocks"]) == 2
    [stored] = slack.control("GET", "views", query={"id": opened["id"]})["views"]
    assert stored["user"] == "U0BOB" and len(stored["blocks"]) == 2


def test_update_with_a_stale_hash_or_unknown_view(client: WebClient, slack: RunningSlack) -> None:
    opened = client.views_open(trigger_id=trigger(slack), view=modal())["view"]
    client.views_update(view_id=opened["id"], view=modal(2))
    with pytest.raises(SlackApiError) as caught:
        client.views_update(view_id=opened["id"], view=modal(3), hash=opened["hash"])
    assert caught.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as caught:
        client.views_update(view_id="V0NOPE", view=modal())
    assert caught.value.response["error"] == "not_found"


def test_a_trigger_works_once(client: WebClient, slack: RunningSlack) -> None:
    trigger_id = trigger(slack)
    client.views_open(trigger_id=trigger_id, view=modal())
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=trigger_id, view=modal())
    assert caught.value.response["error"] == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id="123.456.forged", view=modal())
    assert caught.value.response["error"] == "invalid_trigger_id"


def test_a_trigger_expires_after_three_seconds(client: WebClient, slack: RunningSlack) -> None:
    trigger_id = trigger(slack)
    time.sleep(3.2)
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=trigger_id, view=modal())
    assert caught.value.response["error"] == "expired_trigger_id"
    assert slack.control("GET", "views")["views"] == []


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (modal(101), "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"),
        (
            modal(title={"type": "plain_text", "text": "t" * 25}),
            "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]",
        ),
        ({"type": "modal", "blocks": []}, "[ERROR] missing required field: title [json-pointer:/view]"),
        (
            modal() | {"blocks": [{"type": "carousel"}]},
            "[ERROR] unsupported type: carousel [json-pointer:/view/blocks/0/type]",
        ),
    ],
)
def test_invalid_views_are_refused_and_keep_the_trigger(
    client: WebClient, slack: RunningSlack, view: dict[str, Any], message: str
) -> None:
    trigger_id = trigger(slack)
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=trigger_id, view=view)
    assert caught.value.response["error"] == "invalid_arguments"
    assert message in caught.value.response["response_metadata"]["messages"]
    assert client.views_open(trigger_id=trigger_id, view=modal())["ok"]


def test_a_modal_holds_a_hundred_blocks(client: WebClient, slack: RunningSlack) -> None:
    assert client.views_open(trigger_id=trigger(slack), view=modal(100))["ok"]
