"""Issue 15 from Slack: a private link service in front of inbound NAT rules, both versions.

The load balancer is built through the SDK as the issue's reproduction does (a frontend, a pool
with VM-Win2019-2, a NAT rule and no load-balancing rule); then `/natlink create --lb`, a request
by bob, alice's approval, `map`, `status` and the digest must each show the NAT rule's ports and
its backend, and the endpoint's address (it once read "not visible").
"""

from __future__ import annotations

from typing import Any

import pytest
from azure.mgmt.network import NetworkManagementClient

from tests.arm_story import B_RG, POOL, lb_body
from tests.conftest import TEAM_A
from tests.e2e.harness import find, ok, text_of, wait_for
from tests.e2e.test_scale_set_backends import _create, _digest, _map, _status
from tests.sandbox.arm.test_inbound_nat_rules import link_nic, nat_v1, nat_v2, put_lb


def _nat_only_lb(net_b: NetworkManagementClient, rule: dict[str, Any], *, version: int) -> None:
    """lb-rdp with the NAT rule alone, VM-Win2019-2's NIC in its pool (and on the rule, for v1)."""
    body = lb_body()
    body["properties"]["loadBalancingRules"], body["properties"]["probes"] = [], []
    put_lb(net_b, rule, body=body)
    nic = net_b.network_interfaces.get(B_RG, "vm-win2019-2-nic")
    nic.ip_configurations[0].load_balancer_backend_address_pools = [{"id": POOL}]
    net_b.network_interfaces.begin_create_or_update(B_RG, "vm-win2019-2-nic", nic).result()
    if version == 1:
        link_nic(net_b, rule["name"])


def _request_and_approve(driver, slack, name: str) -> str:
    bob = slack.user("bob")
    ok(driver.slash_command("admin", "#team-a", f"grant <@{bob}|bob> request {TEAM_A}"))
    ok(driver.slash_command("bob", "#team-a", f"request {name} --vm VM-Win2019"))
    card = wait_for(lambda: find(slack, "team-b", "natlink_approve"), 60, "the approval card")
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    told = wait_for(lambda: find(slack, bob, "which sees you as"), 60, "bob's DM with the mapping")
    return text_of(told)


@pytest.mark.parametrize(
    ("version", "rule", "port"),
    [(1, nat_v1("RDP", 3389), 3389), (2, nat_v2("RDP", 50000, 50009, backend=3389), 50000)],
    ids=["v1", "v2"],
)
def test_a_service_behind_a_nat_rule(
    bot, driver, slack, sandbox, net_b, monkeypatch, version: int, rule: dict[str, Any], port: int
) -> None:
    _nat_only_lb(net_b, rule, version=version)
    created = _create(driver, slack, "rdp-nat", lb="lb-rdp")
    assert (
        f"ports {port} (NAT rule RDP)" in created
        and "Backends: VM-Win2019-2 10.2.0.5:3389 (running)" in created
    )

    told = _request_and_approve(driver, slack, "rdp-nat")
    assert (
        f"connect to 10.0.0.5:{port}; it arrives at VM-Win2019-2 10.2.0.5:3389, which sees you as 10.2.0.6"
        in told
    )

    row = _map(driver, slack, "rdp-nat", "(NAT rule RDP)")
    assert (
        f"VM-Win2019 10.0.0.4 → 10.0.0.5:{port} ⇒ NAT 10.2.0.6 → lb-rdp 10.2.0.4:{port} (NAT rule RDP) → "
        "VM-Win2019-2 10.2.0.5:3389 (sees 10.2.0.6)"
    ) in row
    assert "not visible" not in row

    status = _status(driver, slack, "rdp-nat", "rdp-nat* ok")
    assert "NAT rule RDP: no health probe, judged by the VM's power state" in status
    assert f"lb-rdp 10.2.0.4:{port} (NAT rule RDP)" in _digest(bot, sandbox, "rdp-nat", monkeypatch)
