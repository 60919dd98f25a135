"""App Home: views.publish keeps one Home tab per user and refuses what Slack refuses; opening the
tab sends ``app_home_opened`` signed, with the view last published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.driver import Driver
from sandbox.slack.launch import RunningSlack
from tests.sandbox.slack.receiver import Receiver


def home(blocks: int = 1, **over: Any) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "*Your services*"}}
    return {"type": "home", "blocks": [section] + [{"type": "divider"}] * (blocks - 1)} | over


def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        call()
    return dict(caught.value.response.data)


@pytest.fixture
def receiver(slack: RunningSlack) -> Iterator[Receiver]:
    server = Receiver(slack.signing_secret)
    yield server
    server.close()


def test_publish_keeps_one_home_per_user_and_refuses_as_slack(client: WebClient, slack: RunningSlack) -> None:
    first = client.views_publish(user_id="U0ALICE", view=home())["view"]
    assert first["type"] == "home" and first["id"].startswith("V")
    second = client.views_publish(user_id="U0ALICE", view=home(3), hash=first["hash"])["view"]
    assert second["id"] == first["id"] and len(second["blocks"]) == 3
    assert slack.control("GET", "home", query={"user": "U0ALICE"})["view"]["blocks"] == second["blocks"]
    assert slack.control("GET", "home", query={"user": "U0BOB"})["view"] is None
    assert slack.control("GET", "views")["views"] == [], "a Home tab is not an open modal"

    assert (
        refused(lambda: client.views_publish(user_id="U0ALICE", view=home(), hash=first["hash"]))["error"]
        == "hash_conflict"
    )
    too_many = refused(lambda: client.views_publish(user_id="U0ALICE", view=home(101)))
    assert too_many["error"] == "invalid_arguments"
    assert "no more than 100 items allowed" in json.dumps(too_many["response_metadata"])
    modal = home() | {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}}
    assert (
        refused(lambda: client.views_publish(user_id="U0ALICE", view=modal))["error"] == "invalid_arguments"
    )
    assert (
        refused(lambda: client.views_publish(user_id="U0NOBODY", view=home()))["error"] == "invalid_arguments"
    )
    big = home() | {"private_metadata": "x"}
    big["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 99
    assert refused(lambda: client.views_publish(user_id="U0BOB", view=big))["error"] == "view_too_large"

    slack.control("PUT", "app-home", {"home_tab_enabled": False})
    assert refused(lambda: client.views_publish(user_id="U0BOB", view=home()))["error"] == "not_enabled"


def test_opening_the_home_tab_sends_app_home_opened_signed(slack: RunningSlack, receiver: Receiver) -> None:
    driver = Driver(receiver.url, slack.config)
    assert driver.open_home("bob").status == 200
    WebClient(token=slack.bot_token, base_url=slack.api_url).views_publish(user_id="U0BOB", view=home())
    assert driver.open_home("bob").status == 200
    before, after = receiver.received
    assert before.valid and after.valid and after.headers["content-type"] == "application/json"
    envelope = json.loads(after.body)
    assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
    event = envelope["event"]
    assert (event["type"], event["user"], event["tab"], event["channel"]) == (
        "app_home_opened",
        "U0BOB",
        "home",
        "D0BOB",
    )
    assert "view" not in json.loads(before.body)["event"], "no view before the first publish"
    assert event["view"]["type"] == "home" and event["view"]["blocks"][0]["text"]["text"] == "*Your services*"
