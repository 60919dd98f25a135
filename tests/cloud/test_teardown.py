"""Deleting a service: refused while people use it, forced by rejecting them, and natlink's LB
cleaned up only when nothing else is on it."""

from __future__ import annotations

import pytest
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.decide import decide
from cloud.endpoints import request_endpoint
from cloud.errors import CloudError
from cloud.expose import VmTarget, expose
from cloud.teardown import delete_service
from sandbox.arm.launch import RunningSandbox
from tests.conftest import TEAM_A

LB = "natlink-lb-temp-vnet-default"


def names(sandbox: RunningSandbox) -> set[str]:
    return {r["name"] for r in sandbox.control("GET", "state")["resources"]}


def pools_of_vm_nic(net_b: NetworkManagementClient) -> list[str]:
    nic = net_b.network_interfaces.get("rg-team-b", "vm-win2019-2-nic")
    return [
        p.id.rsplit("/", 1)[1] for p in nic.ip_configurations[0].load_balancer_backend_address_pools or []
    ]


def test_open_connections_refuse_the_delete(sandbox: RunningSandbox, clients: Clients) -> None:
    service = expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], visibility=[TEAM_A])
    request_endpoint(clients, service.alias, "VM-Win2019", "pe-1", "natlink:req-1", "bob", "")
    request_endpoint(clients, service.alias, "VM-Win2019", "pe-2", "natlink:req-2", "carol", "")
    request_endpoint(clients, service.alias, "VM-Win2019", "pe-3", "natlink:req-3", "dave", "")
    decide(clients, service.id, "natlink:req-2", "approve", "")
    decide(clients, service.id, "natlink:req-3", "reject", "")
    with pytest.raises(CloudError) as caught:
        delete_service(clients, service.id)
    error = caught.value
    assert error.code == "ServiceHasConnections" and "2 open connection(s)" in error.message
    assert "(Pending, endpoint" in error.message and "(Approved, endpoint" in error.message
    assert "/privateEndpoints/pe-1" in error.message and "/privateEndpoints/pe-3" not in error.message
    assert "rdp-vmb" in names(sandbox)


def test_force_rejects_then_deletes_and_cleans_the_lb(
    sandbox: RunningSandbox, clients: Clients, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    service = expose(clients, "rdp-vmb", VmTarget("VM-Win2019-2"), [3389], visibility=[TEAM_A])
    request_endpoint(clients, service.alias, "VM-Win2019", "pe-1", "natlink:req-1", "bob", "")
    decide(clients, service.id, "natlink:req-1", "approve", "")
    steps: list[str] = []
    delete_service(clients, service.id, force=True, progress=steps.append)
    assert steps[0].endswith(": rejected") and steps[1] == "private link service rdp-vmb: deleted"
    assert steps[2:] == [
        "network interface vm-win2019-2-nic: out of backend pool pool-rdp-vmb",
        f"load balancer {LB}: deleted",
    ]
    assert {"rdp-vmb", LB} & names(sandbox) == set() and pools_of_vm_nic(net_b) == []
    pe = net_a.private_endpoints.get("rg-team-a", "pe-1")
    state = pe.manual_private_link_service_connections[0].private_link_service_connection_state
    assert state.status == "Disconnected", "the consumer sees the service gone"
    subnet = net_b.subnets.get("rg-team-b", "temp-vnet", "default")
    assert subnet.private_link_service_network_policies == "Disabled", "policies are not re-enabled"
    delete_service(clients, service.id)  # already gone: nothing to do


def test_a_shared_lb_keeps_the_other_service(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    rdp = expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    ssh = expose(clients, "ssh", VmTarget("VM-Win2019-2"), [22])
    delete_service(clients, rdp.id)
    assert pools_of_vm_nic(net_b) == ["pool-ssh"]
    lb = net_b.load_balancers.get("rg-team-b", LB)
    assert [f.name for f in lb.frontend_ip_configurations] == ["fe-ssh"]
    assert [r.name for r in lb.load_balancing_rules] == ["rule-ssh-22"] and [p.name for p in lb.probes] == [
        "probe-ssh-22"
    ]
    assert expose(clients, "ssh", VmTarget("VM-Win2019-2"), [22]) == ssh
    delete_service(clients, ssh.id)
    assert LB not in names(sandbox)
