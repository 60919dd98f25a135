"""`/natlink verify` end to end (issue 11 section 1): signed Slack requests in, the real SDKs against
the sandbox's Network Watcher, one message out that reads like the seed's two checks side by side.

Each failing precondition and each unreachable cause has its own message; the causes are made in
Azure by "the portal" (a second client), as a person would break a link.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from cloud import roles, watcher
from sandbox.arm.launch import RunningSandbox
from sandbox.slack.driver import Driver
from storage import verifications
from storage.database import open_database
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import (
    database,
    find,
    ok,
    pending_request,
    request_id_of,
    start_bot,
    text_of,
    wait_for,
)
from tests.e2e.test_least_privilege import SCOPES, portal, portal_credential

A_RG, B_RG = "rg-team-a", "rg-team-b"
NATLINK_LB = "natlink-lb-temp-vnet-default"
LB_ID = (
    f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/loadBalancers/{NATLINK_LB}"
)
NW = "NetworkWatcher_japaneast"
VM_B = (
    f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Compute/virtualMachines/VM-Win2019-2"
)
REACHED = "A connects to 10.0.0.5:3389: :white_check_mark: proven, reached from VM-Win2019 (10.0.0.4)"


def approved(driver: Driver, slack: Any) -> str:
    """rdp-vmb exposed, bob's request from VM-Win2019 approved by alice: its request id."""
    card = pending_request(driver, slack)
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    wait_for(lambda: find(slack, "team-b", "Approved* by"), 30, "the approval")
    return request_id_of(card)


def verify(driver: Driver, slack: Any, words: str, user: str = "bob", needle: str = "") -> str:
    """Run ``/natlink verify <words>`` in #team-a and return the final answer's text."""
    ok(driver.slash_command(user, "#team-a", f"verify {words}"))
    target = words.split()[0]
    done = wait_for(
        lambda: (
            (r := find(slack, "team-a", needle or f"Verify {target}")) and "working" not in text_of(r) and r
        ),
        90,
        f"the answer to verify {words}",
    )
    return text_of(done)


def compute(sandbox: RunningSandbox, subscription: str) -> ComputeManagementClient:
    return ComputeManagementClient(
        portal_credential(sandbox),
        subscription,
        base_url=sandbox.arm_url,
        connection_verify=sandbox.ca_bundle,
    )


def test_verify_proves_the_seed_connection_and_shows_it_in_status_and_map(bot, driver, slack) -> None:
    request = approved(driver, slack)
    answer = verify(driver, slack, request)
    assert REACHED in answer
    assert "What arrives at B, VM-Win2019-2 10.2.0.5:3389: :white_check_mark: proven" in answer
    assert "What B sees as the source: :white_circle: not checked, add `--capture 30s`" in answer
    with open_database(database(bot)) as db:
        latest = verifications.latest(db, request)
    assert latest is not None and (latest.reach, latest.arrival, latest.source) == (
        "proven",
        "proven",
        "not checked",
    )

    ok(driver.slash_command("bob", "#team-a", "map rdp-vmb"))
    mapped = wait_for(lambda: find(slack, "team-a", "Address map"), 60, "the map")
    assert "verified 0 min ago: reach proven, arrival proven, source not checked" in text_of(mapped)
    ok(driver.slash_command("alice", "#team-b", "status rdp-vmb"))
    status = wait_for(lambda: find(slack, "team-b", f"`{request}` verified 0 min ago"), 60, "the status")
    assert "reach proven" in text_of(status)


def test_a_service_verifies_each_approved_connection(bot, driver, slack) -> None:
    request = approved(driver, slack)
    answer = verify(driver, slack, "rdp-vmb", user="alice")
    assert f"`{request}`: VM-Win2019 → *rdp-vmb* (Approved)" in answer and REACHED in answer


def _pending(driver: Driver, slack: Any, sandbox: RunningSandbox) -> str:
    return request_id_of(pending_request(driver, slack))


def _stopped(driver: Driver, slack: Any, sandbox: RunningSandbox) -> str:
    request = approved(driver, slack)
    sandbox.control("POST", "power", {"vm": VM_B, "state": "deallocated"})
    return request


def _probe_down(driver: Driver, slack: Any, sandbox: RunningSandbox) -> str:
    request = approved(driver, slack)
    sandbox.control("POST", "probe", {"lb": LB_ID, "ip": "10.2.0.5", "healthy": False})
    return request


def _no_rule(driver: Driver, slack: Any, sandbox: RunningSandbox) -> str:
    request = approved(driver, slack)
    net = portal(sandbox, TEAM_B)
    lb = net.load_balancers.get(B_RG, NATLINK_LB)
    lb.load_balancing_rules = []
    for pool in lb.backend_address_pools:  # read-only for a NIC-based pool; the stand-in refuses them back
        pool.load_balancer_backend_addresses = None
    net.load_balancers.begin_create_or_update(B_RG, NATLINK_LB, lb).result()
    return request


def _nsg(driver: Driver, slack: Any, sandbox: RunningSandbox) -> str:
    request = approved(driver, slack)
    net = portal(sandbox, TEAM_B)
    nsg = net.network_security_groups.get(B_RG, "temp-vnet-default-nsg")
    props = {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "3389", "sourceAddressPrefix": "10.2.0.6",
             "destinationAddressPrefix": "*", "access": "Deny", "priority": 100, "direction": "Inbound"}  # fmt: skip
    nsg.security_rules.append({"name": "deny-rdp", "properties": props})
    net.network_security_groups.begin_create_or_update(B_RG, "temp-vnet-default-nsg", nsg).result()
    return request


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (_pending, "the connection is *Pending*: an owner must approve it"),
        (_stopped, "the backend VM-Win2019-2 is deallocated"),
        (_probe_down, "the health probe of VM-Win2019-2 fails (0% of probes answered)"),
        (_no_rule, "port 3389 is not exposed"),
        (_nsg, "a network security group rule drops the traffic (inbound, RuleName=UserRule_deny-rdp"),
    ],
    ids=["pending", "stopped", "probe", "port", "nsg"],
)
def test_each_unreachable_cause_has_its_own_message(
    bot, driver, slack, sandbox, make: Callable[..., str], cause: str
) -> None:
    request = make(driver, slack, sandbox)
    answer = verify(driver, slack, request)
    assert (
        "A connects to 10.0.0.5:3389: :x: failed, unreachable from VM-Win2019 (10.0.0.4): " + cause in answer
    )
    with open_database(database(bot)) as db:
        assert verifications.latest(db, request).reach == "failed"  # type: ignore[union-attr]


def test_no_network_watcher_in_the_region(bot, driver, slack, sandbox) -> None:
    request = approved(driver, slack)
    net: NetworkManagementClient = portal(sandbox, TEAM_A)
    net.network_watchers.begin_delete("NetworkWatcherRG", "NetworkWatcher_japaneast").result()
    answer = verify(driver, slack, request, needle="NetworkWatcherNotEnabled")
    assert f"Network Watcher is not enabled in japaneast for subscription {TEAM_A}" in answer
    assert "az network watcher configure --locations japaneast --enabled true" in answer


def test_the_agent_is_named_missing_and_installed_only_when_asked(bot, driver, slack, sandbox) -> None:
    request = approved(driver, slack)
    vms = compute(sandbox, TEAM_A)
    for extension in vms.virtual_machine_extensions.list(A_RG, "VM-Win2019").value:
        vms.virtual_machine_extensions.begin_delete(A_RG, "VM-Win2019", extension.name).result()
    answer = verify(driver, slack, request, needle="NetworkWatcherAgentMissing")
    assert "The Network Watcher agent is not installed on VM-Win2019" in answer
    assert "--install-agent" in answer and "--name NetworkWatcherAgentWindows" in answer
    assert vms.virtual_machine_extensions.list(A_RG, "VM-Win2019").value == [], "nothing installed unasked"

    installed = verify(
        driver, slack, f"{request} --install-agent", needle="installed the Network Watcher agent"
    )
    assert REACHED in installed
    (agent,) = vms.virtual_machine_extensions.list(A_RG, "VM-Win2019").value
    assert (agent.properties.publisher, agent.properties.type) == (
        watcher.AGENT_PUBLISHER,
        "NetworkWatcherAgentWindows",
    )


def test_a_missing_right_is_named_before_anything_runs(bot, driver, slack, sandbox) -> None:
    request = approved(driver, slack)
    for side, scope in SCOPES.items():
        role = roles.definition(side, [scope], verify=True)
        role["Actions"] = [a for a in role["Actions"] if a != watcher.CHECK]  # type: ignore[union-attr]
        sandbox.control("POST", "role-definitions", role)
    assignments = [
        {"role": f"{roles.ROLE_NAMES[s]} (with verify)", "scope": scope} for s, scope in SCOPES.items()
    ]
    sandbox.control(
        "PUT", "role-assignments", {"principal": sandbox.config["client_id"], "assignments": assignments}
    )
    answer = verify(driver, slack, request, needle="MissingPermissions")
    assert f"it lacks {watcher.CHECK} at /subscriptions/{TEAM_A}/resourceGroups/NetworkWatcherRG" in answer
    assert "natlink role --side consumer --with-verify" in answer


def test_a_capture_needs_its_storage_account(bot, driver, slack) -> None:
    request = approved(driver, slack)
    answer = verify(driver, slack, f"{request} --capture 5s", needle="CaptureStorageNotSet")
    assert "NATLINK_CAPTURE_STORAGE is not set" in answer


def test_only_the_requester_an_owner_or_an_admin_may_verify(bot, driver, slack) -> None:
    request = approved(driver, slack)
    refused = json.dumps(ok(driver.slash_command("carol", "#team-a", f"verify {request}")))
    assert "only its requester, an owner of rdp-vmb" in refused and "may verify it" in refused
    ok(driver.slash_command("alice", "#team-b", f"verify {request}"))  # an owner may
    assert REACHED in text_of(wait_for(lambda: find(slack, "team-b", REACHED), 90, "alice's verify"))


def test_a_verification_follows_each_approval_when_the_setting_asks(sandbox, slack, tmp_path) -> None:
    bot = start_bot(sandbox, slack, tmp_path, NATLINK_VERIFY_AFTER_APPROVAL="true")
    try:
        driver = Driver(f"{bot.url}/slack/events", slack.config)
        request = approved(driver, slack)
        told = wait_for(
            lambda: find(slack, "team-b", f"`/natlink verify {request}`"), 60, "the approval's note"
        )
        assert "its result follows" in text_of(told)
        done = wait_for(lambda: find(slack, "team-b", REACHED), 90, "the verification after approval")
        assert f"Verify {request}" in text_of(done)
    finally:
        assert bot.stop() == 0, bot.log.read_text()[-3000:]


def test_an_unreadable_capture_account_is_named(sandbox, slack, tmp_path) -> None:
    missing = sandbox.capture_storage.rsplit("/", 1)[0] + "/nosuchaccount"
    bot = start_bot(sandbox, slack, tmp_path, NATLINK_CAPTURE_STORAGE=missing)
    try:
        driver = Driver(f"{bot.url}/slack/events", slack.config)
        request = approved(driver, slack)
        answer = verify(driver, slack, f"{request} --capture 5s", needle="NATLINK_CAPTURE_STORAGE")
        assert f"natlink cannot use the capture storage account NATLINK_CAPTURE_STORAGE ({missing})" in answer
    finally:
        assert bot.stop() == 0, bot.log.read_text()[-3000:]
