"""Backends that are not plain VMs (issue 9 rule 10): scale set instances behind an AKS-style
internal load balancer, and an IP-based pool, read through the real SDKs from the sandbox."""

from __future__ import annotations

from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.expose import LbTarget, expose
from cloud.health import Level, service_health
from cloud.inventory import snapshot
from cloud.mapping import mappings
from cloud.metrics import read_signals
from cloud.model import NOT_A_VM, BackendKind, Service
from commands.describe import exposed_lines
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import create_lb
from tests.cloud.arm_log import requests
from tests.conftest import TEAM_A, TEAM_B
from tests.sandbox.arm.test_scale_sets import AKS_LB, VMSS, VMSS_ID, build_aks, build_ip_pool

INSTANCES = [(f"{VMSS}_0", "10.2.0.6"), (f"{VMSS}_1", "10.2.0.7")]


def _backends(service: Service) -> list[tuple[str | None, str | None, str | None, str]]:
    return [(b.vm_name, b.ip, b.power_state, b.kind) for b in service.backends]


def _swept(clients: Clients, name: str) -> Service:
    return next(s for s in snapshot(clients, [TEAM_A, TEAM_B]).services if s.name == name)


def test_create_on_a_scale_set_pool_shows_its_instances(
    sandbox: RunningSandbox,
    clients: Clients,
    net_b: NetworkManagementClient,
    compute_b: ComputeManagementClient,
) -> None:
    build_aks(net_b, compute_b)
    made = expose(clients, "aks", LbTarget("kubernetes-internal", "fe"), visibility=[TEAM_A])
    running = [(n, ip, "running", BackendKind.SCALE_SET) for n, ip in INSTANCES]
    assert _backends(made) == running
    assert f"instance {VMSS}_0 10.2.0.6:8080 (running)" in exposed_lines(made)[2]
    assert service_health(made).level is Level.OK

    sandbox.control("POST", "power", {"vm": f"{VMSS_ID}/virtualMachines/1", "state": "stopped"})
    swept = _swept(clients, "aks")
    assert _backends(swept) == [running[0], (f"{VMSS}_1", "10.2.0.7", "stopped", BackendKind.SCALE_SET)]
    health = service_health(swept)
    assert (health.level, health.reason) == (Level.DEGRADED, f"{VMSS}_1 is stopped")

    signals = read_signals(clients, [TEAM_B], ["japaneast"])
    probes = {p.ip: p.percent for p in signals.probes if p.lb_id.lower() == AKS_LB.lower()}
    assert probes == {"10.2.0.6": 100.0, "10.2.0.7": 0.0}


def test_the_sweep_reads_scale_set_nics_only_for_pools_that_hold_them(
    sandbox: RunningSandbox,
    clients: Clients,
    net_b: NetworkManagementClient,
    compute_b: ComputeManagementClient,
) -> None:
    create_lb(net_b)
    expose(clients, "rdp", LbTarget("lb-rdp", "fe"), visibility=[TEAM_A])
    sandbox.control("DELETE", "requests")
    assert _swept(clients, "rdp").backends[0].vm_name == "VM-Win2019-2"
    plain = requests(sandbox, "GET", "^/subscriptions/")
    assert len(plain) == 10, "five list calls per subscription on a plain estate"
    assert not [r for r in plain if "virtualMachineScaleSets" in r["path"]]

    build_aks(net_b, compute_b)
    expose(clients, "aks", LbTarget("kubernetes-internal", "fe"), visibility=[TEAM_A])
    sandbox.control("DELETE", "requests")
    assert [b.vm_name for b in _swept(clients, "aks").backends] == [n for n, _ in INSTANCES]
    paths = [r["path"] for r in requests(sandbox, "GET", "^/subscriptions/")]
    assert len(paths) == 12
    assert sorted(p.rsplit("/", 1)[1] for p in paths if "virtualMachineScaleSets" in p) == [
        "networkInterfaces",
        "virtualMachines",
    ]


def test_an_ip_based_pool_shows_its_addresses(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    build_ip_pool(net_b)
    made = expose(clients, "pods", LbTarget("kubernetes-internal", "fe"), visibility=[TEAM_A])
    expected = [(None, ip, NOT_A_VM, BackendKind.IP) for ip in ("10.2.0.40", "10.2.0.41")]
    assert _backends(made) == expected
    assert "IP 10.2.0.40:8080 (unknown, not a VM)" in exposed_lines(made)[2]
    swept = _swept(clients, "pods")
    assert _backends(swept) == expected
    assert service_health(swept).level is Level.OK
    sandbox.control("POST", "probe", {"lb": AKS_LB, "ip": "10.2.0.41", "healthy": False})
    signals = read_signals(clients, [TEAM_B], ["japaneast"])
    probes = {p.ip: p.percent for p in signals.probes if p.lb_id.lower() == AKS_LB.lower()}
    assert probes == {"10.2.0.40": 100.0, "10.2.0.41": 0.0}
    assert {m.backend_ip for m in mappings(snapshot(clients, [TEAM_A, TEAM_B]))} <= {"10.2.0.40", "10.2.0.41"}
