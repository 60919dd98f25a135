"""The converter reads Azure's own example payloads, typos and mixed case included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from azure.mgmt.network.models import NetworkInterface, PrivateEndpoint, PrivateLinkService

from cloud.convert import Resources, endpoint, nic_addresses, service
from cloud.mapping import mappings
from cloud.model import Snapshot
from tests.conftest import SHARED

EXAMPLES = SHARED / "reference" / "azure-network-examples"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())["responses"]["200"]["body"]


def test_a_service_with_a_static_nat_ip_and_no_listed_nic() -> None:
    pls = service(PrivateLinkService(example("PrivateLinkServiceGet.json")), Resources())
    assert (pls.name, pls.subscription, pls.resource_group, pls.location) == (
        "testPls",
        "subId",
        "rg1",
        "eastus",
    )
    assert pls.nat_ips == ("10.0.1.4",) and pls.alias == "ContosoService.{guid}.azure.privatelinkservice"
    assert (pls.visibility, pls.auto_approval) == (
        ("subscription1", "subscription2", "subscription3"),
        ("subscription1", "subscription2"),
    )
    assert (pls.frontend_ip, pls.ports, pls.backends) == (None, (), ())
    (connection,) = pls.connections
    assert (connection.status, connection.description) == ("Approved", "approved it for some reason.")
    assert connection.private_endpoint_id.endswith("/privateEndpoints/testPe")
    assert (connection.endpoint_subscription, connection.token) == ("subId", None)


def test_the_service_nat_ip_comes_from_its_nic_despite_the_typo_in_the_id() -> None:
    body = example("PrivateLinkServiceGet.json")
    nat_nic_id = body["properties"]["networkInterfaces"][0]["id"]
    assert "/provders/" in nat_nic_id
    nic = example("NetworkInterfaceGet.json") | {"id": nat_nic_id.upper()}
    resources = Resources.index(nics=[NetworkInterface(nic)])
    assert service(PrivateLinkService(body), resources).nat_ips == ("172.20.2.4", "172.20.2.16")


def test_a_nic_lists_its_primary_address_first_without_the_prefix_length() -> None:
    nic = NetworkInterface(example("NetworkInterfaceGet.json"))
    assert nic_addresses(nic) == ("172.20.2.4", "172.20.2.16")


def test_an_endpoint_with_static_ip_configurations() -> None:
    body = example("PrivateEndpointGet.json")
    pe = endpoint(PrivateEndpoint(body), Resources())
    assert (pe.name, pe.subscription, pe.ip, pe.vnet_name, pe.status) == (
        "testPe",
        "subId",
        "192.168.0.6",
        "myVnet",
        "Approved",
    )
    assert pe.target.endswith("/privateLinkServices/testPls") and pe.subnet_vms == ()


def test_the_examples_map_end_to_end_with_ids_in_different_case() -> None:
    pls = PrivateLinkService(example("PrivateLinkServiceGet.json"))
    pe_body = example("PrivateEndpointGet.json")
    pe_body["properties"]["privateLinkServiceConnections"][0]["properties"]["requestMessage"] = (
        "natlink:Ab3_x9 carol"
    )
    pe = PrivateEndpoint(pe_body | {"id": pe_body["id"].lower()})
    resources = Resources.index(endpoints=[pe])
    taken = Snapshot(
        taken_at=datetime.now(UTC),
        subscriptions=("subId",),
        services=(service(pls, resources),),
        endpoints=(endpoint(pe, resources),),
        unreadable=(),
    )
    (mapping,) = mappings(taken)
    assert (mapping.consumer_visible, mapping.pe_ip, mapping.nat_ips) == (True, "192.168.0.6", ("10.0.1.4",))
    assert (mapping.port, mapping.backend_ip) == (None, None)
    assert taken.services[0].connections[0].token == "natlink:Ab3_x9"
