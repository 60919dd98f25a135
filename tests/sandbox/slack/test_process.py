"""The stand-in as a process: its first line, a restart from its state file, and shutdown."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient

from sandbox.slack import launch
from sandbox.slack.launch import RunningSlack


def test_first_line_describes_the_workspace(slack: RunningSlack) -> None:
    config = slack.config
    assert config["api_url"].startswith("http://127.0.0.1:") and config["api_url"].endswith("/api/")
    assert config["bot_token"].startswith("xoxb-") and config["signing_secret"]
    assert config["team_id"] == "T0NATLINK"
    assert config["users"] == {
        "alice": {"id": "U0ALICE", "role": "owner", "team": "B"},
        "bob": {"id": "U0BOB", "role": "consumer", "team": "A"},
        "carol": {"id": "U0CAROL", "role": None, "team": None},
        "admin": {"id": "U0ADMIN", "role": "admin", "team": None},
    }
    assert config["channels"] == {"team-a": "C0TEAMA", "team-b": "C0TEAMB"}
    assert slack.control("GET", "world") == config


def test_the_control_api_is_not_under_api(slack: RunningSlack) -> None:
    with urllib.request.urlopen(slack.config["base_url"] + "/api/_sandbox/calls", timeout=5) as answer:
        assert json.loads(answer.read()) == {"ok": False, "error": "unknown_method"}
    with pytest.raises(RuntimeError, match="404"):
        slack.control("GET", "teleport")


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "slack.json"
    first = launch.start(state=state)
    client = WebClient(token=first.bot_token, base_url=first.api_url)
    posted = client.chat_postMessage(channel="C0TEAMA", text="remember me")
    dm = client.conversations_open(users="U0CAROL")["channel"]["id"]
    assert first.stop() == 0
    second = launch.start(state=state)
    try:
        client = WebClient(token=second.bot_token, base_url=second.api_url)
        assert [r["message"]["ts"] for r in second.messages("C0TEAMA")] == [posted["ts"]]
        assert client.chat_update(channel="C0TEAMA", ts=posted["ts"], text="still here")["ok"]
        assert client.conversations_open(users="U0CAROL")["channel"]["id"] == dm
        assert float(client.chat_postMessage(channel="C0TEAMA", text="later")["ts"]) > float(posted["ts"])
    finally:
        assert second.stop() == 0


def test_sigint_stops_it_cleanly() -> None:
    running = launch.start()
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(10) == 0
    assert running.process.stderr is not None and "stopped" in running.process.stderr.read()
