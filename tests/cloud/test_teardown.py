"""Deleting a service: refused while people use it, forced by rejecting them, and natlink's LB
cleaned up only when nothing else is on it."""

from __future__ import annotations

import json

import pytest
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.decide import decide
from cloud.endpoints import request_endpoint
from cloud.errors import CloudError
from cloud.expose import LbTarget, VmTarget, expose
from cloud.teardown import delete_service
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import B_RG, lb_body
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
        "read back: nothing natlink made for rdp-vmb is left in Azure",
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


# ------------------------------------------------------------------ a failed delete, run again
def lb_parts(net_b: NetworkManagementClient, name: str = LB) -> dict[str, list[str]]:
    """Every child of a load balancer by collection, as names: what a rerun must have removed."""
    lb = net_b.load_balancers.get("rg-team-b", name)
    return {
        "frontends": sorted(f.name for f in lb.frontend_ip_configurations or []),
        "pools": sorted(p.name for p in lb.backend_address_pools or []),
        "probes": sorted(p.name for p in lb.probes or []),
        "rules": sorted(r.name for r in lb.load_balancing_rules or []),
    }


def subnet_holders(net_b: NetworkManagementClient) -> list[str]:
    """Who holds an address in the VM's subnet (frontends, NAT IPs, NICs), by their IDs."""
    subnet = net_b.subnets.get("rg-team-b", "temp-vnet", "default")
    return [c.id.lower() for c in subnet.ip_configurations or []]


def fail_once(sandbox: RunningSandbox, method: str, path: str) -> None:
    """The next matching ARM request is refused with a 409, which no client retries."""
    sandbox.control("POST", "faults", {"method": method, "path": path, "status": 409, "code": "Conflict"})


def test_a_rerun_after_the_lb_put_failed_removes_the_services_lb_parts(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    rdp = expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    expose(clients, "ssh", VmTarget("VM-Win2019-2"), [22])
    fail_once(sandbox, "PUT", f"/loadBalancers/{LB}$")
    with pytest.raises(CloudError) as caught:
        delete_service(clients, rdp.id)
    assert caught.value.step == f"load balancer {LB}", caught.value
    assert "rdp" not in names(sandbox), "the private link service went first"
    assert "fe-rdp" in lb_parts(net_b)["frontends"], "the failure left the service's LB parts"

    steps: list[str] = []
    delete_service(clients, rdp.id, progress=steps.append)
    assert lb_parts(net_b) == {
        "frontends": ["fe-ssh"],
        "pools": ["pool-ssh"],
        "probes": ["probe-ssh-22"],
        "rules": ["rule-ssh-22"],
    }
    assert not [h for h in subnet_holders(net_b) if "/fe-rdp" in h], "the frontend's address is free"
    assert pools_of_vm_nic(net_b) == ["pool-ssh"]
    assert steps[-1] == "read back: nothing natlink made for rdp is left in Azure", steps


def test_a_rerun_after_the_lb_delete_failed_deletes_the_lb(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    rdp = expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    fail_once(sandbox, "DELETE", f"/loadBalancers/{LB}$")
    with pytest.raises(CloudError):
        delete_service(clients, rdp.id)
    assert LB in names(sandbox) and "rdp" not in names(sandbox)
    delete_service(clients, rdp.id)
    assert LB not in names(sandbox) and pools_of_vm_nic(net_b) == []


def test_a_rerun_after_leaving_the_pool_failed_finishes(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    rdp = expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    fail_once(sandbox, "PUT", "/networkInterfaces/vm-win2019-2-nic$")
    with pytest.raises(CloudError) as caught:
        delete_service(clients, rdp.id)
    assert caught.value.step == "network interface vm-win2019-2-nic", caught.value
    assert pools_of_vm_nic(net_b) == ["pool-rdp"] and LB in names(sandbox)
    delete_service(clients, rdp.id)
    assert LB not in names(sandbox) and pools_of_vm_nic(net_b) == []


def test_a_services_lb_parts_stay_when_natlink_did_not_build_its_lb(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    """A VM service whose record says natlink built no LB for it: only the private link service goes."""
    rdp = expose(clients, "rdp", VmTarget("VM-Win2019-2"), [3389])
    delete_service(clients, rdp.id, natlink_lb=False)
    assert "rdp" not in names(sandbox) and lb_parts(net_b)["frontends"] == ["fe-rdp"]


def test_a_users_lb_named_like_natlinks_is_never_touched(
    sandbox: RunningSandbox, clients: Clients, net_b: NetworkManagementClient
) -> None:
    """The team's own LB, even with children named as natlink names its own, loses nothing."""
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", natlink_named_lb_body()).result()
    before = lb_parts(net_b, "lb-rdp")
    service = expose(clients, "rdp", LbTarget("lb-rdp", "fe-rdp"))
    delete_service(clients, service.id)
    delete_service(clients, service.id)  # the service is gone: a rerun still leaves the LB alone
    assert "rdp" not in names(sandbox) and lb_parts(net_b, "lb-rdp") == before == {
        "frontends": ["fe-rdp"],
        "pools": ["pool-rdp"],
        "probes": ["probe-rdp-3389"],
        "rules": ["rule-rdp-3389"],
    }


def natlink_named_lb_body() -> dict:
    """A team's own LB (no natlink tag) whose children carry the very names natlink gives its own."""
    text = json.dumps(lb_body())
    for old, new in (
        ('rdp"', 'probe-rdp-3389"'),
        ('fe"', 'fe-rdp"'),
        ('pool"', 'pool-rdp"'),
        ("tcp-", "rule-rdp-"),
    ):
        text = text.replace(old, new)
    return json.loads(text)
