"""Long-running operations, paging, throttling and concurrency, as the real SDK experiences them."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.core.exceptions import HttpResponseError

from tests.arm_story import A_RG, B_RG, B_SUBNET, expose, pe_body
from tests.conftest import TEAM_A, TEAM_B, compute_client, network_client


def test_lists_page_with_next_link(sandbox, credential) -> None:
    generated = sandbox.control("POST", "generate", {"subscriptions": 1, "services": 7, "endpoints": 0})
    sandbox.control("PUT", "settings", {"page_size": 3})
    sandbox.control("DELETE", "requests")
    client = network_client(sandbox, credential, generated["subscriptions"][0])
    names = [p.name for p in client.private_link_services.list_by_subscription()]
    assert sorted(names) == sorted(f"pls-{n}" for n in range(7))
    log = sandbox.control("GET", "requests")
    path = f"/subscriptions/{generated['subscriptions'][0]}/providers/Microsoft.Network/privateLinkServices"
    assert log["counts"][f"GET {path}"] == 3
    pages = [r["query"].lower() for r in log["recent"] if r["path"] == path]
    assert ["skiptoken" in q for q in pages] == [False, True, True]
    assert "skiptoken=3" in pages[1] and "skiptoken=6" in pages[2]


def test_a_vm_list_of_a_subscription_pages_at_50_whatever_the_setting(sandbox, credential) -> None:
    """Compute's VirtualMachines_ListAll answers 50 VMs a page (sandbox/arm/api._PAGE_CAPS); the
    network lists keep the stand-in's page size."""
    generated = sandbox.control("POST", "generate", {"subscriptions": 1, "services": 120, "endpoints": 0})
    sub = generated["subscriptions"][0]
    sandbox.control("PUT", "settings", {"page_size": 100})
    sandbox.control("DELETE", "requests")
    vms = list(compute_client(sandbox, credential, sub).virtual_machines.list_all())
    services = list(network_client(sandbox, credential, sub).private_link_services.list_by_subscription())
    counts = sandbox.control("GET", "requests")["counts"]
    assert len(services) == 120 and len(vms) >= 120
    assert counts[f"GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines"] == -(
        -len(vms) // 50
    )
    assert counts[f"GET /subscriptions/{sub}/providers/Microsoft.Network/privateLinkServices"] == 2


def test_a_long_running_operation_takes_its_time(sandbox, net_b) -> None:
    sandbox.control("PUT", "settings", {"lro_seconds": 1.5})
    started = time.monotonic()
    poller = net_b.load_balancers.begin_create_or_update(
        B_RG,
        "lb-slow",
        {
            "location": "japaneast",
            "sku": {"name": "Standard"},
            "properties": {"backendAddressPools": [{"name": "pool"}]},
        },
    )
    assert not poller.done()
    assert net_b.load_balancers.get(B_RG, "lb-slow").provisioning_state == "Updating"
    assert poller.result().provisioning_state == "Succeeded"
    assert time.monotonic() - started >= 1.4


def test_a_failed_operation_surfaces_as_an_error(sandbox, net_b) -> None:
    sandbox.control("POST", "lro-failures", {"type": "loadBalancers", "code": "InternalServerError"})
    with pytest.raises(HttpResponseError) as caught:
        net_b.load_balancers.begin_create_or_update(
            B_RG, "lb-doomed", {"location": "japaneast", "properties": {}}
        ).result()
    assert caught.value.error.code == "InternalServerError"
    assert net_b.load_balancers.get(B_RG, "lb-doomed").provisioning_state == "Failed"
    # The failure was armed for one operation only.
    assert net_b.load_balancers.begin_create_or_update(B_RG, "lb-ok", {"location": "japaneast"}).result()


def test_injected_429s_are_retried_by_the_sdk(sandbox, net_b) -> None:
    path = (
        f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Network/virtualNetworks/temp-vnet"
    )
    sandbox.control(
        "POST", "faults", {"method": "GET", "path": f"{path}$", "status": 429, "count": 2, "retry_after": 1}
    )
    assert net_b.virtual_networks.get(B_RG, "temp-vnet").name == "temp-vnet"
    log = sandbox.control("GET", "requests")
    assert log["counts"][f"GET {path}"] == 3
    assert [r["status"] for r in log["recent"] if r["path"] == path] == [429, 429, 200]


def test_injected_server_errors_and_latency(sandbox, net_b) -> None:
    sandbox.control(
        "POST", "faults", {"path": "/virtualNetworks$", "status": 503, "count": 1, "retry_after": 1}
    )
    sandbox.control("POST", "latency", {"path": "/virtualNetworks$", "seconds": 0.3, "count": 2})
    started = time.monotonic()
    assert [v.name for v in net_b.virtual_networks.list(B_RG)] == ["temp-vnet"]
    assert time.monotonic() - started >= 0.6
    statuses = [
        r["status"]
        for r in sandbox.control("GET", "requests")["recent"]
        if r["path"].endswith("/virtualNetworks")
    ]
    assert statuses == [503, 200]


def test_twenty_concurrent_endpoints_get_distinct_addresses(sandbox, credential, net_b) -> None:
    pls = expose(net_b)

    def request(i: int) -> str:
        client = network_client(sandbox, credential, TEAM_A)
        pe = client.private_endpoints.begin_create_or_update(
            A_RG, f"pe-{i}", pe_body(pls.alias, f"request {i}")
        ).result()
        nic = client.network_interfaces.get(A_RG, pe.network_interfaces[0].id.rsplit("/", 1)[1])
        return nic.ip_configurations[0].private_ip_address

    with ThreadPoolExecutor(20) as pool:
        addresses = list(pool.map(request, range(20)))
    assert len(set(addresses)) == 20
    assert sorted(int(a.rsplit(".", 1)[1]) for a in addresses) == list(range(5, 25))
    connections = list(net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp"))
    assert sorted(c.private_link_service_connection_state.description for c in connections) == sorted(
        f"request {i}" for i in range(20)
    )


def test_the_control_api_adds_a_vm_and_names_what_a_vm_needs(sandbox, credential) -> None:
    """``POST /_sandbox/vms``: a running VM with one NIC in an existing subnet, as the SDK lists it."""
    with pytest.raises(RuntimeError, match="A VM needs group, subnet"):
        sandbox.control("POST", "vms", {"subscription": TEAM_B, "name": "VM-Twin"})
    vm_id = sandbox.control(
        "POST", "vms", {"subscription": TEAM_B, "group": B_RG, "name": "VM-Twin", "subnet": B_SUBNET}
    )["id"]
    (vm,) = [
        v for v in compute_client(sandbox, credential, TEAM_B).virtual_machines.list_all() if v.id == vm_id
    ]
    nic = network_client(sandbox, credential, TEAM_B).network_interfaces.get(B_RG, "VM-Twin-nic")
    assert vm.name == "VM-Twin" and nic.virtual_machine.id == vm_id
    assert nic.ip_configurations[0].subnet.id.lower() == B_SUBNET.lower()
