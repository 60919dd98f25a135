"""The sweep reads list pages as JSON through the SDK's pipeline; the converter takes JSON or SDK models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.mgmt.network.models import NetworkInterface, PrivateEndpoint, PrivateLinkService

from cloud.clients import Clients
from cloud.convert import Resources, endpoint, nic_addresses, power_state, service
from cloud.inventory import snapshot
from sandbox.arm.launch import RunningSandbox
from tests.cloud.arm_log import clients_for, requests
from tests.conftest import SHARED

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
