"""The real Azure CLI (``azure-cli`` from PyPI) in its own venv under ``.build/``, and a way to run it.

The venv is built once and reused while its stamp names the pinned version; the CLI's own
dependencies (azure-core, msal, azure-mgmt-resource ...) never touch natlink's venv. Each run gets
its own config directory, so nothing from a developer's own ``az`` login can leak in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".build" / "azure-cli-venv"
PACKAGE = "azure-cli==2.91.0"  # the judge is pinned: a new CLI is a deliberate change
INSTALL_SECONDS = 1200


def ensure_installed() -> tuple[Path, float]:
    """``az`` from the cached venv, building it if needed; returns the path and the seconds spent."""
    az, stamp = VENV / "bin" / "az", VENV / ".installed"
    if az.exists() and stamp.exists() and stamp.read_text().strip() == PACKAGE:
        return az, 0.0
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=120)
    done = subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PACKAGE,
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {PACKAGE}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    stamp.write_text(PACKAGE + "\n")
    return az, time.monotonic() - started


class AzError(AssertionError):
    """An ``az`` command that exited non-zero: the command and what it printed."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(f"az {' '.join(args)} exited {returncode}:\n{stderr.strip()}\n{stdout.strip()}")
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@dataclass
class Az:
    """One ``az`` with its own config directory, trusting the sandbox's CA and nothing off this machine."""

    executable: Path
    config_dir: Path
    ca_bundle: str

    def environment(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
        return keep | {
            "AZURE_CONFIG_DIR": str(self.config_dir),
            "AZURE_EXTENSION_DIR": str(self.config_dir / "cliextensions"),
            # requests (cloud registration) and the SDK pipeline both read this bundle.
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            # Client-side settings, not the tenant's: no telemetry upload, no colour, no update nag.
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
            # Anything that tried to leave 127.0.0.1 would meet a closed port and fail loudly.
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        }

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.executable), *args],
            capture_output=True,
            text=True,
            env=self.environment(),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def __call__(self, *args: str) -> Any:
        """Run ``az args -o json`` and return its output as JSON (``None`` when it prints nothing)."""
        done = self.run(*args, "--only-show-errors", "-o", "json")
        if done.returncode != 0:
            raise AzError(list(args), done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout) if done.stdout.strip() else None

    def fails(self, *args: str) -> str:
        """Run a command that must fail; return what it printed on stderr."""
        done = self.run(*args, "--only-show-errors", "-o", "json")
        assert done.returncode != 0, f"az {' '.join(args)} succeeded: {done.stdout}"
        return done.stderr
