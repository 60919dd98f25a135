"""Expiry ends access only when Azure confirms it; otherwise the owners hear it (invariant 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.tokens import new_request_id, token
from commands.expiry import expire
from storage import events, requests
from tests.arm_story import A_RG, pe_body
from tests.conftest import TEAM_A
from tests.sweep_world import OWNER_CHANNEL

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _approved_with_endpoint(db, managed, net_a):
    request = requests.create_request(
        db,
        request_id=new_request_id(),
        service="rdp-vmb",
        requester="U0BOB",
        consumer_subscription=TEAM_A,
        expires_at=T0,
        now=T0 - timedelta(days=1),
    )
    body = pe_body(managed.alias, message=token(request.id))
    pe = net_a.private_endpoints.begin_create_or_update(A_RG, "pe-timed", body).result()
    requests.attach_endpoint(
        db,
        request.id,
        pe_id=pe.id,
        pe_name="pe-timed",
        vnet=None,
        subnet=None,
        connection_id=None,
        link_identifier=None,
    )
    return requests.set_state(db, request.id, "approved")


def test_an_expiry_azure_did_not_keep_leaves_the_request_approved_and_alerts_the_owners(
    db, clients, managed, net_a, sandbox
) -> None:
    request = _approved_with_endpoint(db, managed, net_a)
    sandbox.control(
        "POST", "lost-writes", {"method": "DELETE", "path": "/privateEndpointConnections/", "count": 5}
    )
    assert expire(db, clients, T0 + timedelta(seconds=1)) == 0
    assert requests.get_request(db, request.id).state == "approved"
    (alert,) = [e for e in events.pending(db, OWNER_CHANNEL) if e.kind == "removal_unconfirmed"]
    assert alert.severity == "problem" and request.id in alert.payload["line"]
    assert "AccessStillOpen" in alert.payload["line"]

    assert expire(db, clients, T0 + timedelta(seconds=2)) == 0
    assert len([e for e in events.pending(db, OWNER_CHANNEL) if e.kind == "removal_unconfirmed"]) == 1, "once"


def test_an_expiry_removes_the_requests_connection_and_not_a_copy_of_its_token(
    db, clients, managed, net_a
) -> None:
    request = _approved_with_endpoint(db, managed, net_a)
    copy = pe_body(managed.alias, message=token(request.id))
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-copy", copy).result()
    assert expire(db, clients, T0 + timedelta(seconds=1)) == 1
    status = {
        name: net_a.private_endpoints.get(A_RG, name)
        .manual_private_link_service_connections[0]
        .private_link_service_connection_state.status
        for name in ("pe-timed", "pe-copy")
    }
    assert status == {"pe-timed": "Disconnected", "pe-copy": "Pending"}, "a copied token is not the request"
    assert requests.get_request(db, request.id).state == "removed"
