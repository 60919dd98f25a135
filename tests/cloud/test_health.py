"""Health facts read from snapshots of the seed story, changed through the real SDK as the portal would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.health import Level, facts, headroom, service_health
from cloud.inventory import snapshot
from cloud.limits import NAT_IPS_MAX
from cloud.model import Backend, Connection, Endpoint, Service, Snapshot, Unreadable
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_RG, B_RG, expose, pe_body
from tests.conftest import TEAM_A, TEAM_B

SUBS = [TEAM_A, TEAM_B]


@pytest.fixture
def requested(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> str:
    """The seed story up to a Pending connection; returns its ID, lower-cased as natlink stores it."""
    pls = expose(net_b)
    net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-rdp", pe_body(pls.alias, "natlink:req-1 bob")
    ).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")
    return connection.id.lower()


def test_the_seed_story_is_healthy(clients: Clients, requested: str) -> None:
    health = facts(snapshot(clients, SUBS))
    (service,) = health.services
    assert (service.service_name, service.level, service.healthy, service.backends) == (
        "pls-rdp",
        Level.OK,
        1,
        1,
    )
    assert (health.failed, health.outside_changes, health.removed) == ((), (), ())
    assert (health.orphan_endpoints, health.orphan_connections) == ((), ())
    (room,) = health.headroom
    assert (room.nat_ips, room.available) == (1, NAT_IPS_MAX - 1)


def test_a_powered_off_backend_takes_the_service_down_naming_the_vm(
    clients: Clients, compute_b: ComputeManagementClient, requested: str
) -> None:
    compute_b.virtual_machines.begin_power_off(B_RG, "VM-Win2019-2").result()
    (service,) = facts(snapshot(clients, SUBS)).services
    assert (service.level, service.reason, service.healthy) == (Level.DOWN, "VM-Win2019-2 is stopped", 0)


def test_a_nic_taken_out_of_the_pool_takes_the_service_down(
    clients: Clients, net_b: NetworkManagementClient, requested: str
) -> None:
    nic = net_b.network_interfaces.get(B_RG, "vm-win2019-2-nic")
    nic.ip_configurations[0].load_balancer_backend_address_pools = []
    net_b.network_interfaces.begin_create_or_update(B_RG, "vm-win2019-2-nic", nic).result()
    (service,) = facts(snapshot(clients, SUBS)).services
    assert (service.level, service.reason, service.backends) == (Level.DOWN, "no NIC in the backend pool", 0)


def test_a_rejection_in_the_portal_is_an_outside_change(
    clients: Clients, net_b: NetworkManagementClient, requested: str
) -> None:
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")
    connection.private_link_service_connection_state.status = "Rejected"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "pls-rdp", connection.name, connection
    )
    health = facts(snapshot(clients, SUBS), expected={requested: "Pending"})
    (change,) = health.outside_changes
    assert (change.service_name, change.expected, change.actual) == ("pls-rdp", "Pending", "Rejected")
    assert change.connection_id.lower() == requested
    assert "changed outside natlink" in change.message
    assert health.pending == () and health.removed == ()


def test_an_unchanged_connection_is_no_outside_change(clients: Clients, requested: str) -> None:
    health = facts(snapshot(clients, SUBS), expected={requested: "pending"})
    assert health.outside_changes == () and health.removed == ()


def test_a_deleted_endpoint_reports_its_connection_removed(
    clients: Clients, net_a: NetworkManagementClient, requested: str
) -> None:
    net_a.private_endpoints.begin_delete(A_RG, "pe-rdp").result()
    health = facts(snapshot(clients, SUBS), expected={requested: "Approved"})
    (gone,) = health.removed
    assert (gone.service_name, gone.connection_id, gone.expected, gone.service_exists) == (
        "pls-rdp",
        requested,
        "Approved",
        True,
    )
    assert health.outside_changes == () and health.orphan_connections == ()


def test_an_unreadable_consumer_subscription_claims_no_orphan(
    sandbox: RunningSandbox, clients: Clients, requested: str
) -> None:
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    try:
        taken = snapshot(clients, SUBS)
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": True})
    assert [u.subscription for u in taken.unreadable] == [TEAM_A] and taken.endpoints == ()
    health = facts(taken, expected={requested: "Pending"})
    assert (health.orphan_connections, health.orphan_endpoints, health.removed) == ((), (), ())
    assert len(health.pending) == 1


def test_an_endpoint_whose_service_was_deleted_is_an_orphan(
    clients: Clients, net_b: NetworkManagementClient, requested: str
) -> None:
    net_b.private_link_services.begin_delete(B_RG, "pls-rdp").result()
    health = facts(snapshot(clients, SUBS), expected={requested: "Pending"})
    (orphan,) = health.orphan_endpoints
    assert (orphan.endpoint_name, orphan.target_state) == ("pe-rdp", "gone")
    assert "is gone" in orphan.message
    (gone,) = health.removed
    assert (gone.service_name, gone.service_exists) == ("pls-rdp", False)


def test_an_unreadable_provider_makes_the_orphan_unknown_not_gone(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient, requested: str
) -> None:
    net_b.private_link_services.begin_delete(B_RG, "pls-rdp").result()
    sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": False})
    try:
        taken = snapshot(clients, SUBS)
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_B, "readable": True})
    health = facts(taken, expected={requested: "Pending"})
    (orphan,) = health.orphan_endpoints
    assert orphan.target_state == "unknown"
    assert health.removed == ()


def test_a_failed_lro_on_the_service_is_failed_provisioning(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    sandbox.control("POST", "lro-failures", {"type": "privateLinkServices", "code": "InternalServerError"})
    with pytest.raises(HttpResponseError):
        expose(net_b)
    health = facts(snapshot(clients, SUBS))
    (failed,) = health.failed
    assert (failed.resource_name, failed.kind) == ("pls-rdp", "private link service")
    (service,) = health.services
    assert (service.level, service.reason) == (Level.DOWN, "pls-rdp failed to provision")


def test_pending_age_comes_from_first_seen(clients: Clients, requested: str) -> None:
    taken = snapshot(clients, SUBS)
    seen = taken.taken_at - timedelta(hours=3, minutes=5)
    (pending,) = facts(taken, first_seen={requested: seen}).pending
    assert (pending.since, pending.age) == (seen, timedelta(hours=3, minutes=5))
    assert "Pending for 3h 5m" in pending.message
    later = taken.taken_at + timedelta(days=1)
    assert facts(taken, later, first_seen={requested: seen}).pending[0].age == timedelta(
        days=1, hours=3, minutes=5
    )


def test_pending_age_is_unknown_without_first_seen(clients: Clients, requested: str) -> None:
    (pending,) = facts(snapshot(clients, SUBS)).pending
    assert (pending.since, pending.age) == (None, None)
    assert "unknown time" in pending.message


# Pure checks on hand-built records: cases the sandbox cannot reach or that need no round trip.

SERVICE_ID = (
    f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/privateLinkServices/pls"
)
PE_ID = f"/subscriptions/{TEAM_A}/resourceGroups/{A_RG}/providers/Microsoft.Network/privateEndpoints/pe"


def backend(vm: str | None, power: str | None, nic: str | None = None) -> Backend:
    nic_id = nic or f"/subscriptions/{TEAM_B}/nics/{vm}-nic"
    return Backend(vm_name=vm, nic_id=nic_id, ip="10.2.0.5", port=3389, power_state=power)


def service(
    backends: tuple[Backend, ...] = (), nat_ips: int = 1, connections: tuple[Connection, ...] = ()
) -> Service:
    return Service(
        id=SERVICE_ID,
        name="pls",
        subscription=TEAM_B,
        resource_group=B_RG,
        location="japaneast",
        alias="pls.guid.japaneast.azure.privatelinkservice",
        nat_ips=tuple(f"10.2.0.{6 + i}" for i in range(nat_ips)),
        frontend_ip="10.2.0.4",
        ports=((3389, 3389),),
        backends=backends,
        visibility=(),
        auto_approval=(),
        proxy_protocol=False,
        provisioning_state="Succeeded",
        connections=connections,
    )


def connection(status: str = "Approved") -> Connection:
    return Connection(
        id=f"{SERVICE_ID}/privateEndpointConnections/pe.1",
        name="pe.1",
        service_id=SERVICE_ID,
        status=status,
        description=None,
        link_identifier=None,
        private_endpoint_id=PE_ID,
        endpoint_subscription=TEAM_A,
        token=None,
    )


def world(
    services: tuple[Service, ...], endpoints: tuple[Endpoint, ...] = (), unreadable: str = ""
) -> Snapshot:
    refused = (Unreadable(unreadable, "AuthorizationFailed", "no"),) if unreadable else ()
    return Snapshot(
        taken_at=datetime(2026, 1, 1, tzinfo=UTC),
        subscriptions=(TEAM_A, TEAM_B),
        services=services,
        endpoints=endpoints,
        unreadable=refused,
    )


@pytest.mark.parametrize(("nat_ips", "available"), [(1, 7), (8, 0)])
def test_nat_headroom_counts_up_to_azures_limit_of_eight(nat_ips: int, available: int) -> None:
    room = headroom(service(nat_ips=nat_ips))
    assert (room.nat_ips, room.available) == (nat_ips, available)
    assert f"{nat_ips} of 8 NAT IPs" in room.message


def test_some_stopped_backends_degrade_the_service() -> None:
    health = service_health(service((backend("vm-1", "running"), backend("vm-2", "deallocated"))))
    assert (health.level, health.reason, health.healthy, health.backends) == (
        Level.DEGRADED,
        "vm-2 is deallocated",
        1,
        2,
    )


def test_a_backend_behind_two_rules_counts_once() -> None:
    health = service_health(service((backend("vm-1", "running"), backend("vm-1", "running"))))
    assert (health.level, health.backends) == (Level.OK, 1)


def test_an_unread_power_state_is_unknown_not_down() -> None:
    health = service_health(service((backend("vm-1", None),)))
    assert (health.level, health.reason) == (Level.UNKNOWN, "power state of vm-1 unknown")


def test_a_pool_nic_without_a_vm_is_down() -> None:
    health = service_health(service((backend(None, None, nic="/x/networkInterfaces/loose-nic"),)))
    assert (health.level, health.reason) == (
        Level.DOWN,
        "NIC loose-nic in the backend pool is attached to no VM",
    )


def test_a_connection_whose_readable_endpoint_is_missing_is_an_orphan() -> None:
    (orphan,) = facts(world((service(connections=(connection(),)),))).orphan_connections
    assert (orphan.connection_name, orphan.private_endpoint_id, orphan.status) == ("pe.1", PE_ID, "Approved")


def test_a_connection_whose_endpoint_subscription_is_unreadable_is_no_orphan() -> None:
    assert facts(world((service(connections=(connection(),)),), unreadable=TEAM_A)).orphan_connections == ()


def test_health_finds_a_service_by_id_in_any_case() -> None:
    health = facts(world((service(backends=(backend("vm-1", "running"),)),)))
    assert health.service(SERVICE_ID.upper()).level is Level.OK
    assert health.service(SERVICE_ID + "x") is None


def endpoint(target: str) -> Endpoint:
    return Endpoint(
        id=PE_ID,
        name="pe",
        subscription=TEAM_A,
        ip="10.0.0.5",
        subnet_id=None,
        vnet_name=None,
        status="Disconnected",
        target=target,
        subnet_vms=(),
    )


@pytest.mark.parametrize(("unreadable", "state"), [("", "gone"), (TEAM_B, "unknown")])
def test_an_endpoint_targeting_a_service_id_is_judged_by_that_subscription(
    unreadable: str, state: str
) -> None:
    (orphan,) = facts(world((), (endpoint(SERVICE_ID),), unreadable=unreadable)).orphan_endpoints
    assert orphan.target_state == state


def test_an_endpoint_whose_service_dropped_the_connection_names_the_service_present() -> None:
    (orphan,) = facts(world((service(),), (endpoint(SERVICE_ID.upper()),))).orphan_endpoints
    assert orphan.target_state == "present" and "removed the connection" in orphan.message
