"""Start the Slack stand-in in a child process and talk to its control API.

Used by the tests and the demo: a real process on a real port, exactly as a user runs it, so
nothing a test proves is flattered by sharing memory with the client.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.process import start_child, stop_child


@dataclass
class RunningSlack:
    process: subprocess.Popen[str]
    config: dict[str, Any]

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

    def control(
        self,
        method: str,
        action: str,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call ``/_sandbox/<action>``; raises ``RuntimeError`` with the error body on a refusal."""
        return control(self.config["control_url"], method, action, body, query)

    def messages(self, channel: str | None = None, **query: str) -> list[dict[str, Any]]:
        """The stored message records (``channel``, ``ephemeral``, ``to``, ``history``, ``message``)."""
        if channel is not None:
            query["channel"] = channel
        return self.control("GET", "messages", query=query)["messages"]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return self.control("GET", "calls", query={"method": method} if method else None)["calls"]

    def stop(self, timeout: float = 10) -> int:
        return stop_child(self.process, timeout)


def control(
    control_url: str,
    method: str,
    action: str,
    body: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One control API call by URL, for code that holds only the first line's ``control_url``."""
    url = f"{control_url}/{action}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"{err.code}: {err.read().decode()}") from None


def start(*args: str, state: Path | None = None, cwd: Path | None = None) -> RunningSlack:
    """Run ``python -m sandbox.slack --port 0 [args]`` and wait for its first line."""
    return RunningSlack(*start_child("sandbox.slack", args, state, cwd))
