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
from cloud.expose import VmTarget, expose
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
    expose(clients, "web", VmTarget("vm-0"), [443])
    with pytest.raises(CloudError) as caught:
        expose(clients, "web", VmTarget("vm-1"), [443])
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
@pytest.mark.xfail(
    strict=True,
    reason="issue 9 rule 1: natlink writes its LB, then Azure refuses the NIC "
    "(AnotherInternalLoadBalancerExists) and the LB stays behind",
)
def test_a_vm_in_another_internal_lb_is_refused_before_any_write(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    create_lb(net_b)  # the team's own internal LB lb-rdp, with the VM in its pool and a 3389 rule on fe
    sandbox.control("DELETE", "requests")
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    assert caught.value.code == "VmInAnotherLoadBalancer", caught.value.message
    assert writes(sandbox) == []
    assert [b.name for b in net_b.load_balancers.list(B_RG)] == ["lb-rdp"]


@pytest.mark.xfail(
    strict=True,
    reason="issue 9 rule 2: natlink adds the second service's frontend, pool and rule, then Azure refuses "
    "the NIC (RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig)",
)
def test_a_second_service_on_an_exposed_port_is_refused_before_any_write(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389])
    sandbox.control("DELETE", "requests")
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp-two", VmTarget("VM-Win2019-2"), [22, 3389])
    assert caught.value.message == "rdp-vmb already exposes VM-Win2019-2:3389: share it instead."
    assert writes(sandbox) == []


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
