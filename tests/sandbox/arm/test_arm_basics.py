"""ARM's own surface and its api-version rule, as the real SDK meets them.

Where no SDK natlink depends on covers a call (azure-mgmt-resource is not a dependency), the
request goes through a management client's own pipeline with ``send_request``: the same
authentication, retry and error handling the operations get.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm import apiversions
from tests.arm_story import B_RG, LB_ID, create_lb
from tests.conftest import TEAM_A, TEAM_B


def _client(sandbox: Any, credential: Any, sub: str, **kwargs: Any) -> NetworkManagementClient:
    return NetworkManagementClient(
        credential,
        sub,
        base_url=sandbox.arm_url,
        connection_verify=sandbox.ca_bundle,
        polling_interval=0.05,
        **kwargs,
    )


def _send(client: Any, method: str, url: str, body: Any = None) -> Any:
    response = client.send_request(HttpRequest(method, url, json=body))
    return response.status_code, (response.json() if response.text() else None)


# ------------------------------------------------------------ api-versions
def test_every_version_natlinks_sdks_send_is_one_arm_lists() -> None:
    from azure.mgmt.compute.operations import _operations as compute_ops
    from azure.mgmt.monitor.operations import _metrics_operations as metrics_ops
    from azure.mgmt.network.operations import _operations as network_ops

    def version(request: HttpRequest) -> str:
        return parse_qs(urlsplit(request.url).query)["api-version"][0]

    sent = {
        "network": version(network_ops.build_load_balancers_get_request("rg", "lb", "s")),
        "compute": version(compute_ops.build_virtual_machines_list_all_request("s")),
        "metrics": version(metrics_ops.build_list_at_subscription_scope_request("s", region="x")),
    }
    assert sent["network"] in apiversions.NETWORK and sent["network"] in apiversions.PRIVATE_LINK
    assert sent["compute"] in apiversions.COMPUTE
    assert sent["metrics"] in apiversions.SUBSCRIPTION_METRICS


def test_an_older_version_arm_lists_is_served(sandbox, credential) -> None:
    net = _client(sandbox, credential, TEAM_B)
    assert net.virtual_networks.get(B_RG, "temp-vnet", api_version="2017-06-01").name == "temp-vnet"


def test_a_version_arm_does_not_list_is_refused_as_arm_refuses_it(sandbox, credential, net_b) -> None:
    create_lb(net_b)
    future = {"api_version": "2099-01-01"}  # a per-call api_version, as the SDK's operations take it
    with pytest.raises(HttpResponseError) as got:  # the resource exists: ARM knows its region
        net_b.load_balancers.get(B_RG, "lb-rdp", **future)
    assert (got.value.status_code, got.value.error.code) == (400, "NoRegisteredProviderFound")
    assert (
        "for location 'japaneast' and API version '2099-01-01' for type 'loadBalancers'" in got.value.message
    )
    assert "2026-03-01" in got.value.message
    with pytest.raises(HttpResponseError) as got:  # a list has no region
        list(net_b.load_balancers.list(B_RG, **future))
    assert (got.value.status_code, got.value.error.code) == (400, "InvalidResourceType")
    assert (
        "could not be found in the namespace 'Microsoft.Network' for api version '2099-01-01'"
        in got.value.message
    )


def test_a_refused_put_changes_nothing(sandbox, credential, net_b) -> None:
    with pytest.raises(HttpResponseError) as got:
        net_b.load_balancers.begin_create_or_update(
            B_RG, "lb-new", {"location": "japaneast"}, api_version="2099-01-01"
        ).result()
    assert got.value.error.code == "NoRegisteredProviderFound"
    assert [lb.name for lb in net_b.load_balancers.list(B_RG)] == []


def test_private_link_types_start_at_2019_04_01(sandbox, credential) -> None:
    net = _client(sandbox, credential, TEAM_B)
    assert [v.name for v in net.virtual_networks.list(B_RG, api_version="2019-02-01")] == ["temp-vnet"]
    with pytest.raises(HttpResponseError) as got:
        list(net.private_link_services.list(B_RG, api_version="2019-02-01"))
    assert got.value.error.code == "InvalidResourceType" and "'2019-04-01" in got.value.message


def test_compute_and_arm_own_versions(sandbox, credential) -> None:
    compute = ComputeManagementClient(
        credential,
        TEAM_B,
        base_url=sandbox.arm_url,
        connection_verify=sandbox.ca_bundle,
    )
    assert {vm.name for vm in compute.virtual_machines.list_all(api_version="2019-07-01")} == {"VM-Win2019-2"}
    with pytest.raises(HttpResponseError) as got:
        list(compute.virtual_machines.list_all(api_version="2026-03-02"))
    assert got.value.error.code == "InvalidResourceType" and "'Microsoft.Compute'" in got.value.message
    net = _client(sandbox, credential, TEAM_A)
    status, body = _send(net, "GET", "/subscriptions?api-version=2099-01-01")
    assert (status, body["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert body["error"]["message"].startswith(
        "The api-version '2099-01-01' is invalid. The supported versions are '2025-04-01,2025-03-01,"
    )
    status, body = _send(net, "GET", "/subscriptions")
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")


# ------------------------------------------- subscriptions, groups, regions
def test_subscriptions_carry_their_tenant(sandbox, credential) -> None:
    net = _client(sandbox, credential, TEAM_A)
    status, listed = _send(net, "GET", "/subscriptions?api-version=2022-12-01")
    assert status == 200
    assert {s["subscriptionId"]: s["tenantId"] for s in listed["value"]} == {
        TEAM_A: sandbox.config["tenant_id"],
        TEAM_B: sandbox.config["tenant_id"],
    }
    status, one = _send(net, "GET", f"/subscriptions/{TEAM_A}?api-version=2022-12-01")
    assert (status, one["state"], one["displayName"]) == (200, "Enabled", "Team A")


def test_resource_groups_are_listed_created_and_keep_their_region(sandbox, credential) -> None:
    net = _client(sandbox, credential, TEAM_B)
    base = f"/subscriptions/{TEAM_B}/resourcegroups"
    status, listed = _send(net, "GET", f"{base}?api-version=2024-11-01")
    names = [g["name"] for g in listed["value"]]
    # Sorted by name; NetworkWatcherRG is Azure's, made with the subscription's first VNet.
    assert (
        status == 200
        and names == sorted(names, key=str.lower)
        and {"rg-team-b", "NetworkWatcherRG"} <= set(names)
    )
    status, made = _send(net, "PUT", f"{base}/rg-new?api-version=2024-11-01", {"location": "japaneast"})
    assert (status, made["location"], made["properties"]["provisioningState"]) == (
        201,
        "japaneast",
        "Succeeded",
    )
    status, again = _send(
        net, "PUT", f"{base}/rg-new?api-version=2024-11-01", {"location": "japaneast", "tags": {"team": "b"}}
    )
    assert (status, again["tags"]) == (200, {"team": "b"})
    assert _send(net, "GET", f"{base}/rg-new?api-version=2024-11-01")[1]["tags"] == {"team": "b"}
    status, moved = _send(net, "PUT", f"{base}/rg-new?api-version=2024-11-01", {"location": "westus"})
    assert (status, moved["error"]["code"]) == (409, "InvalidResourceGroupLocation")
    # The new group holds resources like any other.
    vnet = net.virtual_networks.begin_create_or_update(
        "rg-new",
        "vnet-new",
        {"location": "japaneast", "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}}},
    ).result()
    assert vnet.id.startswith(f"{base}/rg-new/".replace("resourcegroups", "resourceGroups"))


def test_regions_and_provider_registrations(sandbox, credential) -> None:
    net = _client(sandbox, credential, TEAM_B)
    status, regions = _send(net, "GET", f"/subscriptions/{TEAM_B}/locations?api-version=2022-12-01")
    assert (
        status == 200
        and {"name": "japaneast", "displayName": "Japan East"}.items()
        <= next(r for r in regions["value"] if r["name"] == "japaneast").items()
    )
    status, network = _send(
        net, "GET", f"/subscriptions/{TEAM_B}/providers/Microsoft.Network?api-version=2024-11-01"
    )
    assert (status, network["namespace"], network["registrationState"]) == (
        200,
        "Microsoft.Network",
        "Registered",
    )
    types = {t["resourceType"]: t for t in network["resourceTypes"]}
    assert types["loadBalancers"]["apiVersions"][0] == "2026-03-01"
    assert types["privateLinkServices"]["apiVersions"][-1] == "2019-04-01"
    assert "Japan East" in types["privateEndpoints"]["locations"]
    status, everything = _send(net, "GET", f"/subscriptions/{TEAM_B}/providers?api-version=2024-11-01")
    assert {"Microsoft.Network", "Microsoft.Compute", "Microsoft.Insights"} <= {
        p["namespace"] for p in everything["value"]
    }
    status, unknown = _send(
        net, "GET", f"/subscriptions/{TEAM_B}/providers/Microsoft.Nope?api-version=2024-11-01"
    )
    assert (status, unknown["error"]["code"]) == (404, "InvalidResourceNamespace")


def test_the_generic_resource_list_and_its_filter(sandbox, credential, net_b) -> None:
    create_lb(net_b)
    net = _client(sandbox, credential, TEAM_B)
    status, everything = _send(net, "GET", f"/subscriptions/{TEAM_B}/resources?api-version=2024-11-01")
    assert status == 200
    types = {r["type"] for r in everything["value"]}
    assert {"Microsoft.Network/loadBalancers", "Microsoft.Network/virtualNetworks"} <= types
    assert not any("/" in r["name"] for r in everything["value"])  # top-level resources only
    assert all("properties" not in r for r in everything["value"])
    query = "$filter=resourceType eq 'Microsoft.Network/loadBalancers' and name eq 'LB-RDP'&api-version=2024-11-01"
    status, found = _send(net, "GET", f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/resources?{query}")
    assert [r["id"] for r in found["value"]] == [LB_ID]
    status, none = _send(
        net, "GET", f"/subscriptions/{TEAM_B}/resourceGroups/rg-other/resources?api-version=2024-11-01"
    )
    assert (status, none["error"]["code"]) == (404, "ResourceGroupNotFound")
    status, bad = _send(
        net,
        "GET",
        f"/subscriptions/{TEAM_B}/resources?$filter=substringof('lb', name)&api-version=2024-11-01",
    )
    assert (status, bad["error"]["code"]) == (400, "InvalidFilterInQueryString")


# -------------------------------------------------- load balancer children
def test_load_balancer_children_have_their_own_endpoints(net_b) -> None:
    create_lb(net_b)
    pools = list(net_b.load_balancer_backend_address_pools.list(B_RG, "lb-rdp"))
    assert [p.name for p in pools] == ["pool"]
    pool = net_b.load_balancer_backend_address_pools.get(B_RG, "lb-rdp", "pool")
    assert [c.id.split("/")[8] for c in pool.backend_ip_configurations] == ["vm-win2019-2-nic"]
    assert net_b.load_balancer_probes.get(B_RG, "lb-rdp", "rdp").port == 3389
    assert [p.name for p in net_b.load_balancer_probes.list(B_RG, "lb-rdp")] == ["rdp"]
    rule = net_b.load_balancer_load_balancing_rules.get(B_RG, "lb-rdp", "tcp-3389")
    assert (rule.frontend_port, rule.backend_port) == (3389, 3389)
    frontend = net_b.load_balancer_frontend_ip_configurations.get(B_RG, "lb-rdp", "fe")
    assert frontend.private_ip_address == "10.2.0.4"
    assert [f.name for f in net_b.load_balancer_frontend_ip_configurations.list(B_RG, "lb-rdp")] == ["fe"]
    assert list(net_b.inbound_nat_rules.list(B_RG, "lb-rdp")) == []
    with pytest.raises(HttpResponseError) as got:
        net_b.load_balancer_probes.get(B_RG, "lb-rdp", "nope")
    assert got.value.status_code == 404
    with pytest.raises(HttpResponseError) as got:
        list(net_b.load_balancer_probes.list(B_RG, "lb-nope"))
    assert (got.value.status_code, got.value.error.code) == (404, "ResourceNotFound")


def test_a_backend_pool_is_put_on_its_own(net_b) -> None:
    """LoadBalancerBackendAddressPools_CreateOrUpdate, as `az network lb address-pool create` sends it."""
    create_lb(net_b)
    made = net_b.load_balancer_backend_address_pools.begin_create_or_update(
        B_RG, "lb-rdp", "pool-2", {}
    ).result()
    assert (made.name, made.provisioning_state) == ("pool-2", "Succeeded")
    lb = net_b.load_balancers.get(B_RG, "lb-rdp")
    assert [p.name for p in lb.backend_address_pools] == ["pool", "pool-2"]
    assert lb.load_balancing_rules[0].name == "tcp-3389"  # the rest of the LB is kept
    again = net_b.load_balancer_backend_address_pools.begin_create_or_update(
        B_RG, "lb-rdp", "pool", {}
    ).result()
    assert [c.id.split("/")[8] for c in again.backend_ip_configurations] == ["vm-win2019-2-nic"]
    with pytest.raises(HttpResponseError) as got:
        net_b.load_balancer_backend_address_pools.begin_create_or_update(B_RG, "lb-nope", "pool", {}).result()
    assert (got.value.status_code, got.value.error.code) == (404, "ResourceNotFound")
