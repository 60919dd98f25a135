"""Expose through cloud/ alone: the seed story's service, convergent, conflict-checked, and held
to Azure's rules for the VM's NIC before anything is written (issue 9 rules 1, 2, 3, 6, 7)."""

from __future__ import annotations

import json

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network._utils.model_base import SdkJSONEncoder

from cloud import lb
from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.expose import (
    PortAlreadyExposed,
    VmInAnotherLoadBalancer,
    VmTarget,
    WouldLoseOutbound,
    expose,
)
from cloud.lb import lb_name
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import B_RG, create_lb
from tests.cloud.arm_log import clients_for, requests, writes
from tests.conftest import TEAM_A, TEAM_B, network_client

LB = "natlink-lb-temp-vnet-default"


def test_the_seed_story_service(sandbox: RunningSandbox, clients: Clients) -> None:
    steps: list[str] = []
    service = expose(
        clients, "rdp-vmb", VmTarget("vm-win2019-2"), [3389], visibility=[TEAM_A], progress=steps.append
    )
    assert (service.name, service.subscription, service.resource_group) == ("rdp-vmb", TEAM_B, "rg-team-b")
    assert (service.nat_ips, service.frontend_ip, service.ports) == (
        ("10.2.0.6",),
        "10.2.0.4",
        ((3389, 3389),),
    )
    assert [(b.vm_name, b.ip, b.port) for b in service.backends] == [("VM-Win2019-2", "10.2.0.5", 3389)]
    assert service.alias.startswith("rdp-vmb.") and service.visibility == (TEAM_A,)
    assert steps[0].startswith(f"load balancer {LB}: frontend 10.2.0.4, port(s) 3389")
    assert steps[1] == "network interface vm-win2019-2-nic: in backend pool pool-rdp-vmb"
    assert steps[2] == "subnet default: private link service policies disabled"
    assert steps[3].startswith(f"private link service rdp-vmb: alias {service.alias}, NAT IPs 10.2.0.6")
    lb = sandbox.control("GET", "state")["resources"]
    (made,) = [r for r in lb if r["name"] == LB]
    assert made["tags"] == {"managed-by": "natlink"} and made["sku"]["name"] == "Standard"
    (pls,) = [r for r in lb if r["name"] == "rdp-vmb"]
    assert pls["tags"] == {"managed-by": "natlink", "natlink": "rdp-vmb"}
    assert pls["properties"]["ipConfigurations"][0]["properties"]["primary"] is True


def test_running_it_again_writes_nothing(sandbox: RunningSandbox, clients: Clients) -> None:
    first = expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], visibility=[TEAM_A])
    assert len(writes(sandbox)) == 4, "LB, NIC, subnet, service"
    sandbox.control("DELETE", "requests")
    steps: list[str] = []
    again = expose(
        clients,
        "rdp-vmb",
        VmTarget("vm-win2019-2"),
        [3389],
        visibility=[TEAM_A.upper()],
        progress=steps.append,
    )
    assert writes(sandbox) == []
    assert again == first
    assert (
        "(unchanged)" in steps[0]
        and steps[2] == "subnet default: private link service policies already disabled"
    )


def test_nat_ips_and_lists_may_grow(sandbox: RunningSandbox, clients: Clients) -> None:
    expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    sandbox.control("DELETE", "requests")
    grown = expose(
        clients,
        "rdp-vmb",
        VmTarget("VM-Win2019-2"),
        [3389],
        nat_ips=3,
        visibility=["*"],
        auto_approval=[TEAM_A],
    )
    assert [w.split("/")[-1] for w in writes(sandbox)] == ["rdp-vmb"], "only the service is written"
    assert grown.nat_ips == ("10.2.0.6", "10.2.0.7", "10.2.0.8")
    assert (grown.visibility, grown.auto_approval) == (("*",), (TEAM_A,))


def test_removing_nat_ips_is_refused_with_the_current_count(
    sandbox: RunningSandbox, clients: Clients
) -> None:
    expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], nat_ips=2)
    sandbox.control("DELETE", "requests")
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], nat_ips=1)
    assert caught.value.code == "NatIpsCannotBeRemoved" and "has 2 NAT IPs" in caught.value.message
    assert writes(sandbox) == []


@pytest.mark.parametrize(
    ("ports", "proxy", "words"),
    [
        ([3389, 22], False, "it exposes port(s) 3389, not 22, 3389"),
        ([3389], True, "its proxy protocol is off"),
    ],
)
def test_other_changes_conflict_before_any_write(
    sandbox: RunningSandbox, clients: Clients, ports: list[int], proxy: bool, words: str
) -> None:
    expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    sandbox.control("DELETE", "requests")
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), ports, proxy_protocol=proxy)
    assert caught.value.code == "ExposeConflict" and words in caught.value.message
    assert writes(sandbox) == []


def test_another_vm_under_the_same_name_conflicts(
    sandbox: RunningSandbox, azure_env: dict[str, str], credential: ClientSecretCredential
) -> None:
    world = sandbox.control("POST", "generate", {"subscriptions": 1, "services": 2})
    (sub,) = world["subscriptions"]
    clients = clients_for(sandbox, [sub])
    _leave_pools(network_client(sandbox, credential, sub), "vm-0-nic", "vm-1-nic")
    expose(clients, "web", VmTarget("vm-0"), [443], accept_no_outbound=True)
    with pytest.raises(CloudError) as caught:
        expose(clients, "web", VmTarget("vm-1"), [443], accept_no_outbound=True)
    assert caught.value.code == "ExposeConflict"
    assert "vm-0-nic/ipConfigurations/ipconfig1, not VM vm-1" in caught.value.message


def _leave_pools(net: NetworkManagementClient, *nics: str) -> None:
    """A generated world puts every VM behind its own internal LB; natlink's cannot have them too."""
    for name in nics:
        nic = net.network_interfaces.get("rg-natlink", name)
        nic.ip_configurations[0].load_balancer_backend_address_pools = []
        net.network_interfaces.begin_create_or_update("rg-natlink", name, nic).result()


def test_two_services_share_the_subnet_lb_without_colliding(
    sandbox: RunningSandbox, clients: Clients
) -> None:
    rdp = expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    ssh = expose(clients, "ssh", VmTarget("VM-Win2019-2"), [22, 2222])
    assert (rdp.frontend_ip, ssh.frontend_ip) == ("10.2.0.4", "10.2.0.7")
    assert ssh.ports == ((22, 22), (2222, 2222)) and rdp.ports == ((3389, 3389),)
    assert len(requests(sandbox, "PUT", f"loadBalancers/{LB}$")) == 2
    nic = next(r for r in sandbox.control("GET", "state")["resources"] if r["name"] == "vm-win2019-2-nic")
    pools = nic["properties"]["ipConfigurations"][0]["properties"]["loadBalancerBackendAddressPools"]
    assert [p["id"].rsplit("/", 1)[1] for p in pools] == ["pool-rdp", "pool-ssh"], "memberships kept"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name": "-bad", "ports": [3389]}, "InvalidServiceName"),
        ({"name": "ok", "ports": []}, "InvalidExposeTarget"),
        ({"name": "ok", "ports": [70000]}, "InvalidPort"),
        ({"name": "ok", "ports": [3389], "nat_ips": 9}, "InvalidNatIpCount"),
    ],
)
def test_bad_arguments_are_refused_before_azure_is_asked(
    sandbox: RunningSandbox, clients: Clients, kwargs: dict, code: str
) -> None:
    with pytest.raises(CloudError) as caught:
        expose(clients, target=VmTarget("VM-Win2019-2"), **kwargs)
    assert caught.value.code == code
    assert sandbox.control("GET", "requests")["total"] == 0


def test_the_lb_name_is_a_valid_arm_name() -> None:
    assert lb_name("temp-vnet", "default") == LB
    assert lb_name("v net", "sub/x") == "natlink-lb-v-net-sub-x"
    long = lb_name("v" * 64, "s" * 80)
    assert len(long) <= 80 and long[-1].isalnum()


# ------------------------------------------------------- issue 9: checked before any write
def test_a_vm_in_another_internal_lb_is_refused_before_any_write(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    """Rule 1. natlink used to write its LB, then Azure refused the NIC (AnotherInternalLoadBalancerExists)
    and the LB stayed behind."""
    create_lb(net_b)  # the team's own internal LB lb-rdp, with the VM in its pool and a 3389 rule on fe
    sandbox.control("DELETE", "requests")
    with pytest.raises(VmInAnotherLoadBalancer) as caught:
        expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    error = caught.value
    assert (error.lb_name, error.frontends) == ("lb-rdp", ("fe",))
    assert "in backend pool pool of internal load balancer lb-rdp" in error.message
    assert writes(sandbox) == []
    assert [b.name for b in net_b.load_balancers.list(B_RG)] == ["lb-rdp"]


def test_a_second_service_on_an_exposed_port_is_refused_before_any_write(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    """Rule 2 (RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig): natlink used to add
    the second service's frontend, pool and rule, then Azure refused the NIC."""
    expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    before = net_b.load_balancers.get(B_RG, LB)
    sandbox.control("DELETE", "requests")
    with pytest.raises(PortAlreadyExposed) as caught:
        expose(clients, "rdp-two", VmTarget("VM-Win2019-2"), [22, 3389])
    assert caught.value.service == "rdp-vmb"
    assert caught.value.message == "rdp-vmb already exposes VM-Win2019-2:3389: share it instead."
    assert writes(sandbox) == []
    assert net_b.load_balancers.get(B_RG, LB).etag == before.etag
    assert expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389]).ports == ((3389, 3389),), (
        "its own rerun"
    )


def test_the_lb_natlink_sends_back_holds_no_nic_members(
    clients: Clients, net_b: NetworkManagementClient
) -> None:
    """Rule 3: Azure lists the NIC in loadBalancerBackendAddresses and refuses it back on a PUT."""
    expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    current = net_b.load_balancers.get(B_RG, LB)
    assert current.backend_address_pools[0].load_balancer_backend_addresses, "Azure lists the NIC"
    parts = lb.Parts(current.id, "ssh")
    wanted = lb.with_service(
        current, parts, "japaneast", current.frontend_ip_configurations[0].subnet.id, (22,)
    )
    body = json.loads(json.dumps(wanted, cls=SdkJSONEncoder, exclude_readonly=True))
    assert all(
        "loadBalancerBackendAddresses" not in p.get("properties", {})
        for p in body["properties"]["backendAddressPools"]
    )
    assert expose(clients, "ssh", VmTarget("VM-Win2019-2"), [22]).ports == ((22, 22),)


def test_the_subnet_keeps_its_links(clients: Clients, net_b: NetworkManagementClient) -> None:
    """Rule 6: the policy is disabled with one PUT of the whole subnet, links and endpoints included."""
    before = net_b.subnets.get(B_RG, "temp-vnet", "default")
    expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    after = net_b.subnets.get(B_RG, "temp-vnet", "default")
    assert after.private_link_service_network_policies == "Disabled"
    assert (after.network_security_group.id, after.route_table.id, after.nat_gateway.id) == (
        before.network_security_group.id,
        before.route_table.id,
        before.nat_gateway.id,
    )
    assert [e.service for e in after.service_endpoints] == ["Microsoft.Storage"]


def test_a_link_natlink_cannot_join_is_refused_before_any_write(
    sandbox: RunningSandbox, clients: Clients, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    """Rule 6: the subnet's NSG lives where natlink has no role; resending it would be refused."""
    _nsg_in_team_a(sandbox, net_a, net_b)
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    error = caught.value
    assert error.code == "LinkedScopeNotJoinable" and "/networkSecurityGroups/hub-nsg" in error.message
    assert "'Microsoft.Network/networkSecurityGroups/join/action' on the network security group" in error.hint
    assert writes(sandbox) == []


def test_azures_linked_authorization_refusal_gets_the_join_hint(
    sandbox: RunningSandbox, clients: Clients, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    """Rule 6, when Azure refuses anyway (natlink could read the link but not join it): the hint is
    about joining the NSG, not cloud/errors.py's one about approving private endpoints."""
    from cloud.expose import _disable_policies
    from cloud.steps import Steps

    _nsg_in_team_a(sandbox, net_a, net_b)
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default").id
    with pytest.raises(CloudError) as caught:
        _disable_policies(clients, subnet, Steps("expose rdp-vmb"))
    error = caught.value
    assert (error.code, error.step) == ("LinkedAuthorizationFailed", "subnet default")
    assert "Microsoft.Network/networkSecurityGroups/join/action" in error.hint and "hub-nsg" in error.hint
    assert "manual connection" not in error.hint


def _nsg_in_team_a(
    sandbox: RunningSandbox, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    """Team B's subnet linked to an NSG of team A's, then team A closed to natlink's identity."""
    nsg = net_a.network_security_groups.begin_create_or_update(
        "rg-team-a", "hub-nsg", {"location": "japaneast"}
    )
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.network_security_group = {"id": nsg.result().id}
    net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet).result()
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    sandbox.control("DELETE", "requests")


def _without_nat_gateway(net_b: NetworkManagementClient) -> None:
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.nat_gateway = None
    net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet).result()


def test_a_vm_that_would_lose_outbound_access_is_refused_unless_accepted(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    """Rule 7: without the seed's NAT gateway VM-Win2019-2 relies on default outbound access."""
    _without_nat_gateway(net_b)
    sandbox.control("DELETE", "requests")
    with pytest.raises(WouldLoseOutbound) as caught:
        expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    error = caught.value
    assert "VM VM-Win2019-2 reaches the internet through Azure's default outbound access" in error.message
    assert all(
        w in error.hint
        for w in ("NAT gateway on subnet default", "public IP on vm-win2019-2-nic", "outbound rule")
    )
    assert writes(sandbox) == []

    steps: list[str] = []
    expose(
        clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], accept_no_outbound=True, progress=steps.append
    )
    assert "VM VM-Win2019-2: no default outbound internet access from now on (accepted)" in steps
    assert expose(clients, "ssh-vmb", VmTarget("VM-Win2019-2"), [22]).ports == ((22, 22),), (
        "nothing left to lose"
    )


def test_explicit_outbound_access_is_kept(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    """Rule 7: a public IP on the NIC is explicit outbound access; the VM keeps it behind the LB."""
    _without_nat_gateway(net_b)
    body = {
        "location": "japaneast",
        "sku": {"name": "Standard"},
        "properties": {"publicIPAllocationMethod": "Static"},
    }
    pip = net_b.public_ip_addresses.begin_create_or_update(B_RG, "vm-win2019-2-ip", body).result()
    nic = net_b.network_interfaces.get(B_RG, "vm-win2019-2-nic")
    nic.ip_configurations[0].public_ip_address = {"id": pip.id}
    net_b.network_interfaces.begin_create_or_update(B_RG, "vm-win2019-2-nic", nic).result()
    assert expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389]).frontend_ip == "10.2.0.4"
