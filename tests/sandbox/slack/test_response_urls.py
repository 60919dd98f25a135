"""Response URLs: what the bot POSTs to them lands in the channel as Slack would show it."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from sandbox.slack.launch import RunningSlack


def response_url(
    slack: RunningSlack, user: str = "U0BOB", message_ts: str | None = None, **extra: object
) -> str:
    spec = {"channel": "C0TEAMA", "user": user, "message_ts": message_ts} | extra
    return slack.control("POST", "response-urls", spec)["response_url"]


def test_ephemeral_by_default_and_in_channel_on_request(slack: RunningSlack) -> None:
    url = response_url(slack)
    assert url.startswith(slack.config["base_url"] + "/hooks/response/")
    hook = WebhookClient(url)
    assert hook.send(text="working on it").status_code == 200
    assert hook.send(text="done", response_type="in_channel").status_code == 200
    first, second = slack.messages("C0TEAMA")
    assert (
        first["ephemeral"] is True and first["to"] == "U0BOB" and first["message"]["text"] == "working on it"
    )
    assert second["ephemeral"] is False and second["message"]["text"] == "done"
    assert second["message"]["user"] == slack.config["bot_user_id"] and second["via"] == "response_url"
    assert [c["method"] for c in slack.calls()] == ["response_url", "response_url"]


def test_replace_and_delete_the_original(client: WebClient, slack: RunningSlack) -> None:
    card = client.chat_postMessage(channel="C0TEAMA", text="Pending")
    hook = WebhookClient(response_url(slack, message_ts=card["ts"]))
    assert hook.send(text="Approved", replace_original=True).status_code == 200
    [record] = slack.messages("C0TEAMA")
    assert record["message"]["text"] == "Approved" and [h["text"] for h in record["history"]] == ["Pending"]
    assert hook.send(text="", delete_original=True).status_code == 200
    assert slack.messages("C0TEAMA") == []
    assert slack.messages("C0TEAMA", include_deleted="1")[0]["deleted"] is True


def test_invalid_blocks_and_bad_urls_are_refused(slack: RunningSlack) -> None:
    hook = WebhookClient(response_url(slack))
    refused = hook.send(text="x", blocks=[{"type": "carousel"}])
    assert refused.status_code == 400 and "invalid_blocks" in refused.body
    unknown = WebhookClient(slack.config["base_url"] + "/hooks/response/nope").send(text="x")
    assert unknown.status_code == 404
    assert slack.messages("C0TEAMA") == []


def test_a_response_url_works_five_times(slack: RunningSlack) -> None:
    hook = WebhookClient(response_url(slack))
    assert [hook.send(text=str(i)).status_code for i in range(6)] == [200] * 5 + [404]
