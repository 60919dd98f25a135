"""Start the Azure stand-in in a child process and talk to its control API.

Used by the tests and benchmarks: a real process, a real port, real TLS, exactly as a user
would run it, so nothing they measure is flattered by sharing memory with the client.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from sandbox.process import RunningChild, start_child


class RunningSandbox(RunningChild):
    control_timeout: ClassVar[float] = 120.0  # a reset to a generated world takes a while

    @property
    def arm_url(self) -> str:
        return self.config["arm_url"]

    @property
    def ca_bundle(self) -> str:
        return self.config["ca_bundle"]

    def environment(self) -> dict[str, str]:
        """The AZURE_* variables that point azure-identity's DefaultAzureCredential here."""
        return {
            "AZURE_TENANT_ID": self.config["tenant_id"],
            "AZURE_CLIENT_ID": self.config["client_id"],
            "AZURE_CLIENT_SECRET": self.config["client_secret"],
            "AZURE_AUTHORITY_HOST": self.config["authority_host"],
        }


def start(*args: str, state: Path | None = None, cwd: Path | None = None) -> RunningSandbox:
    """Run ``python -m sandbox.arm --port 0 [args]`` and wait for its first line."""
    return RunningSandbox(*start_child("sandbox.arm", args, state, cwd))
