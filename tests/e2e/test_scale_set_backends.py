"""Issue 9 rule 10 from Slack: `/natlink create --lb --frontend` on an AKS-style internal load
balancer whose pool holds scale set instances, or an IP-based pool, shows the right backends,
health and mapping in create's answer, `status`, `map` and the digest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from commands.context import Config
from commands.digest import queue_digests
from storage import channel_subscriptions, events
from storage.database import open_database
from tests.arm_story import A_RG, pe_body
from tests.cloud.arm_log import clients_for
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import database, find, ok, text_of, wait_for
from tests.sandbox.arm.test_scale_sets import VMSS, VMSS_ID, build_aks, build_ip_pool


def _create(driver, slack, name: str, lb: str = "kubernetes-internal") -> str:
    alice = slack.user("alice")
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    ok(driver.slash_command("alice", "#team-b", f"create {name} --lb {lb} --frontend fe"))
    return text_of(wait_for(lambda: find(slack, "team-b", f"{name} is exposed"), 60, "the create to finish"))


def _connect(net_a: NetworkManagementClient, net_b: NetworkManagementClient, name: str) -> None:
    """A consumer's endpoint to the service, made outside natlink (it stays Pending)."""
    alias = next(p.alias for p in net_b.private_link_services.list_by_subscription() if p.name == name)
    net_a.private_endpoints.begin_create_or_update(A_RG, f"pe-{name}", pe_body(alias)).result()


def _status(driver, slack, name: str, needle: str) -> str:
    ok(driver.slash_command("alice", "#team-b", f"status {name}"))
    return text_of(
        wait_for(lambda: find(slack, "team-b", needle, ephemeral=True), 60, f"status with {needle}")
    )


def _map(driver, slack, name: str, needle: str) -> str:
    ok(driver.slash_command("alice", "#team-b", f"map {name}"))
    return text_of(wait_for(lambda: find(slack, "team-b", needle, ephemeral=True), 60, f"map with {needle}"))


def _digest(bot, sandbox, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in sandbox.environment().items():
        monkeypatch.setenv(key, value)
    db = open_database(database(bot))
    channel_subscriptions.add_subscription(db, name, "C0TEAMB", created_by="U0ALICE", digest="daily")
    config = Config(frozenset({"U0ADMIN"}), False, (TEAM_A, TEAM_B))
    assert queue_digests(db, config, clients_for(sandbox, [TEAM_A, TEAM_B]), "daily", datetime.now(UTC)) == 1
    (event,) = [e for e in events.recent(db) if e.kind == "digest"]
    return "\n".join(event.payload["lines"])


def test_a_scale_set_pool(
    bot,
    driver,
    slack,
    sandbox,
    net_a,
    net_b: NetworkManagementClient,
    compute_b: ComputeManagementClient,
    monkeypatch,
) -> None:
    build_aks(net_b, compute_b)
    created = _create(driver, slack, "aks-web")
    assert f"instance {VMSS}_0 10.2.0.6:8080 (running), instance {VMSS}_1 10.2.0.7:8080 (running)" in created
    assert "*aks-web* ok: 2 of 2 backends running" in _status(driver, slack, "aks-web", "aks-web* ok")

    sandbox.control("POST", "power", {"vm": f"{VMSS_ID}/virtualMachines/1", "state": "stopped"})
    assert f"{VMSS}_1 is stopped" in _status(driver, slack, "aks-web", "degraded")

    _connect(net_a, net_b, "aks-web")
    rows = _map(driver, slack, "aks-web", "kubernetes-internal 10.2.0.4:8080")
    assert f"→ {VMSS}_0 10.2.0.6:8080" in rows and f"→ {VMSS}_1 10.2.0.7:8080" in rows

    digest = _digest(bot, sandbox, "aks-web", monkeypatch)
    assert f"*aks-web*: degraded — {VMSS}_1 is stopped" in digest
    assert f"→ {VMSS}_0 10.2.0.6:8080" in digest


def test_an_ip_based_pool(
    bot, driver, slack, sandbox, net_a, net_b: NetworkManagementClient, monkeypatch
) -> None:
    build_ip_pool(net_b)
    created = _create(driver, slack, "pods")
    assert "IP 10.2.0.40:8080 (unknown, not a VM), IP 10.2.0.41:8080 (unknown, not a VM)" in created
    assert "*pods* ok: 2 of 2 backends running" in _status(driver, slack, "pods", "pods* ok")
    _connect(net_a, net_b, "pods")
    rows = _map(driver, slack, "pods", "kubernetes-internal 10.2.0.4:8080")
    assert "backend 10.2.0.40:8080" in rows and "backend 10.2.0.41:8080" in rows
    assert "*pods*: ok" in _digest(bot, sandbox, "pods", monkeypatch)
