"""Changes made outside natlink, through the SDK against the sandbox, each give exactly one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud import ids
from cloud.clients import Clients
from cloud.tokens import new_request_id, token
from commands.sweep import LAST_SWEEP, sweep
from storage import channel_subscriptions, events, observations, requests, services
from tests.arm_story import A_RG, B_RG, LB_ID, pe_body
from tests.conftest import TEAM_A, TEAM_B
from tests.sweep_world import OWNER_CHANNEL

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _sweep(db, config, clients, minutes: int):
    return sweep(db, config, clients, now=T0 + timedelta(minutes=minutes))


def _kinds(db) -> list[tuple[str, str]]:
    return [(e.kind, e.channel) for e in events.pending(db, limit=100)]


def test_first_sweep_is_a_baseline_and_a_quiet_world_stays_quiet(db, config, clients, managed) -> None:
    first = _sweep(db, config, clients, 0)
    assert first.baseline and first.events == 0 and first.services == 1
    second = _sweep(db, config, clients, 5)
    assert not second.baseline and second.events == 0 and _kinds(db) == []


def test_a_pending_connection_made_in_the_portal_gets_an_approval_card(
    db, config, clients, managed, net_a
) -> None:
    _sweep(db, config, clients, 0)
    net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-portal", pe_body(managed.alias, "from the portal")
    ).result()
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert (event.kind, event.channel) == ("approval_card", OWNER_CHANNEL)
    request = requests.get_request(db, event.payload["request"])
    assert (request.state, request.requester, request.consumer_subscription) == (
        "pending",
        "outside natlink",
        TEAM_A,
    )
    assert request.pe_id.lower().endswith("/privateendpoints/pe-portal")
    assert _sweep(db, config, clients, 10).events == 0


def test_a_rejection_in_the_portal(db, config, clients, managed, net_a, net_b) -> None:
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-portal", pe_body(managed.alias)).result()
    _sweep(db, config, clients, 0)
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "rdp-vmb")
    connection.private_link_service_connection_state.status = "Rejected"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "rdp-vmb", connection.name, connection
    )
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert event.kind == "status_changed" and event.severity == "problem"
    assert "went from Pending to *Rejected* outside natlink" in event.payload["line"]
    assert _sweep(db, config, clients, 10).events == 0


def test_a_portal_decision_before_natlink_ever_saw_the_connection_is_taken_up(
    db, config, clients, managed, net_a, net_b
) -> None:
    """Found by the model test: natlink's own pending request, approved in the portal before any sweep
    had seen its connection, stayed 'pending' in natlink while Azure said Approved."""
    request = requests.create_request(
        db, request_id=new_request_id(), service="rdp-vmb", requester="U0BOB", consumer_subscription=TEAM_A
    )
    pe = net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-mine", pe_body(managed.alias, token(request.id))
    ).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "rdp-vmb")
    requests.attach_endpoint(
        db,
        request.id,
        pe_id=pe.id,
        pe_name="pe-mine",
        vnet=None,
        subnet=None,
        connection_id=connection.id,
        link_identifier=None,
    )
    requests.set_state(db, request.id, "pending")
    connection.private_link_service_connection_state.status = "Approved"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "rdp-vmb", connection.name, connection
    )
    _sweep(db, config, clients, 0)
    assert requests.get_request(db, request.id).state == "approved"


def _requested(db, managed, net_a, net_b, state: str):
    """bob's request for rdp-vmb with its endpoint pe-mine and connection recorded, in ``state``,
    as natlink leaves it once Azure made them (no sweep has seen the connection)."""
    request = requests.create_request(
        db, request_id=new_request_id(), service="rdp-vmb", requester="U0BOB", consumer_subscription=TEAM_A
    )
    pe = net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-mine", pe_body(managed.alias, token(request.id))
    ).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "rdp-vmb")
    requests.attach_endpoint(db, request.id, pe_id=pe.id, pe_name="pe-mine", connection_id=connection.id)
    return requests.set_state(db, request.id, state)


def test_a_connection_removed_before_natlink_ever_saw_it_ends_its_request(
    db, config, clients, managed, net_a, net_b
) -> None:
    """Found by the soak: a pending request whose connection went (the endpoint deleted in the
    portal) before any sweep had seen it stayed 'pending' in natlink, with nothing in Azure."""
    request = _requested(db, managed, net_a, net_b, "pending")
    net_a.private_endpoints.begin_delete(A_RG, "pe-mine").result()
    _sweep(db, config, clients, 0)
    assert requests.get_request(db, request.id).state == "gone"
    assert _sweep(db, config, clients, 5).events == 0, "told once, not at every sweep"


def test_a_connection_removed_after_the_baseline_is_told_once(
    db, config, clients, managed, net_a, net_b
) -> None:
    _sweep(db, config, clients, 0)
    request = _requested(db, managed, net_a, net_b, "pending")
    net_a.private_endpoints.begin_delete(A_RG, "pe-mine").result()
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert event.kind == "connection_gone" and "pe-mine" in event.payload["line"]
    assert f"`{request.id}` from <@U0BOB>" in event.payload["line"]
    assert requests.get_request(db, request.id).state == "gone"
    assert _sweep(db, config, clients, 10).events == 0


def test_a_service_whose_private_link_service_went_before_any_sweep_is_gone(
    db, config, clients, managed, net_b
) -> None:
    """Found by the model test: a delete that Azure interrupted after the private link service was
    gone (a 409 on the LB) left the service 'active' for good when no sweep had seen it before."""
    net_b.private_link_services.begin_delete(B_RG, "rdp-vmb").result()
    result = _sweep(db, config, clients, 0)
    assert result.services == 0
    assert services.get_service(db, "rdp-vmb").state == "gone"


def test_the_open_requests_of_a_service_gone_from_azure_are_gone_too(
    db, config, clients, managed, net_a, net_b
) -> None:
    """Found by the soak: a delete --force interrupted after the private link service went left
    its approved request 'approved' with no connection anywhere."""
    request = _requested(db, managed, net_a, net_b, "approved")
    observations.set_meta(db, LAST_SWEEP, T0.isoformat())  # a sweep ran before natlink saw it
    net_b.private_link_services.begin_delete(B_RG, "rdp-vmb").result()
    assert _sweep(db, config, clients, 5).events == 2
    assert requests.get_request(db, request.id).state == "gone"
    kinds = sorted(e.kind for e in events.pending(db))
    assert kinds == ["connection_gone", "service_gone"]
    (gone,) = [e for e in events.pending(db) if e.kind == "connection_gone"]
    assert f"`{request.id}` from <@U0BOB>" in gone.payload["line"]


def test_a_service_gone_after_the_baseline_is_told_once(db, config, clients, managed, net_b) -> None:
    _sweep(db, config, clients, 0)
    net_b.private_link_services.begin_delete(B_RG, "rdp-vmb").result()
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert event.kind == "service_gone" and "/natlink delete" in event.payload["advice"]
    assert _sweep(db, config, clients, 10).events == 0


def test_a_deleted_endpoint(db, config, clients, managed, net_a, net_b) -> None:
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-portal", pe_body(managed.alias)).result()
    _sweep(db, config, clients, 0)
    net_a.private_endpoints.begin_delete(A_RG, "pe-portal").result()
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert event.kind == "connection_gone" and "pe-portal" in event.payload["line"]


def test_backend_powered_off(db, config, clients, managed, compute_b) -> None:
    _sweep(db, config, clients, 0)
    compute_b.virtual_machines.begin_power_off(B_RG, "VM-Win2019-2").result()
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert event.kind == "backend_stopped" and "VM-Win2019-2 (10.2.0.5) is *stopped*" in event.payload["line"]
    assert _sweep(db, config, clients, 10).events == 0


def test_nat_port_pressure(db, config, clients, managed, sandbox) -> None:
    _sweep(db, config, clients, 0)
    sandbox.control("POST", "nat-usage", {"pls": managed.pls_id, "ip": "10.2.0.6", "percent": 90})
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert event.kind == "nat_pressure" and "uses 90 % of its ports" in event.payload["line"]
    assert "7 more possible before Azure's limit of 8" in event.payload["advice"]
    assert _sweep(db, config, clients, 10).events == 0


def test_a_failing_probe_while_the_vm_runs(db, config, clients, managed, sandbox) -> None:
    natlink_lb = LB_ID.replace("lb-rdp", "natlink-lb-temp-vnet-default")
    _sweep(db, config, clients, 0)
    sandbox.control("POST", "probe", {"lb": natlink_lb, "ip": "10.2.0.5", "healthy": False})
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert event.kind == "probe_failing" and "*failing* although the VM runs" in event.payload["line"]


def test_azure_monitor_failing_does_not_stop_the_sweep(db, config, clients, managed, net_a, sandbox) -> None:
    """Issue 9 rule 9: metrics that cannot be read are unknown; connection drift is still found."""
    _sweep(db, config, clients, 0)
    sandbox.control(
        "POST",
        "faults",
        {
            "method": "GET",
            "path": "Insights/metrics",
            "status": 500,
            "count": 100,
            "code": "InternalServerError",
        },
    )
    net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-portal", pe_body(managed.alias, "portal")
    ).result()
    result = _sweep(db, config, clients, 5)
    assert [e.kind for e in events.pending(db)] == ["approval_card"], (
        "no probe or NAT finding from unknown metrics"
    )
    assert result.events == 1


def test_a_failing_probe_of_another_service_on_the_same_vm_is_not_ours(
    db, config, clients, managed, sandbox
) -> None:
    """DipAvailability is read per frontend and backend port: another port's probe failing on the same
    backend address is not this service's (it was averaged in, and halved the health)."""
    natlink_lb = LB_ID.replace("lb-rdp", "natlink-lb-temp-vnet-default")
    _sweep(db, config, clients, 0)
    sandbox.control("POST", "probe", {"lb": natlink_lb, "ip": "10.2.0.5", "port": 443, "healthy": False})
    assert _sweep(db, config, clients, 5).events == 0
    sandbox.control("POST", "probe", {"lb": natlink_lb, "ip": "10.2.0.5", "port": 3389, "healthy": False})
    assert [e.kind for e in events.pending(db)] == [] and _sweep(db, config, clients, 10).events == 1


def test_subscribed_channels_and_the_owner_default(db, config, clients, managed, compute_b) -> None:
    channel_subscriptions.add_subscription(db, "rdp-vmb", "C0OPS", created_by="U0ALICE", events="all")
    channel_subscriptions.add_subscription(db, "*", "C0ALL", created_by="U0ADMIN", events="problems")
    _sweep(db, config, clients, 0)
    compute_b.virtual_machines.begin_power_off(B_RG, "VM-Win2019-2").result()
    _sweep(db, config, clients, 5)
    compute_b.virtual_machines.begin_start(B_RG, "VM-Win2019-2").result()
    _sweep(db, config, clients, 10)
    assert sorted(_kinds(db)) == sorted(
        [
            ("backend_stopped", "C0ALL"),
            ("backend_stopped", "C0OPS"),
            ("backend_stopped", OWNER_CHANNEL),
            ("backend_started", "C0OPS"),  # good news goes only to channels that asked for all events
        ]
    )


def test_an_unreadable_subscription_is_not_a_deletion(db, config, clients, managed, net_a, sandbox) -> None:
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-portal", pe_body(managed.alias)).result()
    _sweep(db, config, clients, 0)
    sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": False})
    try:
        result = _sweep(db, config, clients, 5)
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": True})
    assert result.unreadable == (TEAM_B,) and result.events == 0
    assert _sweep(db, config, clients, 10).events == 0


def test_a_failing_probe_elsewhere_at_the_same_address_is_not_ours(
    db, config, clients, managed, sandbox, net_b
) -> None:
    """Addresses repeat across VNets: another LB's failing probe for 10.2.0.5 must not alarm rdp-vmb."""
    from tests.arm_story import lb_body

    rg = "rg-team-b"
    net_b.virtual_networks.begin_create_or_update(
        rg,
        "twin-vnet",
        {
            "location": "japaneast",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.2.0.0/16"]},
                "subnets": [{"name": "default", "properties": {"addressPrefix": "10.2.0.0/24"}}],
            },
        },
    ).result()
    twin_subnet = f"/subscriptions/{TEAM_B}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/twin-vnet/subnets/default"
    twin_lb = f"/subscriptions/{TEAM_B}/resourceGroups/{rg}/providers/Microsoft.Network/loadBalancers/lb-rdp"
    net_b.load_balancers.begin_create_or_update(
        rg, "lb-rdp", lb_body(frontend={"subnet": {"id": twin_subnet}})
    ).result()
    net_b.network_interfaces.begin_create_or_update(
        rg,
        "twin-nic",
        {
            "location": "japaneast",
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "ipconfig1",
                        "properties": {
                            "subnet": {"id": twin_subnet},
                            "privateIPAllocationMethod": "Static",
                            "privateIPAddress": "10.2.0.5",
                            "loadBalancerBackendAddressPools": [
                                {"id": f"{twin_lb}/backendAddressPools/pool"}
                            ],
                        },
                    }
                ]
            },
        },
    ).result()
    _sweep(db, config, clients, 0)
    sandbox.control("POST", "probe", {"lb": twin_lb, "ip": "10.2.0.5", "healthy": False})
    assert _sweep(db, config, clients, 5).events == 0
    natlink_lb = twin_lb.replace("lb-rdp", "natlink-lb-temp-vnet-default")
    sandbox.control("POST", "probe", {"lb": natlink_lb, "ip": "10.2.0.5", "healthy": False})
    assert _sweep(db, config, clients, 10).events == 1
    (event,) = events.pending(db)
    assert event.kind == "probe_failing" and event.service == "rdp-vmb"


def _natlink_request(db, pe_id: str | None = None):
    """A request natlink made (bob's, pending), with its endpoint recorded when ``pe_id`` is given."""
    request = requests.create_request(
        db,
        request_id=new_request_id(),
        service="rdp-vmb",
        requester="U0BOB",
        consumer_subscription=TEAM_A,
        state="pending",
        now=T0,
    )
    if pe_id is not None:
        request = requests.attach_endpoint(db, request.id, pe_id=pe_id, pe_name=ids.name(pe_id))
    return request


def test_a_copied_token_is_a_connection_natlink_did_not_make(db, config, clients, managed, net_a) -> None:
    """Someone copies the token of bob's request into an endpoint of their own: the owners get a card
    for it, saying whose token it carries, and bob's request is left alone."""
    ours = net_a.private_endpoints.begin_create_or_update(A_RG, "pe-bob", pe_body(managed.alias)).result()
    bob = _natlink_request(db, ours.id)
    _sweep(db, config, clients, 0)
    copied = pe_body(managed.alias, f"{token(bob.id)} please approve me too")
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-copycat", copied).result()
    assert _sweep(db, config, clients, 5).events == 1
    (event,) = events.pending(db)
    assert (event.kind, event.channel) == ("approval_card", OWNER_CHANNEL)
    adopted = requests.get_request(db, event.payload["request"])
    assert adopted.id != bob.id and adopted.requester == "outside natlink"
    assert adopted.pe_id.lower().endswith("/privateendpoints/pe-copycat")
    assert f"token of request {bob.id}" in adopted.reason and "pe-bob" in adopted.reason
    assert requests.get_request(db, bob.id) == bob  # never attached to the other request
    assert _sweep(db, config, clients, 10).events == 0


@pytest.mark.parametrize("recorded", [True, False], ids=["its-endpoint", "no-endpoint-yet"])
def test_a_token_on_its_own_requests_endpoint_gets_no_second_card(
    db, config, clients, managed, net_a, recorded: bool
) -> None:
    """natlink posts its own requests' cards; the sweep must not add another for them."""
    _sweep(db, config, clients, 0)
    bob = _natlink_request(db)
    body = pe_body(managed.alias, f"{token(bob.id)} RDP please")
    ours = net_a.private_endpoints.begin_create_or_update(A_RG, "pe-bob", body).result()
    if recorded:
        requests.attach_endpoint(db, bob.id, pe_id=ours.id.upper())  # Azure ids compare in any case
    assert _sweep(db, config, clients, 5).events == 0
    assert [r.id for r in requests.list_requests(db)] == [bob.id]


def test_each_sweep_reports_its_seconds_and_arm_requests(db, config, clients, managed, sandbox) -> None:
    heard: list[tuple[float, int]] = []
    watched = Clients(clients.settings, polling_interval=0.05, on_sweep=lambda s, n: heard.append((s, n)))
    sandbox.control("DELETE", "requests")
    result = _sweep(db, config, watched, 0)
    arm = [r for r in sandbox.control("GET", "requests")["recent"] if r["path"].startswith("/subscriptions/")]
    assert heard == [(result.seconds, result.arm_requests)] and result.seconds > 0
    assert result.arm_requests == len(arm), "every ARM request of the sweep, and only those"
