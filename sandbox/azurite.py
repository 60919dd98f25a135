"""Azurite, Microsoft's storage emulator (npm package ``azurite``), as the sandbox's blob storage.

The sandbox runs its blob service only (``azurite-blob``), in memory, on 127.0.0.1 and a port the
OS picks, for as long as the sandbox runs. Packet captures are written there by the ARM stand-in
and read by natlink through the storage data plane, as in Azure. When Azurite is not installed the
sandbox still starts; storage calls then fail with an error that says how to install it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .process import stop_child

# The version .ci/run installs (npm view azurite version, 2026-11); the CLI options used here are
# azurite-blob's documented ones (Azure/Azurite README: --blobHost, --blobPort, --inMemoryPersistence,
# --skipApiVersionCheck, --disableTelemetry, --silent; with --inMemoryPersistence it writes no files, and
# refuses --location, so it runs in ``workdir``).
VERSION = "3.37.0"
INSTALL = f"npm install -g azurite@{VERSION}"
# Azurite's one default account and its well-known key (Azure/Azurite README, "Default Storage Account").
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_SECONDS = 30
_LISTENING = re.compile(r"Blob service (?:is )?successfully listens on (http://127\.0\.0\.1:\d+)")


class AzuriteMissing(RuntimeError):
    """``azurite-blob`` is not on PATH."""

    def __init__(self) -> None:
        super().__init__(f"Azurite is not installed: {INSTALL}")


@dataclass
class RunningAzurite:
    process: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:<port>
    workdir: Path
    scratch: bool  # the workdir is ours to remove on stop

    @property
    def blob_endpoint(self) -> str:
        """The account's blob endpoint, path-style as Azurite serves it: ``<url>/devstoreaccount1/``."""
        return f"{self.url}/{ACCOUNT}/"

    def stop(self) -> int:
        code = stop_child(self.process)  # type: ignore[arg-type]
        if self.scratch:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return code


def executable() -> str | None:
    return shutil.which("azurite-blob")


def start(workdir: Path | None = None) -> RunningAzurite:
    """Start the blob service and wait until it listens; ``AzuriteMissing`` if it is not installed.
    Its log goes to ``workdir`` (a temporary directory, removed on stop, when not given)."""
    exe = executable()
    if exe is None:
        raise AzuriteMissing()
    scratch = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="natlink-azurite-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "azurite.log"
    command = [
        exe,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        # azure-storage-blob sends x-ms-version values newer than the emulator lists.
        "--skipApiVersionCheck",
        # No telemetry: it would send data off this machine, and its timer keeps the process alive
        # after a SIGINT or SIGTERM has closed the service.
        "--disableTelemetry",
        "--silent",  # no access log
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        match = _LISTENING.search(log.read_text(errors="replace"))
        if match:
            return RunningAzurite(process, match.group(1), workdir, scratch)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop_child(process)  # type: ignore[arg-type]
    text = log.read_text(errors="replace")
    if scratch:
        shutil.rmtree(workdir, ignore_errors=True)
    raise RuntimeError(f"Azurite did not start: {text.strip()[-2000:]}")
