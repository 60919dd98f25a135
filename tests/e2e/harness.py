"""Run the real `natlink serve` as a child process, wired to the sandbox ARM and the sandbox Slack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sandbox.arm.launch import RunningSandbox
from sandbox.arm.server import free_port
from sandbox.slack.launch import RunningSlack

ADMIN = "U0ADMIN"
T = TypeVar("T")


@dataclass
class RunningBot:
    process: subprocess.Popen[str]
    url: str
    log: Path

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
            return json.loads(response.read())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def environment(
    arm: RunningSandbox, slack: RunningSlack, db: Path, port: int, **extra: str
) -> dict[str, str]:
    return {
        **os.environ,
        **arm.environment(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "NATLINK_DB": str(db),
        "NATLINK_HOST": "127.0.0.1",
        "NATLINK_PORT": str(port),
        "NATLINK_SUBSCRIPTIONS": ",".join(arm.config["subscriptions"]),
        "NATLINK_ADMINS": ADMIN,
        "NATLINK_ARM_URL": arm.arm_url,
        "NATLINK_CA_BUNDLE": arm.ca_bundle,
        "NATLINK_STALE_SECONDS": "3",
        **extra,
    }


def start_bot(arm: RunningSandbox, slack: RunningSlack, workdir: Path, **extra: str) -> RunningBot:
    port = free_port()
    log = workdir / f"bot-{port}.log"
    env = environment(arm, slack, workdir / "natlink.db", port, **extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    bot = RunningBot(process, f"http://127.0.0.1:{port}", log)
    wait_for(lambda: _healthy(bot), 30, f"natlink serve to answer /healthz (log: {log})")
    return bot


def _healthy(bot: RunningBot) -> bool:
    if bot.process.poll() is not None:
        raise RuntimeError(
            f"natlink serve exited with {bot.process.returncode}: {bot.log.read_text()[-2000:]}"
        )
    try:
        return bool(bot.health()["ok"])
    except OSError:
        return False


def wait_for(probe: Callable[[], T], timeout: float, what: str) -> T:
    """Poll an observable outcome (a message, a state) until it holds; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def text_of(record: dict[str, Any]) -> str:
    """Everything a person would read in a stored message: fallback text and every block's text."""
    message = record["message"]
    return json.dumps(message.get("blocks") or []) + " " + (message.get("text") or "")


def find(
    slack: RunningSlack, channel: str, needle: str, ephemeral: bool | None = None
) -> dict[str, Any] | None:
    """The first stored message in ``channel`` (a name, a channel ID, or a user ID for their DM) with ``needle``."""
    for record in slack.messages(channel if channel[:1] in "CDU" and channel.isupper() else slack.channel(channel)):
        if needle in text_of(record) and (ephemeral is None or record["ephemeral"] == ephemeral):
            return record
    return None
