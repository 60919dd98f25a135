"""The whole product per test: a fresh sandbox world, a fresh Slack workspace, a fresh natlink."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.slack import launch as slack_launch
from sandbox.slack.driver import Driver
from tests.e2e.harness import RunningBot, start_bot


@pytest.fixture(scope="session")
def slack_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slack_launch.RunningSlack]:
    running = slack_launch.start(state=tmp_path_factory.mktemp("slack") / "slack.json")
    yield running
    assert running.stop() == 0


@pytest.fixture
def slack(slack_process: slack_launch.RunningSlack) -> slack_launch.RunningSlack:
    slack_process.control("POST", "reset")
    return slack_process


@pytest.fixture
def bot(sandbox, slack, tmp_path: Path) -> Iterator[RunningBot]:
    running = start_bot(sandbox, slack, tmp_path)
    yield running
    assert running.stop() == 0, running.log.read_text()[-3000:]


@pytest.fixture
def driver(bot: RunningBot, slack) -> Driver:
    return Driver(f"{bot.url}/slack/events", slack.config)
