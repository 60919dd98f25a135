"""Reading the sandbox's request log: how many writes a cloud operation really sent."""

from __future__ import annotations

import re
from typing import Any

from cloud.clients import Clients
from cloud.settings import CloudSettings
from sandbox.arm.launch import RunningSandbox


def requests(sandbox: RunningSandbox, method: str, path: str = "") -> list[dict[str, Any]]:
    """The logged requests with ``method`` whose path matches the regex ``path``, oldest first."""
    recent = sandbox.control("GET", "requests")["recent"]
    return [r for r in recent if r["method"] == method and re.search(path, r["path"], re.I)]


def writes(sandbox: RunningSandbox) -> list[str]:
    """Every PUT, POST (except the token endpoint), PATCH and DELETE to ARM, as ``METHOD path``."""
    recent = sandbox.control("GET", "requests")["recent"]
    return [
        f"{r['method']} {r['path']}"
        for r in recent
        if r["method"] in {"PUT", "POST", "PATCH", "DELETE"} and r["path"].startswith("/subscriptions/")
    ]


def clients_for(sandbox: RunningSandbox, subscriptions: list[str]) -> Clients:
    """natlink's clients for a generated world's subscriptions (needs the azure_env fixture)."""
    settings = CloudSettings(tuple(subscriptions), sandbox.arm_url, sandbox.ca_bundle)
    return Clients(settings, polling_interval=0.05)
