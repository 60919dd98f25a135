"""Probe health and NAT port usage read from the sandbox's Azure Monitor with the real SDK."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs

from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import LoadBalancingRule, Probe, SubResource

from cloud.clients import Clients
from cloud.health import nat_pressure, probe_failing
from cloud.metrics import (
    Signals,
    read_signals,
    regions,
)
from cloud.model import Service, Snapshot
from sandbox.arm.launch import RunningSandbox
from tests.arm_story import B_RG, LB_ID, expose
from tests.conftest import TEAM_A, TEAM_B

REGION = "japaneast"
VM_ID = (
    f"/subscriptions/{TEAM_B}/resourceGroups/{B_RG}/providers/Microsoft.Compute/virtualMachines/VM-Win2019-2"
)
BACKEND, NAT_IP, FRONTEND_IP, PORT = "10.2.0.5", "10.2.0.6", "10.2.0.4", 3389


def read(clients: Clients) -> Signals:
    return read_signals(clients, [TEAM_A, TEAM_B], [REGION])


def metric_requests(sandbox: RunningSandbox) -> list[dict]:
    return [
        r for r in sandbox.control("GET", "requests")["recent"] if "Microsoft.Insights/metrics" in r["path"]
    ]


def test_a_healthy_backend_reads_100(clients: Clients, net_b: NetworkManagementClient) -> None:
    pls = expose(net_b)
    signals = read(clients)
    assert signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT) == 100.0
    assert signals.probe(LB_ID.upper(), BACKEND, FRONTEND_IP, PORT) == 100.0, "ids compare case-insensitively"
    assert {(p.lb_id, p.ip, p.frontend_ip, p.port) for p in signals.probes} == {
        (LB_ID.lower(), BACKEND, FRONTEND_IP, PORT)
    }
    assert signals.nat(pls.id, NAT_IP) == 0.0
    assert not probe_failing(signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT))
    assert not any(nat_pressure(n.percent) for n in signals.nat_usage)
    assert signals.unreadable == ()
    assert signals.regions == (REGION,)


def test_a_failed_probe_is_failing(sandbox: RunningSandbox, clients: Clients, net_b) -> None:
    expose(net_b)
    sandbox.control("POST", "probe", {"lb": LB_ID, "ip": BACKEND, "healthy": False})
    signals = read(clients)
    assert signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT) == 0.0
    assert probe_failing(signals.probe(LB_ID.upper(), BACKEND, FRONTEND_IP, PORT))
    sandbox.control("POST", "probe", {"lb": LB_ID, "ip": BACKEND, "healthy": True})
    assert not probe_failing(read(clients).probe(LB_ID, BACKEND, FRONTEND_IP, PORT))


def test_a_stopped_vm_fails_its_probe(sandbox: RunningSandbox, clients: Clients, net_b) -> None:
    expose(net_b)
    sandbox.control("POST", "power", {"vm": VM_ID, "state": "stopped"})
    signals = read(clients)
    assert signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT) == 0.0
    assert probe_failing(signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT))


def test_an_unknown_backend_is_not_failing(clients: Clients, net_b) -> None:
    expose(net_b)
    signals = read(clients)
    assert signals.probe(LB_ID, "10.9.9.9", FRONTEND_IP, PORT) is None
    assert not probe_failing(signals.probe(LB_ID, "10.9.9.9", FRONTEND_IP, PORT))


def test_nat_pressure_at_the_threshold(sandbox: RunningSandbox, clients: Clients, net_b) -> None:
    pls = expose(net_b)
    sandbox.control("POST", "nat-usage", {"pls": pls.id, "ip": NAT_IP, "percent": 90})
    signals = read(clients)
    pressed = [(n.pls_id, n.ip, n.percent) for n in signals.nat_usage if nat_pressure(n.percent)]
    assert pressed == [(pls.id.lower(), NAT_IP, 90.0)]
    sandbox.control("POST", "nat-usage", {"pls": pls.id, "ip": NAT_IP, "percent": 50})
    assert not any(nat_pressure(n.percent) for n in read(clients).nat_usage)


def test_requests_stay_flat_in_the_number_of_services(sandbox: RunningSandbox, clients: Clients) -> None:
    generated = sandbox.control("POST", "generate", {"subscriptions": 3, "services": 30, "endpoints": 0})
    subs = generated["subscriptions"]
    sandbox.control("DELETE", "requests")
    signals = read_signals(clients, subs, [REGION, "Japan East"])
    calls = Counter(
        (r["path"].split("/")[2].lower(), parse_qs(r["query"])["metricnamespace"][0])
        for r in metric_requests(sandbox)
    )
    namespaces = ("Microsoft.Network/loadBalancers", "Microsoft.Network/privateLinkServices")
    assert calls == Counter({(sub.lower(), ns): 1 for sub in subs for ns in namespaces})
    assert len(signals.probes) == 30 and {p.percent for p in signals.probes} == {100.0}
    assert len({n.pls_id for n in signals.nat_usage}) == 30
    assert signals.unreadable == ()


def test_an_unreadable_subscription_is_reported(sandbox: RunningSandbox, clients: Clients, net_b) -> None:
    expose(net_b)
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    signals = read(clients)
    (unreadable,) = signals.unreadable
    assert (unreadable.subscription, unreadable.code) == (TEAM_A, "AuthorizationFailed")
    assert signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT) == 100.0, "the readable subscription still counts"


def test_any_failure_of_azure_monitor_degrades_to_unknown(
    sandbox: RunningSandbox, clients: Clients, net_b
) -> None:
    """Issue 9 rule 9: a metric that cannot be read is unknown for that subscription; no error stops
    the sweep (its connection drift, reminders and the rest still run)."""
    expose(net_b)
    sandbox.control(
        "POST",
        "faults",
        {
            "method": "GET",
            "path": f"{TEAM_B}/providers/Microsoft.Insights/metrics",
            "status": 409,
            "count": 10,
            "code": "Conflict",
        },
    )
    signals = read(clients)
    assert [(u.subscription, u.code) for u in signals.unreadable] == [(TEAM_B, "Conflict")]
    assert signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT) is None, "unknown, never healthy by default"


def test_one_services_failing_probe_is_not_averaged_with_anothers(
    sandbox: RunningSandbox, clients: Clients, net_b
) -> None:
    """Two services on one VM behind one load balancer (3389 and 443): 443's probe fails alone."""
    expose(net_b)
    lb = net_b.load_balancers.get(B_RG, "lb-rdp")
    rule = lb.load_balancing_rules[0]
    lb.probes.append(Probe(name="https", protocol="Tcp", port=443, interval_in_seconds=5))
    lb.load_balancing_rules.append(
        LoadBalancingRule(
            name="https",
            protocol="Tcp",
            frontend_port=443,
            backend_port=443,
            frontend_ip_configuration=rule.frontend_ip_configuration,
            backend_address_pool=rule.backend_address_pool,
            probe=SubResource(id=f"{LB_ID}/probes/https"),
        )
    )
    for pool in lb.backend_address_pools:  # the NIC's membership, which Azure refuses back (issue 9 rule 3)
        pool.load_balancer_backend_addresses = None
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", lb).result()
    sandbox.control("POST", "probe", {"lb": LB_ID, "ip": BACKEND, "port": 443, "healthy": False})
    signals = read(clients)
    assert signals.probe(LB_ID, BACKEND, FRONTEND_IP, 443) == 0.0
    assert signals.probe(LB_ID, BACKEND, FRONTEND_IP, PORT) == 100.0, "not 50: no average across ports"


def test_nothing_to_read_costs_nothing(sandbox: RunningSandbox, clients: Clients) -> None:
    signals = read_signals(clients, [TEAM_A], [])
    assert (signals.probes, signals.nat_usage, signals.unreadable) == ((), (), ())
    assert metric_requests(sandbox) == []


def test_regions_of_a_snapshot() -> None:
    def service(location: str | None) -> Service:
        return Service(
            id=f"/x/{location}",
            name="s",
            subscription=TEAM_B,
            resource_group=B_RG,
            location=location,
            alias=None,
            nat_ips=(),
            frontend_ip=None,
            forwards=(),
            backends=(),
            visibility=(),
            auto_approval=(),
            proxy_protocol=False,
            provisioning_state=None,
            connections=(),
        )

    snap = Snapshot(
        taken_at=datetime.now(UTC),
        subscriptions=(TEAM_B,),
        services=(service("japaneast"), service("Japan East"), service("westeurope"), service(None)),
        endpoints=(),
        unreadable=(),
    )
    assert regions(snap) == ("japaneast", "westeurope")


def test_the_newest_minute_with_data_counts() -> None:
    """Azure publishes a minute late: an empty newest point must not hide the one before it."""
    from cloud.metrics import _latest

    points = [
        {"timeStamp": "2026-01-01T10:02:00Z"},
        {"timeStamp": "2026-01-01T10:00:00Z", "average": 100.0},
        {"timeStamp": "2026-01-01T10:01:00Z", "average": 25.0},
    ]
    assert _latest(points) == 25.0
    assert _latest([{"timeStamp": "2026-01-01T10:02:00Z", "average": None}]) is None
