"""Start the Azure stand-in in a child process and talk to its control API.

Used by the tests and benchmarks: a real process, a real port, real TLS, exactly as a user
would run it, so nothing they measure is flattered by sharing memory with the client. Azurite,
the stand-in's blob storage, is started with it when installed, and stopped with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sandbox import azurite
from sandbox.process import RunningChild, start_child

from . import seed


@dataclass
class RunningSandbox(RunningChild):
    control_timeout: ClassVar[float] = 120.0  # a reset to a generated world takes a while
    storage: azurite.RunningAzurite | None = None

    @property
    def arm_url(self) -> str:
        return self.config["arm_url"]

    @property
    def ca_bundle(self) -> str:
        return self.config["ca_bundle"]

    @property
    def capture_storage(self) -> str:
        """The seed world's storage account for packet captures (NATLINK_CAPTURE_STORAGE)."""
        return seed.CAPTURE_STORAGE

    def environment(self) -> dict[str, str]:
        """The AZURE_* variables that point azure-identity's DefaultAzureCredential here."""
        return {
            "AZURE_TENANT_ID": self.config["tenant_id"],
            "AZURE_CLIENT_ID": self.config["client_id"],
            "AZURE_CLIENT_SECRET": self.config["client_secret"],
            "AZURE_AUTHORITY_HOST": self.config["authority_host"],
        }

    def stop(self, timeout: float = 10) -> int:
        code = super().stop(timeout)
        if self.storage is not None:
            self.storage.stop()
        return code


def start(*args: str, state: Path | None = None, cwd: Path | None = None) -> RunningSandbox:
    """Run ``python -m sandbox.arm --port 0 [args]``, wait for its first line, and give it Azurite
    (when installed: without it, storage calls answer how to install it)."""
    running = RunningSandbox(*start_child("sandbox.arm", args, state, cwd))
    try:
        running.storage = azurite.start()
    except azurite.AzuriteMissing:
        return running
    except BaseException:
        running.stop()
        raise
    running.control("PUT", "storage", {"blob_endpoint": running.storage.blob_endpoint})
    return running
