"""Run one stand-in as a child process, the way tests, benchmarks and the orchestrator all do.

A stand-in prints one JSON object as its first line (how to reach it), then serves until SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .loopback import control


@dataclass
class RunningChild:
    """A started stand-in: its process and its first line, and a way to its control API."""

    process: subprocess.Popen[str]
    config: dict[str, Any]
    control_timeout: ClassVar[float] = 30.0

    def control(
        self,
        method: str,
        action: str,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call ``/_sandbox/<action>``; raises ``RuntimeError`` with the error body on a refusal."""
        return control(
            self.config["control_url"],
            method,
            action,
            body,
            query,
            ca_bundle=self.config.get("ca_bundle"),
            timeout=self.control_timeout,
        )

    def stop(self, timeout: float = 10) -> int:
        return stop_child(self.process, timeout)


def start_child(
    module: str, args: tuple[str, ...], state: Path | None, cwd: Path | None
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Run ``python -m module --port 0 [args] [--state PATH]`` and return it with its first line."""
    command = [sys.executable, "-m", module, "--port", "0", *args]
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
        raise RuntimeError(f"{module} did not start: {stderr.strip()}")
    return process, json.loads(line)


def stop_child(process: subprocess.Popen[str], timeout: float = 10) -> int:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout``; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout)
