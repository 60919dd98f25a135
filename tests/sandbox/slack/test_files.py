"""Slack's upload flow (files.getUploadURLExternal, the upload, files.completeUploadExternal)
through the real slack_sdk, and what the stand-in refuses of it (sandbox/slack/files.py)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.launch import RunningSlack

CSV = "service,alias\nsvc-1,svc-1.alias\n"


def _page_file(slack: RunningSlack, file_id: str) -> dict:
    with urllib.request.urlopen(f"{slack.config['base_url']}/web/file?id={file_id}", timeout=10) as answer:
        return json.loads(answer.read())


def test_files_upload_v2_shares_the_file_in_the_channel(client: WebClient, slack: RunningSlack) -> None:
    """slack_sdk's files_upload_v2 runs the three steps; the file lands in the channel, readable."""
    answer = client.files_upload_v2(channel="C0TEAMA", filename="list.csv", content=CSV, title="Services")
    file = answer["file"]
    assert file["name"] == "list.csv" and file["title"] == "Services" and file["channels"] == ["C0TEAMA"]
    [record] = slack.messages("C0TEAMA")
    assert record["via"] == "files.completeUploadExternal"
    assert [f["id"] for f in record["message"]["files"]] == [file["id"]]
    assert _page_file(slack, file["id"])["content"] == CSV
    [log] = [c for c in slack.control("GET", "calls")["calls"] if c["method"] == "files.getUploadURLExternal"]
    assert log["args"]["length"] in (len(CSV), str(len(CSV)))


def test_the_retired_files_upload_is_unknown(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("files.upload", data={"channels": "C0TEAMA", "content": CSV})
    assert caught.value.response["error"] == "unknown_method"


@pytest.mark.parametrize(
    ("args", "error"),
    [({"filename": "x.csv", "length": 0}, "missing_argument"), ({"length": 5}, "invalid_arguments")],
)
def test_get_upload_url_refuses_what_slack_refuses(client: WebClient, args: dict, error: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("files.getUploadURLExternal", params=args)
    assert caught.value.response["error"] == error


def test_complete_refuses_bad_files_unknown_ids_and_channels_without_the_bot(
    client: WebClient, slack: RunningSlack
) -> None:
    outside = slack.control("POST", "channels", {"name": "elsewhere", "private": False})["id"]
    issued = client.files_getUploadURLExternal(filename="x.csv", length=len(CSV))
    urllib.request.urlopen(urllib.request.Request(issued["upload_url"], data=CSV.encode(), method="POST"))
    cases = [
        ({"files": "not json"}, "invalid_arguments"),
        ({}, "invalid_arguments"),
        ({"files": json.dumps([{"id": "F0NEVER"}])}, "file_not_found"),
        ({"files": json.dumps([{"id": issued["file_id"]}]), "channel_id": outside}, "not_in_channel"),
    ]
    for args, error in cases:
        with pytest.raises(SlackApiError) as caught:
            client.api_call("files.completeUploadExternal", data=args)
        assert caught.value.response["error"] == error, args
    never_sent = client.files_getUploadURLExternal(filename="y.csv", length=3)["file_id"]
    with pytest.raises(SlackApiError) as caught:
        client.files_completeUploadExternal(files=[{"id": never_sent}], channel_id="C0TEAMA")
    assert caught.value.response["error"] == "file_not_found"
    assert client.files_completeUploadExternal(files=[{"id": issued["file_id"]}], channel_id="C0TEAMA")["ok"]


def test_uploads_need_files_write(client: WebClient, slack: RunningSlack) -> None:
    slack.control("PUT", "scopes", {"scopes": ["chat:write"]})
    with pytest.raises(SlackApiError) as caught:
        client.files_upload_v2(channel="C0TEAMA", filename="x.csv", content=CSV)
    assert caught.value.response["error"] == "missing_scope"
    assert caught.value.response["needed"] == "files:write"


def test_chat_update_edits_only_the_bots_own_messages(client: WebClient, slack: RunningSlack) -> None:
    """What paging in place relies on: chat.update refuses a message it cannot find, or not the bot's."""
    posted = client.chat_postMessage(channel="C0TEAMA", text="page 1")
    assert (
        client.chat_update(channel="C0TEAMA", ts=posted["ts"], text="page 2")["message"]["text"] == "page 2"
    )
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C0TEAMA", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"
