"""Start the Slack stand-in in a child process and talk to its control API.

Used by the tests and the demo: a real process on a real port, exactly as a user runs it, so
nothing a test proves is flattered by sharing memory with the client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.process import RunningChild, start_child


class RunningSlack(RunningChild):
    @property
    def api_url(self) -> str:
        return self.config["api_url"]

    @property
    def bot_token(self) -> str:
        return self.config["bot_token"]

    @property
    def signing_secret(self) -> str:
        return self.config["signing_secret"]

    def user(self, name: str) -> str:
        return self.config["users"][name]["id"]

    def channel(self, name: str) -> str:
        return self.config["channels"][name]

    def messages(self, channel: str | None = None, **query: str) -> list[dict[str, Any]]:
        """The stored message records (``channel``, ``ephemeral``, ``to``, ``history``, ``message``)."""
        if channel is not None:
            query["channel"] = channel
        return self.control("GET", "messages", query=query)["messages"]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return self.control("GET", "calls", query={"method": method} if method else None)["calls"]


def start(*args: str, state: Path | None = None, cwd: Path | None = None) -> RunningSlack:
    """Run ``python -m sandbox.slack --port 0 [args]`` and wait for its first line."""
    return RunningSlack(*start_child("sandbox.slack", args, state, cwd))
