"""Threads and scrolling in the page, in a real headless Chromium (issue 12, §3 and §4): a message
with replies shows "N replies" and opens its thread beside the channel, as Slack does; a channel
opens at its newest message and stays there as messages arrive."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from tests.sandbox.slack.web.conftest import Page
from tests.sandbox.slack.web.test_browser import _channel, _expect, _messages, browser, tab

__all__ = ["browser", "tab"]  # the fixtures, shared with test_browser.py


def _at_bottom(tab: Any) -> bool:
    return bool(
        tab.get_by_test_id("messages").evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight < 2")
    )


def test_a_thread_opens_beside_the_channel_and_a_channel_opens_at_its_newest_message(
    tab: Any, page: Page
) -> None:
    expect = _expect()
    client = WebClient(token=page.slack.bot_token, base_url=page.slack.api_url)
    card = client.chat_postMessage(channel="C0TEAMB", text="the card")["ts"]
    client.chat_postMessage(channel="C0TEAMB", text="a reminder", thread_ts=card)
    client.chat_postMessage(channel="C0TEAMB", text="the decision", thread_ts=card)
    for n in range(40):  # both channels longer than the window
        client.chat_postMessage(channel="C0TEAMA", text=f"line {n} of a long channel")
        client.chat_postMessage(channel="C0TEAMB", text=f"line {n} of another")

    tab.goto(page.url + "/?user=alice")
    expect(tab.get_by_test_id("channel-header")).to_have_text("#team-b")
    expect(_messages(tab)).to_have_count(41)  # the replies are in the thread, not the channel
    expect(_messages(tab).last).to_be_in_viewport()  # the first channel opens at its newest too
    link = tab.get_by_test_id("thread-link")
    expect(link).to_have_text("2 replies")
    expect(tab.get_by_test_id("thread-pane")).to_be_hidden()
    link.click()
    pane = tab.get_by_test_id("thread-pane")
    expect(pane).to_be_visible()
    expect(pane).to_contain_text("Thread in #team-b")
    expect(pane.locator("[data-testid=message] .body")).to_have_text(
        ["the card", "a reminder", "the decision"]
    )
    client.chat_postMessage(channel="C0TEAMB", text="the verification", thread_ts=card)
    expect(pane.get_by_test_id("message")).to_have_count(4)  # live, as replies arrive
    expect(link).to_have_text("3 replies")
    pane.get_by_test_id("thread-close").click()
    expect(pane).to_be_hidden()

    _channel(tab, "team-a")
    expect(_messages(tab)).to_have_count(40)
    expect(_messages(tab).last).to_be_in_viewport()
    assert _at_bottom(tab)
    tab.get_by_test_id("messages").evaluate("l => { l.scrollTop = 0; }")
    _channel(tab, "team-b")
    _channel(tab, "team-a")  # opened again: at its newest message, wherever it was left
    expect(_messages(tab).last).to_be_in_viewport()
    assert _at_bottom(tab)
    client.chat_postMessage(channel="C0TEAMA", text="the newest line")
    expect(_messages(tab).last.locator(".body")).to_have_text("the newest line")
    expect(_messages(tab).last).to_be_in_viewport()  # at the bottom, new messages keep it there
