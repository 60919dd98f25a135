"""One Slack stand-in process per session, reset to the default workspace before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from sandbox.slack import launch


@pytest.fixture(scope="session")
def slack_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launch.RunningSlack]:
    running = launch.start(state=tmp_path_factory.mktemp("slack") / "slack.json")
    yield running
    assert running.stop() == 0


@pytest.fixture
def slack(slack_process: launch.RunningSlack) -> launch.RunningSlack:
    """The session's stand-in with the default workspace, no faults and an empty call log."""
    slack_process.control("POST", "reset")
    return slack_process


@pytest.fixture
def client(slack: launch.RunningSlack) -> WebClient:
    """The real slack_sdk client, pointed at the stand-in."""
    return WebClient(token=slack.bot_token, base_url=slack.api_url)
