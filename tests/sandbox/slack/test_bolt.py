"""End to end with a real bolt App: the driver's deliveries pass bolt's checks, and what the app
says, responds, updates and opens lands in the stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from sandbox.slack.driver import Driver
from sandbox.slack.launch import RunningSlack
from tests.sandbox.slack.receiver import Receiver

APPROVAL = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "bob asks for rdp-b"}},
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "pec-1",
            }
        ],
    },
]
MODAL = {
    "type": "modal",
    "callback_id": "request",
    "title": {"type": "plain_text", "text": "Request endpoint"},
    "submit": {"type": "plain_text", "text": "Request"},
    "blocks": [
        {
            "type": "input",
            "block_id": "alias",
            "label": {"type": "plain_text", "text": "Alias"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


def build_app(slack: RunningSlack) -> App:
    app = App(
        signing_secret=slack.signing_secret,
        client=WebClient(token=slack.bot_token, base_url=slack.api_url),
    )

    @app.command("/natlink")
    def natlink(ack: Any, say: Any, respond: Any, command: dict, client: WebClient) -> None:
        ack("Working on it")
        if command["text"] == "request":
            client.views_open(trigger_id=command["trigger_id"], view=MODAL)
            return
        say(text=f"<@{command['user_id']}> asked for {command['text']}", blocks=APPROVAL)
        respond(text="Done", response_type="ephemeral")

    @app.action("approve")
    def approve(ack: Any, body: dict, client: WebClient, respond: Any) -> None:
        ack()
        respond(text=f"Approved by <@{body['user']['id']}>", replace_original=True)

    @app.view("request")
    def request(ack: Any, view: dict, body: dict, client: WebClient) -> None:
        ack()
        alias = view["state"]["values"]["alias"]["value"]["value"]
        client.chat_postMessage(channel="C0TEAMA", text=f"<@{body['user']['id']}> requested {alias}")

    return app


@pytest.fixture
def bot(slack: RunningSlack) -> Iterator[Receiver]:
    server = Receiver(slack.signing_secret, build_app(slack))
    yield server
    server.close()


@pytest.fixture
def driver(slack: RunningSlack, bot: Receiver) -> Driver:
    return Driver(bot.url, slack.config)


def eventually(check: Callable[[], Any], timeout: float = 5) -> Any:
    """Bolt runs listeners after the ack, so their effects arrive a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_app_start_verifies_its_token_with_auth_test(slack: RunningSlack) -> None:
    build_app(slack)
    assert [c["method"] for c in slack.calls()] == ["auth.test"]


def test_a_command_says_and_responds(slack: RunningSlack, driver: Driver) -> None:
    reply = driver.slash_command("bob", "team-a", "rdp-b")
    assert reply.status == 200 and reply.text == "Working on it"
    records = eventually(lambda: len(slack.messages("C0TEAMA")) == 2 and slack.messages("C0TEAMA"))
    said, responded = sorted(records, key=lambda r: r["ephemeral"])
    assert said["message"]["text"] == "<@U0BOB> asked for rdp-b" and said["via"] == "chat.postMessage"
    assert responded["message"]["text"] == "Done" and responded["to"] == "U0BOB"
    assert responded["via"] == "response_url"


def test_a_click_replaces_the_card(slack: RunningSlack, driver: Driver) -> None:
    driver.slash_command("bob", "team-a", "rdp-b")
    card = eventually(lambda: [r for r in slack.messages("C0TEAMA") if not r["ephemeral"]])[0]
    assert driver.click("alice", "team-a", card["message"]["ts"], "approve").status == 200
    replaced = eventually(lambda: slack.messages("C0TEAMA", ts=card["message"]["ts"])[0]["history"])
    assert replaced
    assert (
        slack.messages("C0TEAMA", ts=card["message"]["ts"])[0]["message"]["text"] == "Approved by <@U0ALICE>"
    )


def test_a_command_opens_a_modal_and_its_submission_posts(slack: RunningSlack, driver: Driver) -> None:
    assert driver.slash_command("bob", "team-a", "request").status == 200
    views = eventually(lambda: slack.control("GET", "views")["views"])
    assert views[0]["user"] == "U0BOB"
    assert (
        driver.submit_view("bob", views[0]["id"], {"alias": {"value": "rdp-b.guid.japaneast"}}).status == 200
    )
    posted = eventually(lambda: slack.messages("C0TEAMA"))
    assert posted[0]["message"]["text"] == "<@U0BOB> requested rdp-b.guid.japaneast"


@pytest.mark.parametrize("forgery", [{"wrong_signature": True}, {"age": 301}])
def test_bolt_refuses_forgeries_and_nothing_is_posted(
    slack: RunningSlack, driver: Driver, forgery: dict
) -> None:
    reply = driver.slash_command("bob", "team-a", "rdp-b", **forgery)
    assert reply.status == 401
    time.sleep(0.2)
    assert slack.messages("C0TEAMA") == []
