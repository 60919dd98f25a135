"""Fixtures for the cloud tests: natlink's own clients, pointed at the session's sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cloud.clients import Clients
from cloud.settings import CloudSettings
from sandbox.arm.launch import RunningSandbox
from tests.conftest import TEAM_A, TEAM_B


@pytest.fixture
def azure_env(sandbox: RunningSandbox) -> Iterator[dict[str, str]]:
    """AZURE_* in this process's environment, read by azure-identity's DefaultAzureCredential."""
    saved = dict(os.environ)
    os.environ.update(sandbox.environment())
    yield sandbox.environment()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def clients(sandbox: RunningSandbox, azure_env: dict[str, str]) -> Clients:
    settings = CloudSettings.from_env(
        {
            "NATLINK_SUBSCRIPTIONS": f"{TEAM_A},{TEAM_B}",
            "NATLINK_ARM_URL": sandbox.arm_url,
            "NATLINK_CA_BUNDLE": sandbox.ca_bundle,
        }
    )
    return Clients(settings, polling_interval=0.05)
