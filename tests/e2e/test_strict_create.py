"""Issue 9 on the create path: natlink meets Azure's rules for the VM's NIC and subnet before it
writes anything, and the refusal says what would work.

Rule 1: one internal load balancer per NIC IP configuration. Rule 2: one rule per backend port of
a VM. Rule 3: an LB read-modify-write sends no NIC-based pool members back. Rule 6: a subnet PUT
keeps the subnet's links, and a link natlink may not join is found first. Rule 7: a VM that would
lose its outbound internet access is exposed only on --accept-no-outbound.

Each test drives a real ``natlink serve`` with signed slash commands and counts the writes ARM saw.
"""

from __future__ import annotations

from storage import services
from storage.database import open_database
from tests.arm_story import B_RG, create_lb, lb_body
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import arm_count, create_rdp_vmb, database, find, ok, text_of, wait_for
from tests.sandbox.arm.test_inbound_nat_rules import link_nic, nat_v1, put_lb

LB = "natlink-lb-temp-vnet-default"


def _writes(sandbox) -> int:
    return sum(arm_count(sandbox, method, "/subscriptions/") for method in ("PUT", "PATCH", "DELETE"))


def _grant_alice(driver, slack) -> None:
    alice = slack.user("alice")
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))


def _refusal(slack, code: str) -> str:
    return text_of(wait_for(lambda: find(slack, "team-b", code), 60, f"the {code} refusal"))


def test_a_vm_in_the_teams_own_internal_lb(bot, driver, slack, sandbox, net_b) -> None:
    """Rule 1: natlink used to write its LB, then fail on the NIC and leave the LB behind."""
    _grant_alice(driver, slack)
    create_lb(net_b)  # the team's lb-rdp: frontend fe, a 3389 rule, VM-Win2019-2 in its pool
    sandbox.control("DELETE", "requests")

    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    body = _refusal(slack, "VmInAnotherLoadBalancer")
    assert "internal load balancer lb-rdp" in body, body
    assert "/natlink create rdp-vmb --lb lb-rdp --frontend fe" in body, body
    assert _writes(sandbox) == 0
    assert [b.name for b in net_b.load_balancers.list(B_RG)] == ["lb-rdp"], "no natlink LB left behind"
    assert services.get_service(open_database(database(bot)), "rdp-vmb") is None

    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --lb lb-rdp --frontend fe"))
    wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "the command it showed to work")


def test_a_vm_behind_only_a_nat_rule_of_the_teams_internal_lb(bot, driver, slack, sandbox, net_b) -> None:
    """Rule 1 through an inbound NAT rule (issue 15): VM-Win2019-2 is behind lb-rdp's NAT rule RDP
    and in no pool; natlink's LB could not take it either, and the frontend that works is shown."""
    _grant_alice(driver, slack)
    body = lb_body()
    body["properties"]["loadBalancingRules"], body["properties"]["probes"] = [], []
    put_lb(net_b, nat_v1("RDP", 3389), body=body)
    link_nic(net_b, "RDP")
    sandbox.control("DELETE", "requests")

    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    refusal = _refusal(slack, "VmInAnotherLoadBalancer")
    assert "behind inbound NAT rule RDP of internal load balancer lb-rdp" in refusal, refusal
    assert "/natlink create rdp-vmb --lb lb-rdp --frontend fe" in refusal, refusal
    assert _writes(sandbox) == 0
    assert [b.name for b in net_b.load_balancers.list(B_RG)] == ["lb-rdp"], "no natlink LB left behind"


def test_a_second_service_on_the_same_vm_port(bot, driver, slack, sandbox, net_b) -> None:
    """Rule 2: Azure refuses a second rule for VM-Win2019-2:3389 (azure-powershell#2042)."""
    create_rdp_vmb(driver, slack)
    before = net_b.load_balancers.get(B_RG, LB).etag
    sandbox.control("DELETE", "requests")

    ok(driver.slash_command("alice", "#team-b", "create rdp-two --vm VM-Win2019-2 --port 3389"))
    body = _refusal(slack, "PortAlreadyExposed")
    assert "rdp-vmb already exposes VM-Win2019-2:3389: share it instead" in body, body
    assert "/natlink share rdp-vmb" in body, body
    assert _writes(sandbox) == 0
    assert net_b.load_balancers.get(B_RG, LB).etag == before
    assert services.get_service(open_database(database(bot)), "rdp-two") is None


def test_a_second_service_on_another_port_shares_the_lb(bot, driver, slack, sandbox, net_b) -> None:
    """Rule 3: the second service rewrites natlink's LB, whose pool Azure lists with the VM's NIC in
    loadBalancerBackendAddresses; sending that back would be refused, natlink sends what it owns."""
    create_rdp_vmb(driver, slack)
    listed = net_b.load_balancers.get(B_RG, LB).backend_address_pools[0].load_balancer_backend_addresses
    assert listed and listed[0].network_interface_ip_configuration is not None
    sandbox.control("DELETE", "requests")

    ok(driver.slash_command("alice", "#team-b", "create ssh-vmb --vm VM-Win2019-2 --port 22"))
    wait_for(lambda: find(slack, "team-b", "ssh-vmb is exposed"), 60, "ssh-vmb to be exposed")
    assert arm_count(sandbox, "PUT", f"/loadBalancers/{LB}") == 1
    made = net_b.load_balancers.get(B_RG, LB)
    assert sorted(f.name for f in made.frontend_ip_configurations) == ["fe-rdp-vmb", "fe-ssh-vmb"]
    assert all(p.load_balancer_backend_addresses for p in made.backend_address_pools), (
        "both pools hold the NIC"
    )


def test_the_subnet_keeps_its_links(bot, driver, slack, net_b) -> None:
    """Rule 6: disabling the policy must not strip the NSG, route table, NAT gateway or endpoint."""
    before = net_b.subnets.get(B_RG, "temp-vnet", "default")
    create_rdp_vmb(driver, slack)
    after = net_b.subnets.get(B_RG, "temp-vnet", "default")
    assert after.private_link_service_network_policies == "Disabled"
    assert after.network_security_group.id == before.network_security_group.id
    assert after.route_table.id == before.route_table.id
    assert after.nat_gateway.id == before.nat_gateway.id
    assert [e.service for e in after.service_endpoints] == ["Microsoft.Storage"]


def test_a_subnet_link_natlink_may_not_join(bot, driver, slack, sandbox, net_a, net_b) -> None:
    """Rule 6: the subnet's NSG is in a subscription where natlink has no role."""
    _grant_alice(driver, slack)
    nsg = net_a.network_security_groups.begin_create_or_update(
        "rg-team-a", "hub-nsg", {"location": "japaneast"}
    )
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.network_security_group = {"id": nsg.result().id}
    net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet).result()
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    sandbox.control("DELETE", "requests")

    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    body = _refusal(slack, "LinkedScopeNotJoinable")
    assert "Microsoft.Network/networkSecurityGroups/join/action" in body, body
    assert "hub-nsg" in body and "manual connection" not in body, body
    assert _writes(sandbox) == 0


def test_a_vm_that_would_lose_outbound_access(bot, driver, slack, sandbox, net_b) -> None:
    """Rule 7: without the seed's NAT gateway, an internal Standard LB would end the VM's default
    outbound access; natlink asks first and goes on only with --accept-no-outbound."""
    _grant_alice(driver, slack)
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.nat_gateway = None
    net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet).result()
    sandbox.control("DELETE", "requests")

    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    body = _refusal(slack, "WouldLoseOutbound")
    assert "a NAT gateway on subnet default" in body and "public IP on vm-win2019-2-nic" in body, body
    accept = "/natlink create rdp-vmb --vm VM-Win2019-2 --port 3389 --accept-no-outbound"
    assert accept in body, body
    assert _writes(sandbox) == 0

    ok(driver.slash_command("alice", "#team-b", accept.removeprefix("/natlink ")))
    done = wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "the accepted create")
    assert "VM VM-Win2019-2: no default outbound internet access from now on (accepted)" in text_of(done)
