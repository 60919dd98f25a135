"""Start the Azure stand-in in a child process and talk to its control API.

Used by the tests and benchmarks: a real process, a real port, real TLS, exactly as a user
would run it, so nothing they measure is flattered by sharing memory with the client.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.process import start_child, stop_child


@dataclass
class RunningSandbox:
    process: subprocess.Popen[str]
    config: dict[str, Any]

    @property
    def arm_url(self) -> str:
        return self.config["arm_url"]

    @property
    def ca_bundle(self) -> str:
        return self.config["ca_bundle"]

    def control(self, method: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call ``/_sandbox/<action>``; raises ``RuntimeError`` with the error body on a refusal."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.arm_url}/_sandbox/{action}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        context = ssl.create_default_context(cafile=self.ca_bundle)
        try:
            with urllib.request.urlopen(request, context=context, timeout=120) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{err.code}: {err.read().decode()}") from None

    def environment(self) -> dict[str, str]:
        """The AZURE_* variables that point azure-identity's DefaultAzureCredential here."""
        return {
            "AZURE_TENANT_ID": self.config["tenant_id"],
            "AZURE_CLIENT_ID": self.config["client_id"],
            "AZURE_CLIENT_SECRET": self.config["client_secret"],
            "AZURE_AUTHORITY_HOST": self.config["authority_host"],
        }

    def stop(self, timeout: float = 10) -> int:
        return stop_child(self.process, timeout)


def start(*args: str, state: Path | None = None, cwd: Path | None = None) -> RunningSandbox:
    """Run ``python -m sandbox.arm --port 0 [args]`` and wait for its first line."""
    return RunningSandbox(*start_child("sandbox.arm", args, state, cwd))
