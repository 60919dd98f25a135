"""A sweep costs the same list calls for 20 services or 200: only the page count grows."""

from __future__ import annotations

import math
from collections import Counter

from cloud.clients import Clients
from cloud.inventory import snapshot
from cloud.mapping import mappings
from cloud.model import Snapshot
from sandbox.arm.launch import RunningSandbox

PAGE_SIZE = 50


def sweep(sandbox: RunningSandbox, clients: Clients, services: int) -> tuple[Snapshot, Counter[str]]:
    """Generate a world, sweep it, and count the ARM requests per path."""
    subs = sandbox.control("POST", "generate", {"subscriptions": 5, "services": services, "endpoints": 3})
    sandbox.control("PUT", "settings", {"page_size": PAGE_SIZE})
    sandbox.control("DELETE", "requests")
    taken = snapshot(clients, subs["subscriptions"])
    counts = sandbox.control("GET", "requests")["counts"]
    return taken, Counter({k: v for k, v in counts.items() if k.startswith("GET /subscriptions/")})


def test_list_calls_do_not_grow_with_the_number_of_services(
    sandbox: RunningSandbox, clients: Clients
) -> None:
    small, small_counts = sweep(sandbox, clients, 20)
    large, large_counts = sweep(sandbox, clients, 200)
    assert (len(small.services), len(large.services), len(large.endpoints)) == (20, 200, 600)
    assert set(small_counts) == set(large_counts) and len(small_counts) == 5 * 5
    assert set(small_counts.values()) == {1}
    for sub in large.subscriptions:
        endpoints = sum(e.subscription == sub for e in large.endpoints)
        assert large_counts[
            f"GET /subscriptions/{sub}/providers/Microsoft.Network/privateEndpoints"
        ] == math.ceil(endpoints / PAGE_SIZE)
    assert sum(large_counts.values()) > sum(small_counts.values()), "the large world needs extra pages"


def test_a_generated_world_maps_every_connection(sandbox: RunningSandbox, clients: Clients) -> None:
    taken, _ = sweep(sandbox, clients, 4)
    statuses = Counter(c.status for s in taken.services for c in s.connections)
    assert statuses == {"Approved": 4, "Pending": 4, "Rejected": 4}
    assert all(s.nat_ips and s.frontend_ip and len(s.backends) == 1 for s in taken.services)
    assert all(e.ip and e.vnet_name == "vnet" for e in taken.endpoints)
    rows = mappings(taken)
    assert len(rows) == 12 and all(m.consumer_visible and m.pe_ip and m.port == 443 for m in rows)
