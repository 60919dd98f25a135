"""Service health judged from snapshots of the seed story, changed through the real SDK as the portal would."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.health import (
    BackendState,
    Level,
    backend_state,
    headroom,
    nat_pressure,
    probe_failing,
    provisioning_failed,
    service_health,
)
from cloud.inventory import snapshot
from cloud.limits import NAT_IPS_MAX
from cloud.model import Backend, Forward, Service
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


def judged(clients: Clients) -> list:  # type: ignore[type-arg]
    """Each service of a fresh snapshot, judged as ``/natlink status`` and the digest judge it."""
    return [service_health(s) for s in snapshot(clients, SUBS).services]


def test_the_seed_story_is_healthy(clients: Clients, requested: str) -> None:
    (live,) = snapshot(clients, SUBS).services
    service = service_health(live)
    assert (service.service_name, service.level, service.healthy, service.backends) == (
        "pls-rdp",
        Level.OK,
        1,
        1,
    )
    assert not provisioning_failed(live.provisioning_state)
    room = headroom(live)
    assert (room.nat_ips, room.available) == (1, NAT_IPS_MAX - 1)


def test_a_powered_off_backend_takes_the_service_down_naming_the_vm(
    clients: Clients, compute_b: ComputeManagementClient, requested: str
) -> None:
    compute_b.virtual_machines.begin_power_off(B_RG, "VM-Win2019-2").result()
    (service,) = judged(clients)
    assert (service.level, service.reason, service.healthy) == (Level.DOWN, "VM-Win2019-2 is stopped", 0)


def test_a_nic_taken_out_of_the_pool_takes_the_service_down(
    clients: Clients, net_b: NetworkManagementClient, requested: str
) -> None:
    nic = net_b.network_interfaces.get(B_RG, "vm-win2019-2-nic")
    nic.ip_configurations[0].load_balancer_backend_address_pools = []
    net_b.network_interfaces.begin_create_or_update(B_RG, "vm-win2019-2-nic", nic).result()
    (service,) = judged(clients)
    assert (service.level, service.reason, service.backends) == (Level.DOWN, "no NIC in the backend pool", 0)


def test_a_failed_lro_on_the_service_is_failed_provisioning(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    sandbox.control("POST", "lro-failures", {"type": "privateLinkServices", "code": "InternalServerError"})
    with pytest.raises(HttpResponseError):
        expose(net_b)
    (live,) = snapshot(clients, SUBS).services
    assert (live.name, provisioning_failed(live.provisioning_state)) == ("pls-rdp", True)
    service = service_health(live)
    assert (service.level, service.reason) == (Level.DOWN, "pls-rdp failed to provision")


# Pure checks on hand-built records: cases the sandbox cannot reach or that need no round trip.

SERVICE_ID = (
    f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/privateLinkServices/pls"
)


def backend(vm: str | None, power: str | None, nic: str | None = None) -> Backend:
    nic_id = nic or f"/subscriptions/{TEAM_B}/nics/{vm}-nic"
    return Backend(vm_name=vm, nic_id=nic_id, ip="10.2.0.5", port=3389, power_state=power)


def service(backends: tuple[Backend, ...] = (), nat_ips: int = 1) -> Service:
    return Service(
        id=SERVICE_ID,
        name="pls",
        subscription=TEAM_B,
        resource_group=B_RG,
        location="japaneast",
        alias="pls.guid.japaneast.azure.privatelinkservice",
        nat_ips=tuple(f"10.2.0.{6 + i}" for i in range(nat_ips)),
        frontend_ip="10.2.0.4",
        forwards=(Forward(3389, 3389),),
        backends=backends,
        visibility=(),
        auto_approval=(),
        proxy_protocol=False,
        provisioning_state="Succeeded",
        connections=(),
    )


@pytest.mark.parametrize(("nat_ips", "available"), [(1, 7), (8, 0)])
def test_nat_headroom_counts_up_to_azures_limit_of_eight(nat_ips: int, available: int) -> None:
    room = headroom(service(nat_ips=nat_ips))
    assert (room.nat_ips, room.available) == (nat_ips, available)


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


@pytest.mark.parametrize(
    ("vm", "power", "state"),
    [
        ("vm-1", "running", BackendState.RUNNING),
        ("vm-1", "deallocated", BackendState.STOPPED),
        ("vm-1", "stopping", BackendState.STOPPED),
        ("vm-1", None, BackendState.UNKNOWN),
        (None, None, BackendState.STOPPED),
    ],
)
def test_a_backend_is_running_stopped_or_unknown(
    vm: str | None, power: str | None, state: BackendState
) -> None:
    assert backend_state(vm, power) is state


def test_probe_and_nat_thresholds() -> None:
    assert probe_failing(49.9) and not probe_failing(50.0) and not probe_failing(None)
    assert nat_pressure(80.0) and not nat_pressure(79.9)
    assert provisioning_failed("failed") and not provisioning_failed(None)
