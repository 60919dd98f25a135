"""Injected 429s answer as Slack does, so slack_sdk's own retry handler recovers from them."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from sandbox.slack.launch import RunningSlack


def test_rate_limit_retried_by_the_sdk_handler(slack: RunningSlack) -> None:
    slack.control("POST", "faults", {"method": "chat.postMessage", "count": 2, "retry_after": 1})
    client = WebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    started = time.monotonic()
    answer = client.chat_postMessage(channel="C0TEAMA", text="after the storm")
    assert answer["ok"] is True
    assert time.monotonic() - started >= 2  # Retry-After was honoured twice
    calls = slack.calls("chat.postMessage")
    assert [c["status"] for c in calls] == [429, 429, 200]
    assert calls[0]["response"] == {"ok": False, "error": "ratelimited"}
    assert [r["message"]["text"] for r in slack.messages("C0TEAMA")] == ["after the storm"]


def test_without_a_retry_handler_the_429_surfaces(client: WebClient, slack: RunningSlack) -> None:
    slack.control("POST", "faults", {"method": "chat.postMessage", "count": 1, "retry_after": 7})
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C0TEAMA", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] in ("7", ["7"])
    assert caught.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C0TEAMA", text="x")["ok"]  # the fault is used up


def test_faults_touch_only_their_method_and_can_be_cleared(client: WebClient, slack: RunningSlack) -> None:
    slack.control("POST", "faults", {"method": "chat.update", "count": 5})
    assert client.chat_postMessage(channel="C0TEAMA", text="x")["ok"]
    assert len(slack.control("GET", "faults")["faults"]) == 1
    slack.control("DELETE", "faults")
    assert slack.control("GET", "faults")["faults"] == []


def test_an_injected_error_code(client: WebClient, slack: RunningSlack) -> None:
    slack.control("POST", "faults", {"method": "users.info", "error": "fatal_error"})
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user="U0ALICE")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "fatal_error"


def test_a_bad_fault_is_refused(slack: RunningSlack) -> None:
    with pytest.raises(RuntimeError, match="400"):
        slack.control("POST", "faults", {"method": "chat.postMessage", "status": 418})
