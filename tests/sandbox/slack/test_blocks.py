"""Block Kit validation: each of Slack's limits refused with ``invalid_blocks`` and a JSON pointer."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.launch import RunningSlack


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def button(**over: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": "go", "text": plain("Go"), "value": "v"} | over


def actions(*elements: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)} | over


CONFIRM = {
    "title": plain("Sure?"),
    "text": mrkdwn("Really approve?"),
    "confirm": plain("Yes"),
    "deny": plain("No"),
}

VALID = [
    {"type": "header", "block_id": "head", "text": plain("Private link request")},
    {
        "type": "section",
        "block_id": "what",
        "text": mrkdwn("*bob* asks to reach *rdp-b* on port 3389"),
        "fields": [mrkdwn("*Service*\nrdp-b"), mrkdwn("*Endpoint*\n10.0.0.5")],
    },
    {"type": "divider"},
    {"type": "context", "elements": [mrkdwn("natlink token `nl-1234`"), plain("requested just now")]},
    actions(
        button(action_id="approve", text=plain("Approve"), style="primary", value="pec-1", confirm=CONFIRM),
        button(action_id="reject", text=plain("Reject"), style="danger", value="pec-1"),
        block_id="decide",
    ),
    {"type": "section", "text": mrkdwn("x" * 3000), "accessory": button(action_id="more")},
]

# (name, blocks, json-pointer of the failure, message)
INVALID: list[tuple[str, list[dict[str, Any]], str, str]] = [
    ("unknown block type", [{"type": "carousel"}], "/blocks/0/type", "unsupported type: carousel"),
    ("block without type", [{"text": mrkdwn("x")}], "/blocks/0", "unsupported type: None"),
    ("more than 50 blocks", [{"type": "divider"}] * 51, "/blocks", "no more than 50 items allowed"),
    (
        "section text over 3000",
        [{"type": "section", "text": mrkdwn("x" * 3001)}],
        "/blocks/0/text/text",
        "must be less than 3001 characters",
    ),
    ("section without text or fields", [{"type": "section"}], "/blocks/0", "missing required field: text"),
    (
        "section text not an object",
        [{"type": "section", "text": "hi"}],
        "/blocks/0/text",
        "must provide an object",
    ),
    (
        "text object of unknown type",
        [{"type": "section", "text": {"type": "html", "text": "x"}}],
        "/blocks/0/text/type",
        "must be one of the provided values",
    ),
    (
        "empty section text",
        [{"type": "section", "text": mrkdwn("")}],
        "/blocks/0/text/text",
        "must be more than 0 characters",
    ),
    (
        "more than 10 fields",
        [{"type": "section", "fields": [mrkdwn("f")] * 11}],
        "/blocks/0/fields",
        "no more than 10 items allowed",
    ),
    (
        "field over 2000",
        [{"type": "section", "fields": [mrkdwn("x" * 2001)]}],
        "/blocks/0/fields/0/text",
        "must be less than 2001 characters",
    ),
    (
        "header over 150",
        [{"type": "header", "text": plain("x" * 151)}],
        "/blocks/0/text/text",
        "must be less than 151 characters",
    ),
    (
        "header in mrkdwn",
        [{"type": "header", "text": mrkdwn("x")}],
        "/blocks/0/text/type",
        "must be one of the provided values",
    ),
    ("header without text", [{"type": "header"}], "/blocks/0", "missing required field: text"),
    (
        "button text over 75",
        [actions(button(text=plain("x" * 76)))],
        "/blocks/0/elements/0/text/text",
        "must be less than 76 characters",
    ),
    (
        "button action_id over 255",
        [actions(button(action_id="a" * 256))],
        "/blocks/0/elements/0/action_id",
        "must be less than 256 characters",
    ),
    (
        "button value over 2000",
        [actions(button(value="v" * 2001))],
        "/blocks/0/elements/0/value",
        "must be less than 2001 characters",
    ),
    (
        "button without text",
        [actions({"type": "button", "action_id": "go"})],
        "/blocks/0/elements/0",
        "missing required field: text",
    ),
    (
        "button style",
        [actions(button(style="warning"))],
        "/blocks/0/elements/0/style",
        "must be one of the provided values",
    ),
    (
        "more than 25 elements",
        [actions(*[button(action_id=f"b{i}") for i in range(26)])],
        "/blocks/0/elements",
        "no more than 25 items allowed",
    ),
    ("actions without elements", [{"type": "actions"}], "/blocks/0", "missing required field: elements"),
    (
        "duplicate action_id",
        [actions(button(), button())],
        "/blocks/0/elements/1/action_id",
        "duplicate action_id: go",
    ),
    (
        "unknown element",
        [actions({"type": "slider", "action_id": "s"})],
        "/blocks/0/elements/0/type",
        "unsupported type: slider",
    ),
    (
        "duplicate block_id",
        [{"type": "divider", "block_id": "d"}, {"type": "divider", "block_id": "d"}],
        "/blocks/1/block_id",
        "duplicate block_id: d",
    ),
    (
        "block_id over 255",
        [{"type": "divider", "block_id": "b" * 256}],
        "/blocks/0/block_id",
        "must be less than 256 characters",
    ),
    *[
        (
            f"confirm without {key}",
            [actions(button(confirm={k: v for k, v in CONFIRM.items() if k != key}))],
            "/blocks/0/elements/0/confirm",
            f"missing required field: {key}",
        )
        for key in ("title", "text", "confirm", "deny")
    ],
    (
        "confirm title over 100",
        [actions(button(confirm=CONFIRM | {"title": plain("t" * 101)}))],
        "/blocks/0/elements/0/confirm/title/text",
        "must be less than 101 characters",
    ),
    ("context without elements", [{"type": "context"}], "/blocks/0", "missing required field: elements"),
    (
        "more than 10 context elements",
        [{"type": "context", "elements": [plain("c")] * 11}],
        "/blocks/0/elements",
        "no more than 10 items allowed",
    ),
    (
        "image without alt_text",
        [{"type": "image", "image_url": "https://example.com/x.png"}],
        "/blocks/0",
        "missing required field: alt_text",
    ),
]


def test_a_complex_valid_message_is_accepted(client: WebClient, slack: RunningSlack) -> None:
    answer = client.chat_postMessage(channel="C0TEAMB", text="request", blocks=VALID)
    stored = slack.messages("C0TEAMB")[0]["message"]["blocks"]
    assert stored[4]["elements"][0]["confirm"] == CONFIRM
    assert [b["type"] for b in answer["message"]["blocks"]] == [b["type"] for b in VALID]


def test_fifty_blocks_are_accepted(client: WebClient) -> None:
    assert client.chat_postMessage(channel="C0TEAMA", text="x", blocks=[{"type": "divider"}] * 50)["ok"]


@pytest.mark.parametrize(
    ("blocks", "pointer", "message"), [row[1:] for row in INVALID], ids=[r[0] for r in INVALID]
)
def test_invalid_blocks_are_refused_as_slack_refuses_them(
    client: WebClient, slack: RunningSlack, blocks: list[dict[str, Any]], pointer: str, message: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C0TEAMA", text="x", blocks=copy.deepcopy(blocks))
    response = caught.value.response
    assert response.status_code == 200
    assert response["error"] == "invalid_blocks"
    assert f"[ERROR] {message} [json-pointer:{pointer}]" in response["response_metadata"]["messages"]
    assert slack.messages("C0TEAMA") == []


def test_invalid_blocks_in_an_update_leave_the_message_alone(client: WebClient, slack: RunningSlack) -> None:
    posted = client.chat_postMessage(channel="C0TEAMA", text="keep", blocks=VALID)
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C0TEAMA", ts=posted["ts"], text="x", blocks=[{"type": "carousel"}])
    assert caught.value.response["error"] == "invalid_blocks"
    assert slack.messages("C0TEAMA")[0]["message"]["text"] == "keep"


def test_blocks_sent_as_a_form_field_are_validated_too(slack: RunningSlack) -> None:
    client = WebClient(base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        client.api_call(
            "chat.postMessage",
            params={"token": slack.bot_token, "channel": "C0TEAMA", "blocks": '[{"type": "carousel"}]'},
        )
    assert caught.value.response["error"] == "invalid_blocks"
