"""The sweep reads list pages as JSON through the SDK's pipeline, streamed a subscription at a time; the
converter takes JSON or SDK models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.mgmt.compute.operations import _operations as compute_ops
from azure.mgmt.network.models import NetworkInterface, PrivateEndpoint, PrivateLinkService
from azure.mgmt.network.operations import _operations as net_ops

from cloud.clients import Clients
from cloud.convert import Resources, endpoint, nic_addresses, power_state, service
from cloud.expose import LbTarget
from cloud.expose import expose as expose_on_lb
from cloud.inventory import pages, scale_sets_in_pools, snapshot
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_RG, B_RG, expose, pe_body
from tests.cloud.arm_log import clients_for, requests
from tests.conftest import SHARED, TEAM_A, TEAM_B
from tests.sandbox.arm.test_scale_sets import build_aks

EXAMPLES = SHARED / "reference" / "azure-network-examples"
SUBNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())["responses"]["200"]["body"]


def nic(name: str, vm: str | None, subnet: str, ip: str | None) -> dict[str, Any]:
    """A listed NIC as ARM returns it, with fields natlink does not know about."""
    vm_ref = {"id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{vm}"}
    config = {"subnet": {"id": subnet}, "privateIPAddress": ip, "primary": True, "futureField": [1]}
    return {
        "id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/{name}",
        "futureTopLevel": {"x": 1},
        "properties": {
            "virtualMachine": vm_ref if vm else None,
            "ipConfigurations": [{"properties": config}],
        },
    }


@pytest.mark.parametrize("raw", [False, True], ids=["sdk-models", "rest-json"])
def test_the_converter_reads_sdk_models_and_rest_json_alike(raw: bool) -> None:
    pls_body, nic_body = example("PrivateLinkServiceGet.json"), example("NetworkInterfaceGet.json")
    nic_body |= {"id": pls_body["properties"]["networkInterfaces"][0]["id"].upper()}
    pe_body = example("PrivateEndpointGet.json")
    pls, pe, nat_nic = (
        (pls_body, pe_body, nic_body)
        if raw
        else (PrivateLinkService(pls_body), PrivateEndpoint(pe_body), NetworkInterface(nic_body))
    )
    resources = Resources.index(nics=[nat_nic], endpoints=[pe])
    converted = service(pls, resources)
    assert converted.nat_ips == ("172.20.2.4", "172.20.2.16"), "a dynamic NAT IP is read from the NIC"
    assert converted.visibility == ("subscription1", "subscription2", "subscription3")
    assert converted.provisioning_state == "Succeeded" and converted.connections[0].status == "Approved"
    assert endpoint(pe, resources).ip == "192.168.0.6" and nic_addresses(nat_nic) == converted.nat_ips


def test_the_vms_sharing_an_endpoints_subnet_are_indexed_once_per_subnet() -> None:
    nics = [
        nic("a", "vm-a", SUBNET, "10.0.0.4"),
        nic("b", "vm-b", SUBNET.upper(), "10.0.0.7"),  # IDs are compared case-insensitively
        nic("pe-nic", None, SUBNET, "10.0.0.5"),  # the endpoint's own NIC belongs to no VM
        nic("c", "vm-c", SUBNET.replace("/pe", "/other"), "10.0.1.4"),
        nic("d", "vm-d", SUBNET, None),
    ]
    resources = Resources.index(nics=nics)
    pe = {
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe",
        "properties": {
            "subnet": {"id": SUBNET},
            "networkInterfaces": [{"id": nics[2]["id"].upper()}],
        },
    }
    converted = endpoint(pe, resources)
    assert [(v.name, v.ip) for v in converted.subnet_vms] == [("vm-a", "10.0.0.4"), ("vm-b", "10.0.0.7")]
    assert (converted.ip, converted.vnet_name, converted.status) == ("10.0.0.5", "vnet", None)


def test_power_state_reads_json_and_objects() -> None:
    class Status:
        code = "PowerState/deallocated"

    assert power_state([{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}]) == "running"
    assert (power_state([Status()]), power_state([])) == ("deallocated", None)


def generated(sandbox: RunningSandbox) -> tuple[list[str], Clients]:
    """A generated world of three subscriptions and natlink's clients for it, with no token yet."""
    spec = {"subscriptions": 3, "services": 4, "endpoints": 2}
    subs = sandbox.control("POST", "generate", spec)["subscriptions"]
    sandbox.control("DELETE", "requests")
    return subs, clients_for(sandbox, subs)


def test_the_first_sweep_fetches_one_token_for_all_subscriptions(
    sandbox: RunningSandbox, azure_env: dict[str, str]
) -> None:
    subs, clients = generated(sandbox)
    taken = snapshot(clients, subs)
    assert (len(taken.services), len(taken.endpoints), taken.unreadable) == (4, 8, ())
    assert len(requests(sandbox, "POST", "/oauth2/")) == 1


def test_a_throttled_list_page_is_retried_by_the_sdk_pipeline(
    sandbox: RunningSandbox, azure_env: dict[str, str]
) -> None:
    subs, clients = generated(sandbox)
    path = f"/subscriptions/{subs[1]}/providers/Microsoft.Network/privateEndpoints$"
    sandbox.control(
        "POST",
        "faults",
        {
            "method": "GET",
            "path": path,
            "status": 429,
            "code": "TooManyRequests",
            "count": 2,
            "retry_after": 0,
        },
    )
    taken = snapshot(clients, subs)
    assert [r["status"] for r in requests(sandbox, "GET", path)] == [429, 429, 200]
    assert (len(taken.endpoints), taken.unreadable) == (8, ())


def whole_estate(clients: Clients, subs: list[str]) -> tuple[list, list]:
    """The services and endpoints as the sweep made them before it streamed: every subscription's
    JSON held at once, indexed together, then converted."""
    listed: dict[str, list] = {"pls": [], "pe": [], "nic": [], "lb": []}
    power: dict[str, str] = {}
    names: dict[str, str] = {}
    for sub in subs:
        network, compute = clients.network(sub).send_request, clients.compute(sub).send_request
        for kind, build in (
            ("pls", net_ops.build_private_link_services_list_by_subscription_request),
            ("pe", net_ops.build_private_endpoints_list_by_subscription_request),
            ("nic", net_ops.build_network_interfaces_list_all_request),
            ("lb", net_ops.build_load_balancers_list_all_request),
        ):
            listed[kind] += pages(network, build(sub))
        for vm in pages(
            compute, compute_ops.build_virtual_machines_list_all_request(sub, status_only="true")
        ):
            if state := power_state(vm["properties"].get("instanceView", {}).get("statuses", [])):
                power[vm["id"]] = state
        for group, scale_set in scale_sets_in_pools(listed["lb"], sub):
            listed["nic"] += pages(
                network,
                net_ops.build_network_interfaces_list_virtual_machine_scale_set_network_interfaces_request(
                    group, scale_set, sub
                ),
            )
            vms = compute_ops.build_virtual_machine_scale_set_vms_list_request(
                group, scale_set, sub, expand="instanceView"
            )
            for vm in pages(compute, vms):
                names[vm["id"]] = vm["name"]
                if state := power_state(vm["properties"].get("instanceView", {}).get("statuses", [])):
                    power[vm["id"]] = state
    resources = Resources.index(listed["nic"], listed["lb"], listed["pe"], power, names)
    return [service(p, resources) for p in listed["pls"]], [endpoint(e, resources) for e in listed["pe"]]


def test_streamed_pages_give_the_records_the_whole_estate_at_once_gave(
    sandbox: RunningSandbox, clients: Clients, net_a, net_b, compute_b
) -> None:
    build_aks(net_b, compute_b)  # a pool of scale set instances: their NICs are listed apart
    expose_on_lb(clients, "aks", LbTarget("kubernetes-internal", "fe"), visibility=[TEAM_A])
    pls = expose(net_b)
    net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-decided", pe_body(pls.alias, "natlink:req-9")
    ).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")
    connection.private_link_service_connection_state.status = "Approved"
    connection.private_link_service_connection_state.description = "approved in the portal"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "pls-rdp", connection.name, connection
    )
    sandbox.control("PUT", "settings", {"page_size": 2})  # every list streams in several pages
    subs = [TEAM_A, TEAM_B]

    streamed = snapshot(clients, subs)

    services, endpoints = whole_estate(clients, subs)
    assert list(streamed.services) == services and list(streamed.endpoints) == endpoints
    decided = next(s for s in streamed.services if s.name == "pls-rdp").connections[0]
    assert (decided.status, decided.token) == ("Approved", "natlink:req-9"), (
        "the token comes from the endpoint's message, read in the other subscription"
    )
    assert any(b.kind == "scale set instance" for s in streamed.services for b in s.backends)
