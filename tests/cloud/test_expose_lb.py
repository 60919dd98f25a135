"""Expose an existing LB frontend (``--lb LB --frontend FE``): validated, and never cleaned up."""

from __future__ import annotations

import pytest
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.expose import LbTarget, VmTarget, expose
from cloud.teardown import delete_service
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_SUBNET, B_RG, create_lb, lb_body
from tests.cloud.arm_log import writes
from tests.conftest import TEAM_A


def test_an_existing_frontend(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    create_lb(net_b)
    steps: list[str] = []
    service = expose(clients, "rdp", LbTarget("LB-RDP", "FE"), visibility=[TEAM_A], progress=steps.append)
    assert (service.nat_ips, service.frontend_ip, service.ports) == (
        ("10.2.0.6",),
        "10.2.0.4",
        ((3389, 3389),),
    )
    assert [b.ip for b in service.backends] == ["10.2.0.5"]
    assert steps[0] == "subnet default: private link service policies disabled" and len(steps) == 2
    sandbox.control("DELETE", "requests")
    assert (
        expose(clients, "rdp", LbTarget("lb-rdp", "fe", resource_group=B_RG), visibility=[TEAM_A]) == service
    )
    assert writes(sandbox) == []
    delete_service(clients, service.id)
    assert net_b.load_balancers.get(B_RG, "lb-rdp").frontend_ip_configurations[0].name == "fe", (
        "the user's LB stays"
    )


def test_a_vm_target_on_a_service_made_with_lb_conflicts(
    clients: Clients, net_b: NetworkManagementClient
) -> None:
    create_lb(net_b)
    expose(clients, "rdp", LbTarget("lb-rdp", "fe"))
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    assert (
        caught.value.code == "ExposeConflict" and "lb-rdp/frontendIPConfigurations/fe" in caught.value.message
    )


def test_a_basic_lb_is_refused(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    create_lb(net_b, sku="Basic")
    sandbox.control("DELETE", "requests")
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp", LbTarget("lb-rdp", "fe"))
    assert caught.value.code == "LoadBalancerNotStandard" and "Basic" in caught.value.message
    assert writes(sandbox) == []


def test_a_public_frontend_is_refused(clients: Clients, net_b: NetworkManagementClient) -> None:
    public = {
        "publicIPAddress": {
            "id": f"/subscriptions/{TEAM_A}/resourceGroups/x/providers/Microsoft.Network/publicIPAddresses/ip"
        }
    }
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", lb_body(frontend=public)).result()
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp", LbTarget("lb-rdp", "fe"))
    assert caught.value.code == "LoadBalancerNotInternal"


def test_a_missing_frontend_names_the_ones_there(clients: Clients, net_b: NetworkManagementClient) -> None:
    create_lb(net_b)
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp", LbTarget("lb-rdp", "nope"))
    assert caught.value.code == "FrontendNotFound" and "(it has: fe)" in caught.value.message


def test_ports_with_an_lb_are_refused(clients: Clients) -> None:
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp", LbTarget("lb-rdp", "fe"), [3389])
    assert caught.value.code == "InvalidExposeTarget"


def test_an_lb_name_in_two_subscriptions_is_ambiguous(
    clients: Clients, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    create_lb(net_b)
    body = lb_body()
    body["properties"]["frontendIPConfigurations"][0]["properties"]["subnet"]["id"] = A_SUBNET
    body["properties"]["loadBalancingRules"] = []
    body["properties"]["probes"] = []
    net_a.load_balancers.begin_create_or_update("rg-team-a", "LB-rdp", body).result()
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp", LbTarget("lb-rdp", "fe"))
    assert caught.value.code == "AmbiguousLoadBalancerName"
    assert "rg-team-a" in caught.value.message and "rg-team-b" in caught.value.message
    found = expose(clients, "rdp", LbTarget("lb-rdp", "fe", resource_group="RG-TEAM-B"))
    assert found.frontend_ip == "10.2.0.4"


def test_a_subnet_link_natlink_cannot_join_is_refused_before_any_write(
    sandbox: RunningSandbox, clients: Clients, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    """Issue 9 rule 6: the frontend's subnet links an NSG of team A's, where natlink has no role."""
    create_lb(net_b)
    nsg = net_a.network_security_groups.begin_create_or_update(
        "rg-team-a", "hub-nsg", {"location": "japaneast"}
    )
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.network_security_group = {"id": nsg.result().id}
    net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet).result()
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    sandbox.control("DELETE", "requests")
    with pytest.raises(CloudError) as caught:
        expose(clients, "rdp", LbTarget("lb-rdp", "fe"))
    assert caught.value.code == "LinkedScopeNotJoinable"
    assert "networkSecurityGroups/join/action" in caught.value.hint
    assert writes(sandbox) == []
