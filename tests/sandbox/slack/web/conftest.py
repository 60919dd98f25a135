"""The Slack stand-in with its web page, wired to a scripted bot and to the session's ARM sandbox."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.arm.launch import RunningSandbox
from sandbox.slack import launch
from sandbox.slack.world import SIGNING_SECRET
from tests.sandbox.slack.web.receiver import ScriptedBot


@dataclass
class Page:
    """The stand-in, the scripted bot behind it, and plain HTTP access to ``/web/*``."""

    slack: launch.RunningSlack
    bot: ScriptedBot
    arm: RunningSandbox

    @property
    def url(self) -> str:
        return self.slack.config["base_url"]

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def ok(self, path: str, body: dict[str, Any] | None = None) -> Any:
        status, answer = self.get(path) if body is None else self.post(path, body)
        assert status == 200, answer
        return answer


@pytest.fixture(scope="session")
def arm_config(arm: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ARM sandbox's first line as a file, as ``--arm-config`` takes it."""
    path = tmp_path_factory.mktemp("web") / "arm.json"
    path.write_text(json.dumps(arm.config))
    return path


@pytest.fixture(scope="session")
def scripted_bot() -> Iterator[ScriptedBot]:
    bot = ScriptedBot(SIGNING_SECRET)
    yield bot
    bot.close()


@pytest.fixture(scope="session")
def web_process(
    scripted_bot: ScriptedBot, arm_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[launch.RunningSlack]:
    running = launch.start(
        "--bot-url",
        scripted_bot.url,
        "--arm-config",
        str(arm_config),
        state=tmp_path_factory.mktemp("web-slack") / "slack.json",
    )
    scripted_bot.connect(running.config)
    yield running
    assert running.stop() == 0


@pytest.fixture
def page(web_process: launch.RunningSlack, scripted_bot: ScriptedBot, sandbox: RunningSandbox) -> Page:
    """A fresh workspace, an empty delivery record, and the ARM seed world."""
    web_process.control("POST", "reset")
    scripted_bot.received.clear()
    return Page(web_process, scripted_bot, sandbox)
