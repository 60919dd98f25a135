"""Shared fixtures: one sandbox ARM process per test session, reset to a known world per test.

Under pytest-xdist (``make test``) a session is one worker: each worker starts its own stand-ins,
on ports the OS picks, with state under its own ``tmp_path_factory`` directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.storage import StorageManagementClient

from sandbox.arm import launch
from tests.model.stats import FIGURES_PROPERTY

TEAM_A = "11111111-1111-1111-1111-111111111111"
TEAM_B = "22222222-2222-2222-2222-222222222222"
ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NATLINK_SHARED", ROOT.parent / "shared"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first: the model test, then those marked slow. Under xdist (``make test``
    schedules in collection order) each then starts at once on a worker of its own, instead of
    ending the run alone on one."""
    items.sort(
        key=lambda item: (
            0 if item.get_closest_marker("model") else 1 if item.get_closest_marker("slow") else 2
        )
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The model test's figures at the end of the run: under xdist its own printing is not shown."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, figures in getattr(report, "user_properties", ()):
                if name == FIGURES_PROPERTY and report.when == "call":
                    terminalreporter.write_sep("-", f"model test figures ({outcome})")
                    terminalreporter.write_line(str(figures))


@pytest.fixture(scope="session")
def arm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launch.RunningSandbox]:
    running = launch.start(state=tmp_path_factory.mktemp("arm") / "arm.json")
    yield running
    assert running.stop() == 0


@pytest.fixture
def sandbox(arm: launch.RunningSandbox) -> launch.RunningSandbox:
    """The session's sandbox, back to the walkthrough's world (the seed without the services made
    elsewhere, which only the adopt tests want) with no faults and default settings."""
    arm.control("DELETE", "faults")
    arm.control("PUT", "settings", {"page_size": 100, "lro_seconds": 0})
    arm.control("POST", "reset", {"world": "walkthrough"})
    arm.control("DELETE", "requests")
    return arm


@pytest.fixture(scope="session")
def credential(arm: launch.RunningSandbox) -> ClientSecretCredential:
    c = arm.config
    return ClientSecretCredential(
        c["tenant_id"],
        c["client_id"],
        c["client_secret"],
        authority=c["authority_host"],
        disable_instance_discovery=True,
        connection_verify=c["ca_bundle"],
    )


def network_client(
    arm: launch.RunningSandbox, credential: ClientSecretCredential, sub: str
) -> NetworkManagementClient:
    return NetworkManagementClient(
        credential, sub, base_url=arm.arm_url, connection_verify=arm.ca_bundle, polling_interval=0.05
    )


@pytest.fixture
def net_a(sandbox: launch.RunningSandbox, credential: ClientSecretCredential) -> NetworkManagementClient:
    return network_client(sandbox, credential, TEAM_A)


@pytest.fixture
def net_b(sandbox: launch.RunningSandbox, credential: ClientSecretCredential) -> NetworkManagementClient:
    return network_client(sandbox, credential, TEAM_B)


def compute_client(
    arm: launch.RunningSandbox, credential: ClientSecretCredential, sub: str
) -> ComputeManagementClient:
    return ComputeManagementClient(
        credential, sub, base_url=arm.arm_url, connection_verify=arm.ca_bundle, polling_interval=0.05
    )


@pytest.fixture
def compute_a(sandbox: launch.RunningSandbox, credential: ClientSecretCredential) -> ComputeManagementClient:
    return compute_client(sandbox, credential, TEAM_A)


@pytest.fixture
def compute_b(sandbox: launch.RunningSandbox, credential: ClientSecretCredential) -> ComputeManagementClient:
    return compute_client(sandbox, credential, TEAM_B)


@pytest.fixture
def storage_b(sandbox: launch.RunningSandbox, credential: ClientSecretCredential) -> StorageManagementClient:
    """Team B's storage accounts: the seed's capture account ``natlinkcaptures`` is one."""
    return StorageManagementClient(
        credential,
        TEAM_B,
        base_url=sandbox.arm_url,
        connection_verify=sandbox.ca_bundle,
        polling_interval=0.05,
    )
