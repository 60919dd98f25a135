"""The provider's decisions through cloud/ alone, and the seed story's mapping at the end."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.decide import decide, remove_access
from cloud.endpoints import request_endpoint
from cloud.errors import CloudError
from cloud.expose import VmTarget, expose
from cloud.inventory import snapshot
from cloud.mapping import mappings
from cloud.model import Endpoint, Service
from sandbox.arm.launch import RunningSandbox
from tests.cloud.arm_log import requests
from tests.conftest import TEAM_A, TEAM_B


@pytest.fixture
def service(clients: Clients) -> Service:
    return expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], visibility=[TEAM_A])


@pytest.fixture
def endpoint(clients: Clients, service: Service) -> Endpoint:
    return request_endpoint(clients, service.alias, "VM-Win2019", "pe-rdp", "natlink:req-1", "bob", "RDP")


def test_the_seed_story_through_cloud_alone(clients: Clients, service: Service, endpoint: Endpoint) -> None:
    connection = decide(clients, service.id, "natlink:req-1", "approve", "approved by alice")
    assert (connection.status, connection.token) == ("Approved", "natlink:req-1")
    assert connection.description == "natlink:req-1 approved by alice"
    (mapping,) = mappings(snapshot(clients, [TEAM_A, TEAM_B]))
    assert (mapping.consumer_source_ip, mapping.consumer_destination) == ("10.0.0.4", "10.0.0.5:3389")
    assert mapping.backend_source == ("10.2.0.6",)
    assert (mapping.frontend_ip, mapping.port) == ("10.2.0.4", 3389)
    assert (mapping.backend_ip, mapping.backend_port) == ("10.2.0.5", 3389)
    assert mapping.status == "Approved"


def test_approving_twice_writes_once(
    sandbox: RunningSandbox, clients: Clients, service: Service, endpoint: Endpoint
) -> None:
    first = decide(clients, service.id, "natlink:req-1", "approve", "ok")
    again = decide(clients, service.id, endpoint.id, "approve", "ok again")
    assert again == first
    assert len(requests(sandbox, "PUT", "privateEndpointConnections/")) == 1


def test_a_pe_id_in_other_casing_matches(clients: Clients, service: Service, endpoint: Endpoint) -> None:
    upper = endpoint.id.upper()
    connection = decide(clients, service.id.lower(), upper, "reject", "no")
    assert (connection.status, connection.private_endpoint_id.lower()) == ("Rejected", endpoint.id.lower())
    assert connection.token == "natlink:req-1"


def test_azure_refuses_to_approve_a_rejected_connection(
    net_b: NetworkManagementClient, service: Service, endpoint: Endpoint
) -> None:
    """Rule 4 of issue 9, held by the stand-in as Azure holds it (MicrosoftDocs/azure-docs PR #86823)."""
    (conn,) = net_b.private_link_services.list_private_endpoint_connections("rg-team-b", "rdp-vmb")
    conn.private_link_service_connection_state.status = "Rejected"
    net_b.private_link_services.update_private_endpoint_connection("rg-team-b", "rdp-vmb", conn.name, conn)
    conn.private_link_service_connection_state.status = "Approved"
    with pytest.raises(HttpResponseError) as caught:
        net_b.private_link_services.update_private_endpoint_connection(
            "rg-team-b", "rdp-vmb", conn.name, conn
        )
    assert caught.value.status_code == 400 and caught.value.error.code == "BadRequest"
    assert "Approving rejected private endpoint connections is not supported" in caught.value.message


def test_natlink_never_tries_to_approve_a_rejected_connection(
    sandbox: RunningSandbox, clients: Clients, service: Service, endpoint: Endpoint
) -> None:
    decide(clients, service.id, "natlink:req-1", "reject", "not yet")
    sandbox.control("DELETE", "requests")
    with pytest.raises(CloudError) as caught:
        decide(clients, service.id, "req-1", "approve", "now")
    assert caught.value.code == "ConnectionRejected" and "rejected" in caught.value.message
    assert not requests(sandbox, "PUT"), "refused before any write"


def test_remove_disconnects_the_consumer(
    sandbox: RunningSandbox,
    clients: Clients,
    net_a: NetworkManagementClient,
    service: Service,
    endpoint: Endpoint,
) -> None:
    assert remove_access(clients, service.id, endpoint.id, "natlink:req-1", "revoked") == 1
    pe = net_a.private_endpoints.get("rg-team-a", "pe-rdp")
    assert (
        pe.manual_private_link_service_connections[0].private_link_service_connection_state.status
        == "Disconnected"
    )
    assert remove_access(clients, service.id, endpoint.id, "natlink:req-1", "revoked") == 0, "already gone"


def test_remove_reads_back_and_says_when_azure_still_shows_the_connection(
    sandbox: RunningSandbox, clients: Clients, service: Service, endpoint: Endpoint
) -> None:
    sandbox.control("POST", "lost-writes", {"method": "DELETE", "path": "/privateEndpointConnections/"})
    with pytest.raises(CloudError) as caught:
        remove_access(clients, service.id, endpoint.id, "natlink:req-1", "revoked")
    assert caught.value.code == "AccessStillOpen" and "rdp-vmb" in caught.value.message


def test_a_decision_azure_did_not_keep_is_not_reported_as_made(
    sandbox: RunningSandbox, clients: Clients, service: Service, endpoint: Endpoint
) -> None:
    sandbox.control("POST", "lost-writes", {"method": "PUT", "path": "/privateEndpointConnections/"})
    with pytest.raises(CloudError) as caught:
        decide(clients, service.id, "natlink:req-1", "approve", "ok")
    assert caught.value.code == "DecisionNotApplied" and "Pending" in caught.value.message
    assert decide(clients, service.id, "natlink:req-1", "approve", "ok").status == "Approved", (
        "the rule is spent"
    )


def test_the_token_is_found_after_a_portal_decision_overwrote_the_description(
    net_b: NetworkManagementClient, clients: Clients, service: Service, endpoint: Endpoint
) -> None:
    (conn,) = net_b.private_link_services.list_private_endpoint_connections("rg-team-b", "rdp-vmb")
    conn.private_link_service_connection_state.status = "Approved"
    conn.private_link_service_connection_state.description = "approved in the portal"
    net_b.private_link_services.update_private_endpoint_connection("rg-team-b", "rdp-vmb", conn.name, conn)
    connection = decide(clients, service.id, "natlink:req-1", "reject", "no after all")
    assert (connection.status, connection.description) == ("Rejected", "natlink:req-1 no after all")


def test_matching_is_by_token_never_by_position(
    clients: Clients, service: Service, endpoint: Endpoint
) -> None:
    request_endpoint(clients, service.alias, "VM-Win2019", "pe-rdp-2", "natlink:req-2", "carol", "")
    connection = decide(clients, service.id, "natlink:req-2", "approve", "")
    assert connection.private_endpoint_id.endswith("/pe-rdp-2")
    statuses = {c.token: c.status for c in snapshot(clients, [TEAM_B]).services[0].connections}
    assert statuses == {"natlink:req-1": "Pending", "natlink:req-2": "Approved"}


@pytest.mark.parametrize(
    ("match", "decision", "code"),
    [
        ("natlink:nobody", "approve", "ConnectionNotFound"),
        (
            "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/privateEndpoints/z",
            "reject",
            "ConnectionNotFound",
        ),
        ("natlink:req-1", "maybe", "InvalidDecision"),
        ("not a token!", "approve", "InvalidToken"),
    ],
)
def test_what_cannot_be_decided(
    clients: Clients, service: Service, endpoint: Endpoint, match: str, decision: str, code: str
) -> None:
    with pytest.raises(CloudError) as caught:
        decide(clients, service.id, match, decision, "")
    assert caught.value.code == code
    if code == "ConnectionNotFound":
        assert match in caught.value.message and "rdp-vmb" in caught.value.message


def test_an_unknown_service(clients: Clients) -> None:
    missing = f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b/providers/Microsoft.Network/privateLinkServices/gone"
    with pytest.raises(CloudError) as caught:
        decide(clients, missing, "natlink:req-1", "approve", "")
    assert caught.value.code == "ServiceNotFound"
