"""The seed story's double NAT, read back by natlink's inventory and mapping."""

from __future__ import annotations

import pytest
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.inventory import snapshot
from cloud.mapping import mappings
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_RG, B_RG, expose, pe_body
from tests.conftest import TEAM_A, TEAM_B


@pytest.fixture
def approved(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> str:
    """The seed story up to an approved connection; returns the private endpoint's ID."""
    pls = expose(net_b)
    body = pe_body(pls.alias, "natlink:req-1 bob")
    pe = net_a.private_endpoints.begin_create_or_update(A_RG, "pe-rdp", body).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")
    connection.private_link_service_connection_state.status = "Approved"
    connection.private_link_service_connection_state.description = "approved by alice"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "pls-rdp", connection.name, connection
    )
    return pe.id


def test_the_seed_story_maps_as_the_topology_says(clients: Clients, approved: str) -> None:
    (mapping,) = mappings(snapshot(clients, [TEAM_A, TEAM_B]))
    assert (mapping.service, mapping.status, mapping.consumer_visible) == ("pls-rdp", "Approved", True)
    assert (mapping.pe_ip, mapping.port, mapping.nat_ips) == ("10.0.0.5", 3389, ("10.2.0.6",))
    assert (mapping.frontend_ip, mapping.backend_ip, mapping.backend_port) == ("10.2.0.4", "10.2.0.5", 3389)
    assert (mapping.consumer_vm, mapping.consumer_source_ip) == ("VM-Win2019", "10.0.0.4")
    assert mapping.consumer_destination == "10.0.0.5:3389"
    assert mapping.backend_source == ("10.2.0.6",)


def test_the_snapshot_carries_services_connections_and_endpoints(clients: Clients, approved: str) -> None:
    taken = snapshot(clients, [TEAM_A, TEAM_B])
    (service,) = taken.services
    assert (service.subscription, service.resource_group, service.location) == (TEAM_B, B_RG, "japaneast")
    assert service.alias.startswith("pls-rdp.") and service.visibility == (TEAM_A,)
    assert service.ports == ((3389, 3389),) and service.provisioning_state == "Succeeded"
    (backend,) = service.backends
    assert (backend.vm_name, backend.ip, backend.port, backend.power_state) == (
        "VM-Win2019-2",
        "10.2.0.5",
        3389,
        "running",
    )
    (connection,) = service.connections
    assert connection.private_endpoint_id.lower() == approved.lower()
    assert (connection.endpoint_subscription, connection.token) == (TEAM_A, "natlink:req-1")
    (endpoint,) = taken.endpoints
    assert (endpoint.name, endpoint.ip, endpoint.vnet_name, endpoint.status) == (
        "pe-rdp",
        "10.0.0.5",
        "RG-normal-vnet",
        "Approved",
    )
    assert taken.unreadable == ()


def test_an_unreadable_consumer_subscription_is_not_guessed(
    sandbox: RunningSandbox, clients: Clients, approved: str
) -> None:
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    try:
        taken = snapshot(clients, [TEAM_A, TEAM_B])
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": True})
    (unreadable,) = taken.unreadable
    assert (unreadable.subscription, unreadable.code) == (TEAM_A, "AuthorizationFailed")
    (mapping,) = mappings(taken)
    assert (mapping.consumer_visible, mapping.pe_ip, mapping.consumer_destination) == (False, None, None)
    assert (mapping.nat_ips, mapping.backend_ip, mapping.status) == (("10.2.0.6",), "10.2.0.5", "Approved")


def test_a_stopped_backend_shows_its_power_state(
    sandbox: RunningSandbox, clients: Clients, approved: str
) -> None:
    sandbox.control(
        "POST",
        "power",
        {
            "vm": f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/"
            "Microsoft.Compute/virtualMachines/VM-Win2019-2",
            "state": "stopped",
        },
    )
    (service,) = snapshot(clients, [TEAM_B]).services
    assert [b.power_state for b in service.backends] == ["stopped"]
