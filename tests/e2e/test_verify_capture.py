"""`verify --capture` end to end: a packet capture on the provider VM, its file read from the capture
account (Azurite behind the sandbox's storage account) and parsed, proves DNAT and SNAT with the
seed's addresses; the capture and its blob are gone afterwards, whatever the outcome."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobServiceClient

from cloud import roles, watcher
from sandbox.arm.launch import RunningSandbox
from sandbox.slack.driver import Driver
from tests.conftest import TEAM_B
from tests.e2e.harness import RunningBot, start_bot
from tests.e2e.test_least_privilege import SCOPES, portal, portal_credential
from tests.e2e.test_verify import NW, REACHED, _nsg, approved, verify


@pytest.fixture
def capturing(sandbox, slack, tmp_path) -> Iterator[tuple[Driver, RunningBot]]:
    """A bot whose captures go to the seed's storage account (NATLINK_CAPTURE_STORAGE)."""
    bot = start_bot(sandbox, slack, tmp_path, NATLINK_CAPTURE_STORAGE=sandbox.capture_storage)
    yield Driver(f"{bot.url}/slack/events", slack.config), bot
    assert bot.stop() == 0, bot.log.read_text()[-3000:]


def leftovers(sandbox: RunningSandbox) -> tuple[list[str], list[str]]:
    """The packet captures in team B's Network Watcher, and every blob in the capture account."""
    captures = [c.name for c in portal(sandbox, TEAM_B).packet_captures.list("NetworkWatcherRG", NW)]
    accounts = StorageManagementClient(
        portal_credential(sandbox), TEAM_B, base_url=sandbox.arm_url, connection_verify=sandbox.ca_bundle
    ).storage_accounts
    group, name = sandbox.capture_storage.split("/")[4], sandbox.capture_storage.rsplit("/", 1)[1]
    endpoint = accounts.get_properties(group, name).primary_endpoints.blob
    key = accounts.list_keys(group, name).keys_property[0].value
    blobs = BlobServiceClient(endpoint, credential=key)
    names = [b.name for c in blobs.list_containers() for b in blobs.get_container_client(c.name).list_blobs()]
    return captures, names


def test_a_capture_proves_dnat_and_snat_with_the_seeds_addresses_and_leaves_nothing(
    capturing, slack, sandbox
) -> None:
    driver, _ = capturing
    request = approved(driver, slack)
    answer = verify(driver, slack, f"{request} --capture 5s")
    assert REACHED in answer
    arrived = re.search(
        r"What arrives at B, VM-Win2019-2 10\.2\.0\.5:3389: :white_check_mark: proven, (\d+) TCP SYNs arrived at 10\.2\.0\.5:3389",
        answer,
    )
    seen = re.search(
        r"What B sees as the source: :white_check_mark: proven, VM-Win2019-2 saw (\d+) TCP SYNs on 3389 from 10\.2\.0\.6 \(the NAT IP of rdp-vmb\), none from 10\.0\.0\.4",
        answer,
    )
    assert arrived and seen and int(arrived.group(1)) == int(seen.group(1)) > 0, answer
    assert leftovers(sandbox) == ([], [])


def test_a_capture_of_a_blocked_link_sees_nothing_and_leaves_nothing(capturing, slack, sandbox) -> None:
    driver, _ = capturing
    request = _nsg(driver, slack, sandbox)
    answer = verify(driver, slack, f"{request} --capture 5s")
    assert "What B sees as the source: :x: failed, VM-Win2019-2 saw no TCP SYN on 3389 in 5 s" in answer
    assert "What arrives at B, VM-Win2019-2 10.2.0.5:3389: :x: failed" in answer
    assert leftovers(sandbox) == ([], [])


def test_a_capture_that_fails_midway_is_still_deleted_with_its_blob(capturing, slack, sandbox) -> None:
    driver, _ = capturing
    request = approved(driver, slack)
    fault = {
        "method": "POST",
        "path": "packetCaptures/[^/]+/stop",
        "status": 409,
        "code": "StopRefused",
        "count": 1,
    }
    sandbox.control("POST", "faults", fault)
    answer = verify(driver, slack, f"{request} --capture 5s", needle="StopRefused")
    assert "Injected by the sandbox" in answer
    assert leftovers(sandbox) == ([], [])


def grant_verify_roles(sandbox: RunningSandbox, without: str | None = None) -> None:
    """natlink holds exactly its two roles `--with-verify`, the provider's less ``without``."""
    for side, scope in SCOPES.items():
        role = roles.definition(side, [scope], verify=True)
        if side == "provider" and without:
            role["Actions"] = [a for a in role["Actions"] if a != without]  # type: ignore[union-attr]
        sandbox.control("POST", "role-definitions", role)
    assignments = [
        {"role": f"{roles.ROLE_NAMES[s]} (with verify)", "scope": scope} for s, scope in SCOPES.items()
    ]
    sandbox.control(
        "PUT", "role-assignments", {"principal": sandbox.config["client_id"], "assignments": assignments}
    )


def test_the_verify_roles_are_enough_for_a_capture(capturing, slack, sandbox) -> None:
    driver, _ = capturing
    request = approved(driver, slack)
    grant_verify_roles(sandbox)
    answer = verify(driver, slack, f"{request} --capture 5s")
    assert REACHED in answer and "from 10.2.0.6 (the NAT IP of rdp-vmb), none from 10.0.0.4" in answer
    assert leftovers(sandbox) == ([], [])


@pytest.mark.parametrize("action", [watcher.CAPTURE[0], watcher.STORAGE[1]])
def test_a_capture_right_missing_is_named_and_nothing_is_captured(
    capturing, slack, sandbox, action: str
) -> None:
    driver, _ = capturing
    request = approved(driver, slack)
    grant_verify_roles(sandbox, without=action)
    answer = verify(driver, slack, f"{request} --capture 5s", needle="MissingPermissions")
    assert f"it lacks {action} at /subscriptions/{TEAM_B}/resourceGroups/" in answer
    assert leftovers(sandbox) == ([], [])
