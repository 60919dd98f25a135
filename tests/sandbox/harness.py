"""Run ``python -m sandbox`` as a user does, in its own session, and look at what it started."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.loopback import control, free_port

BANNER_SECONDS = 60


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    stderr: Path | None = None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def url(self, label: str) -> str:
        found = re.search(rf"{label}:\s+(\S+)", self.output)
        assert found, f"no {label!r} in the banner:\n{self.output}"
        return found.group(1)

    @property
    def page_url(self) -> str:
        return self.url("Slack page")

    @property
    def events_url(self) -> str:
        return self.url("natlink bot")

    @property
    def arm_url(self) -> str:
        return self.url(r"Azure \(ARM\)")

    def ports(self) -> list[int]:
        return [
            int(u.rsplit(":", 1)[1].split("/")[0]) for u in (self.page_url, self.events_url, self.arm_url)
        ]

    def world(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.page_url}/_sandbox/world", timeout=10) as answer:
            return json.loads(answer.read())

    def descendants(self) -> list[int]:
        return descendants(self.process.pid)


def start(state: Path, port: int | None = None, *extra: str) -> Sandbox:
    """Start the sandbox in a new session (its own process group) and wait for its banner."""
    log = state.parent / f"{state.name}-stderr-{time.monotonic_ns()}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port or free_port()), "--state", str(state), *extra],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        start_new_session=True,
    )
    running = Sandbox(process, stderr=log)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + BANNER_SECONDS
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            stop_hard(running)
            raise AssertionError(f"no banner within {BANNER_SECONDS}s: {log.read_text()[-2000:]}") from None
        if line is None:
            process.wait(10)
            raise AssertionError(f"the sandbox exited with {process.returncode}: {log.read_text()[-3000:]}")
        running.lines.append(line)
        if line.startswith("Press Ctrl-C"):
            return running


def stop_hard(sandbox: Sandbox) -> None:
    """Test cleanup: whatever is left of the sandbox's process group goes."""
    pids = [sandbox.process.pid, *sandbox.descendants()]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sandbox.process.pid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    sandbox.process.wait(10)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(p) for p in children.read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie or a vanished PID counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def find(
    slack: dict[str, Any], channel: str, needle: str, ephemeral: bool | None = None
) -> dict[str, Any] | None:
    """The first message in ``channel`` (a name) whose blocks or text hold ``needle``, read via the control API."""
    cid = slack["channels"].get(channel.removeprefix("#"), channel)
    for record in control(slack["control_url"], "GET", "messages", query={"channel": cid})["messages"]:
        text = json.dumps(record["message"].get("blocks") or []) + " " + (record["message"].get("text") or "")
        if needle in text and (ephemeral is None or record["ephemeral"] == ephemeral):
            return record
    return None
