"""Every refusal the sandbox ARM owes its clients, with the exact status and ARM error code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from tests.arm_story import (
    A_RG,
    A_SUBNET,
    B_RG,
    B_SUBNET,
    create_lb,
    disable_pls_policies,
    expose,
    lb_body,
    pe_body,
    pls_body,
)
from tests.conftest import TEAM_B, network_client


def refused(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value.status_code, caught.value.error.code


def test_pls_on_a_subnet_with_policies_enabled(net_b: NetworkManagementClient) -> None:
    create_lb(net_b)
    status, code = refused(
        lambda: net_b.private_link_services.begin_create_or_update(B_RG, "pls", pls_body())
    )
    assert (status, code) == (400, "PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled")
    assert list(net_b.private_link_services.list(B_RG)) == []


def test_pls_on_a_basic_load_balancer(net_b) -> None:
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", lb_body("Basic")).result()
    disable_pls_policies(net_b)
    status, code = refused(
        lambda: net_b.private_link_services.begin_create_or_update(B_RG, "pls", pls_body())
    )
    assert (status, code) == (400, "PrivateLinkServiceNotSupportedOnBasicLoadBalancer")


def test_pls_on_a_public_frontend(net_b) -> None:
    public = {
        "publicIPAddress": {
            "id": f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/publicIPAddresses/pip"
        }
    }
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", lb_body(frontend=public)).result()
    disable_pls_policies(net_b)
    status, code = refused(
        lambda: net_b.private_link_services.begin_create_or_update(B_RG, "pls", pls_body())
    )
    assert (status, code) == (400, "PrivateLinkServiceCannotUsePublicLoadBalancerFrontend")


def test_more_than_eight_nat_ips(net_b) -> None:
    create_lb(net_b)
    disable_pls_policies(net_b)
    status, code = refused(
        lambda: net_b.private_link_services.begin_create_or_update(B_RG, "pls", pls_body(nat_ips=9))
    )
    assert (status, code) == (400, "PrivateLinkServiceIpConfigurationCountOutOfRange")
    eight = net_b.private_link_services.begin_create_or_update(B_RG, "pls", pls_body(nat_ips=8)).result()
    assert len(eight.ip_configurations) == 8


def test_nat_ips_can_be_added_but_never_removed(net_b) -> None:
    expose(net_b, nat_ips=2)
    grown = net_b.private_link_services.begin_create_or_update(B_RG, "pls-rdp", pls_body(nat_ips=3)).result()
    assert len(grown.ip_configurations) == 3
    status, code = refused(
        lambda: net_b.private_link_services.begin_create_or_update(B_RG, "pls-rdp", pls_body(nat_ips=1))
    )
    assert (status, code) == (400, "PrivateLinkServiceIpConfigurationCannotBeDeleted")


def test_unknown_and_malformed_aliases(net_a, net_b) -> None:
    pls = expose(net_b)
    unknown = pls.alias.replace(pls.alias.split(".")[1], "00000000-0000-0000-0000-000000000000")
    assert refused(lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body(unknown))) == (
        400,
        "PrivateLinkServiceAliasNotFound",
    )
    assert refused(
        lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body("not-an-alias"))
    ) == (
        400,
        "InvalidPrivateLinkServiceAlias",
    )
    assert list(net_a.private_endpoints.list(A_RG)) == []


def test_unknown_resource_group_and_parent(net_a) -> None:
    assert refused(lambda: net_a.private_endpoints.begin_create_or_update("rg-nope", "pe", pe_body("x"))) == (
        404,
        "ResourceGroupNotFound",
    )
    assert refused(lambda: net_a.subnets.get(A_RG, "no-such-vnet", "default")) == (
        404,
        "ParentResourceNotFound",
    )
    assert refused(
        lambda: net_a.private_link_services.get_private_endpoint_connection(A_RG, "no-pls", "c")
    ) == (
        404,
        "ParentResourceNotFound",
    )
    assert refused(lambda: net_a.private_endpoints.get(A_RG, "missing")) == (404, "ResourceNotFound")


def test_reference_to_a_missing_subnet(net_a) -> None:
    body = pe_body("x")
    body["properties"]["subnet"]["id"] = A_SUBNET.replace("/default", "/missing")
    assert refused(lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", body)) == (
        400,
        "InvalidResourceReference",
    )


@pytest.mark.parametrize("name", ["-starts-with-dash", "ends-with-dot.", "has space", "x" * 81, "semi;colon"])
def test_names_that_break_azure_rules(net_b, name: str) -> None:
    assert refused(lambda: net_b.load_balancers.begin_create_or_update(B_RG, name, lb_body())) == (
        400,
        "InvalidResourceName",
    )


@pytest.mark.parametrize("name", ["p", "p" * 65, "p" * 70])
def test_private_endpoint_names_take_2_to_64_characters(net_a, net_b, name: str) -> None:
    """Azure's rule for privateEndpoints (resource-name-rules.md): 2-64, not the network default 80."""
    alias = expose(net_b).alias
    status, code = refused(lambda: net_a.private_endpoints.begin_create_or_update(A_RG, name, pe_body(alias)))
    assert (status, code) == (400, "InvalidResourceName")
    assert list(net_a.private_endpoints.list(A_RG)) == []


def test_a_64_character_endpoint_name_is_accepted(net_a, net_b) -> None:
    alias = expose(net_b).alias
    assert (
        net_a.private_endpoints.begin_create_or_update(A_RG, "p" * 64, pe_body(alias)).result().name
        == "p" * 64
    )


def test_request_message_over_140_characters(net_a, net_b) -> None:
    pls = expose(net_b)
    assert refused(
        lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body(pls.alias, "x" * 141))
    ) == (
        400,
        "PrivateEndpointRequestMessageTooLong",
    )
    ok = net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body(pls.alias, "x" * 140)).result()
    assert ok.manual_private_link_service_connections[0].request_message == "x" * 140


def test_deleting_a_load_balancer_that_a_pls_uses(net_b) -> None:
    expose(net_b)
    assert refused(lambda: net_b.load_balancers.begin_delete(B_RG, "lb-rdp")) == (
        400,
        "LoadBalancerInUseByPrivateLinkService",
    )
    assert net_b.load_balancers.get(B_RG, "lb-rdp").provisioning_state == "Succeeded"


def test_automatic_connection_without_auto_approval(net_a, net_b) -> None:
    pls = expose(net_b)
    assert refused(
        lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body(pls.alias, manual=False))
    ) == (
        403,
        "LinkedAuthorizationFailed",
    )


def test_policies_cannot_be_enabled_under_a_pls(net_b) -> None:
    expose(net_b)
    subnet = net_b.subnets.get(B_RG, "temp-vnet", "default")
    subnet.private_link_service_network_policies = "Enabled"
    assert refused(lambda: net_b.subnets.begin_create_or_update(B_RG, "temp-vnet", "default", subnet)) == (
        400,
        "PrivateLinkServiceNetworkPoliciesCannotBeEnabledOnPrivateLinkServiceSubnet",
    )


def _static_lb(ip: str) -> dict:
    return lb_body(
        frontend={"subnet": {"id": B_SUBNET}, "privateIPAllocationMethod": "Static", "privateIPAddress": ip}
    )


@pytest.mark.parametrize(
    ("ip", "code"),
    [
        ("10.2.0.5", "PrivateIPAddressInUse"),
        ("10.9.0.7", "PrivateIPAddressNotInSubnet"),
        ("10.2.0.2", "PrivateIPAddressIsReserved"),
        ("10.2.0.255", "PrivateIPAddressIsReserved"),
    ],
)
def test_static_addresses(net_b, ip: str, code: str) -> None:
    assert refused(lambda: net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", _static_lb(ip))) == (
        400,
        code,
    )
    assert net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", _static_lb("10.2.0.200")).result()


def test_a_full_subnet(net_b) -> None:
    vnet = net_b.virtual_networks.get(B_RG, "temp-vnet")
    net_b.subnets.begin_create_or_update(
        B_RG, "temp-vnet", "tiny", {"properties": {"addressPrefix": "10.2.1.0/29"}}
    ).result()
    assert vnet.subnets  # the /29 holds 8 addresses, of which Azure reserves 5
    tiny = f"{vnet.id}/subnets/tiny"
    body = lb_body(frontend={"subnet": {"id": tiny}})
    frontends = [{"name": f"fe{i}", "properties": {"subnet": {"id": tiny}}} for i in range(4)]
    body["properties"]["frontendIPConfigurations"] = frontends
    body["properties"]["loadBalancingRules"] = []
    assert refused(lambda: net_b.load_balancers.begin_create_or_update(B_RG, "lb", body)) == (
        400,
        "SubnetIsFull",
    )
    body["properties"]["frontendIPConfigurations"] = frontends[:3]
    lb = net_b.load_balancers.begin_create_or_update(B_RG, "lb", body).result()
    assert [f.private_ip_address for f in lb.frontend_ip_configurations] == [
        "10.2.1.4",
        "10.2.1.5",
        "10.2.1.6",
    ]


def test_a_refused_request_leaves_nothing_behind(net_b) -> None:
    """The second NAT IP is refused, so the first one's address and the service's NIC must not remain."""
    create_lb(net_b)
    disable_pls_policies(net_b)
    body = pls_body(nat_ips=2)
    body["properties"]["ipConfigurations"][1]["properties"] |= {
        "privateIPAllocationMethod": "Static",
        "privateIPAddress": "10.2.0.5",
    }
    assert refused(lambda: net_b.private_link_services.begin_create_or_update(B_RG, "pls", body)) == (
        400,
        "PrivateIPAddressInUse",
    )
    assert [n.name for n in net_b.network_interfaces.list(B_RG)] == ["vm-win2019-2-nic"]
    pls = net_b.private_link_services.begin_create_or_update(B_RG, "pls", pls_body()).result()
    nic = net_b.network_interfaces.get(B_RG, pls.network_interfaces[0].id.rsplit("/", 1)[1])
    assert nic.ip_configurations[0].private_ip_address == "10.2.0.6"


def test_subscription_scope(sandbox, credential) -> None:
    stranger = network_client(sandbox, credential, "33333333-3333-3333-3333-333333333333")
    assert refused(lambda: list(stranger.virtual_networks.list_all())) == (404, "SubscriptionNotFound")
    sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": False})
    try:
        denied = network_client(sandbox, credential, TEAM_B)
        assert refused(lambda: list(denied.private_link_services.list_by_subscription())) == (
            403,
            "AuthorizationFailed",
        )
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": True})


def test_calls_without_a_token_it_issued(sandbox) -> None:
    url = f"{sandbox.arm_url}/subscriptions/{TEAM_B}/providers/Microsoft.Network/privateLinkServices?api-version=2026-03-01"
    missing = requests.get(url, verify=sandbox.ca_bundle, timeout=10)
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "AuthenticationFailed")
    forged = requests.get(
        url,
        headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"},
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")


def test_endpoint_static_addresses(net_a, net_b) -> None:
    pls = expose(net_b)
    body = pe_body(pls.alias)
    config = {
        "name": "ip",
        "properties": {"groupId": "g", "memberName": "m", "privateIPAddress": "192.168.9.9"},
    }
    body["properties"]["ipConfigurations"] = [config]
    assert refused(lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", body)) == (
        400,
        "PrivateIPAddressNotInSubnet",
    )
    body["properties"]["ipConfigurations"] = [config, config]
    assert refused(lambda: net_a.private_endpoints.begin_create_or_update(A_RG, "pe", body)) == (
        400,
        "PrivateEndpointIpConfigurationCountExceeded",
    )
    config["properties"]["privateIPAddress"] = "10.0.0.40"
    body["properties"]["ipConfigurations"] = [config]
    pe = net_a.private_endpoints.begin_create_or_update(A_RG, "pe", body).result()
    nic = net_a.network_interfaces.get(A_RG, pe.network_interfaces[0].id.rsplit("/", 1)[1])
    assert nic.ip_configurations[0].private_ip_address == "10.0.0.40"
