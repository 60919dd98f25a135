"""Start the Slack stand-in in a child process and talk to its control API.

Used by the tests and the demo: a real process on a real port, exactly as a user runs it, so
nothing a test proves is flattered by sharing memory with the client.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout)


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
    command = [sys.executable, "-m", "sandbox.slack", "--port", "0", *args]
    if state is not None:
        command += ["--state", str(state)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=os.environ.copy()
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        stderr = process.stderr.read() if process.stderr else ""
        process.wait(5)
        raise RuntimeError(f"sandbox.slack did not start: {stderr.strip()}")
    return RunningSlack(process, json.loads(line))
