"""What one natlink sweep costs as the estate grows, against a naive GET-per-resource script.

For each generated world (5 subscriptions; 10, 100 and 1,000 services with 3 private endpoints
each) it measures ``cloud.inventory.snapshot`` through natlink's own ``Clients``:

* ARM requests per sweep and list pages, from the sandbox's request log (cleared before, read after);
* seconds per sweep: a warm-up sweep (it includes the token fetch) reported alone, then ``REPEATS``;
* the Python heap peak of one sweep (``tracemalloc``; run separately, as tracing slows the sweep)
  and the growth of the process's peak RSS (``ru_maxrss``) over the world's untraced sweeps;
* ``cloud.mapping.mappings(snapshot)``.

The baseline knows every private link service and private endpoint ID up front, as a script with a
saved inventory would, and GETs each one with the SDK, then the NIC each names to read its IP.
It gets less than natlink (no load balancers, backends or power states), which flatters it. Its
request count is exact for every world (one GET per resource plus one per NIC it names, counted
from an untimed listing); when a full run would exceed ``BASELINE_BUDGET_S`` it is timed on a
deterministic stride sample and its time scaled by requests, and the result says so.

The small worlds run with the stand-in's throttling off (a naive script's thousands of GETs a
second would measure ARM's refill rate, not the script). Then the big world (issue 14): 10,000
services with 3 endpoints each over 50 subscriptions, with ARM's buckets on (the stand-in's default)
and 100 ms added to every ARM request. Its sweeps run in a child process of their own, so its peak
RSS (``VmHWM``) is the sweeping process's alone, interpreter and SDKs included; the baseline is
timed on a sample (a full run would take hours at 100 ms a GET). Its four targets: median sweep
under 15 s, requests flat in services apart from pages, 100x fewer requests than the baseline, peak
RSS under 300 MB. The ratio cannot reach 100x while natlink reads ARM's lists: it reads each list
once (its first pages are 5 a subscription), so its requests are the pages those lists take, about
11 items a service at 50 VMs or 100 other resources a page, against the baseline's 8 GETs a
service; the line says so when it fails for that reason.

Everything goes to a private sandbox child process on 127.0.0.1, stopped in ``finally``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient

from bench.common import arm_sandbox, credential, network_client, pass_fail, spread
from cloud.clients import Clients
from cloud.inventory import snapshot
from cloud.mapping import mappings
from cloud.model import Snapshot
from cloud.settings import CloudSettings
from sandbox.arm import launch, seed
from sandbox.arm.server import make_world

SUBSCRIPTIONS = 5
WORLDS = (10, 100, 1000)
ENDPOINTS = 3
REPEATS = 5
BASELINE_REPEATS = 3
BASELINE_BUDGET_S = 30.0  # all baseline repeats of one world together; keeps the module under ~4 min
SWEEP_TARGET_S = 5.0
REQUEST_RATIO_TARGET = 20.0
BIG = {"subscriptions": 50, "services": 10_000, "endpoints": 3}
BIG_LATENCY_S = 0.1  # added to every ARM request: real ARM answers in tens to hundreds of ms
BIG_REPEATS = 3
BIG_SWEEP_TARGET_S = 15.0
BIG_RSS_TARGET_MB = 300.0
BIG_RATIO_TARGET = 100.0
LIST_CALLS = 5  # first pages per subscription; every other request of a sweep is a follow-up page
CEILING = (
    "; each of the 5 lists is read once, so these requests are the pages the lists take at Azure's"
    " page sizes (50 VMs, the stand-in's 100 else): the floor for a sweep that reads them"
)


def run() -> dict[str, Any]:
    """Start a private sandbox (its variables read by DefaultAzureCredential inside Clients), measure
    every world, and always stop it."""
    with arm_sandbox("--empty", environment=True) as sandbox:
        worlds: dict[str, Any] = {}
        baseline_rate: float | None = None  # seconds per baseline GET, from the previous world
        for services in WORLDS:
            result, baseline_rate = measure_world(sandbox, services, baseline_rate)
            worlds[f"services_{services}"] = result
    big = measure_big_world()
    return {"worlds": worlds, "big_world": big, "targets": targets(worlds) | big_targets(big)}


def make_clients(sandbox: launch.RunningSandbox, subs: list[str]) -> Clients:
    """natlink's clients as the cloud tests build them: a fresh credential, so no cached token."""
    settings = CloudSettings.from_env(
        {
            "NATLINK_SUBSCRIPTIONS": ",".join(subs),
            "NATLINK_ARM_URL": sandbox.arm_url,
            "NATLINK_CA_BUNDLE": sandbox.ca_bundle,
        }
    )
    return Clients(settings, polling_interval=0.05)


def close_clients(clients: Clients) -> None:
    """``Clients`` has no close(); close the SDK clients it cached so their pools go with them."""
    for cache in (clients._network, clients._compute):
        for client in cache.values():
            client.close()


def served(sandbox: launch.RunningSandbox) -> dict[str, int]:
    """ARM requests since the log was cleared: total, list pages, follow-up pages, tokens, errors."""
    log = sandbox.control("GET", "requests")
    recent = log["recent"]
    if len(recent) != log["total"]:
        raise RuntimeError(f"request log kept {len(recent)} of {log['total']}; counts would be partial")
    lists = [r for r in recent if r["method"] == "GET" and is_list(r["path"])]
    return {
        "total": log["total"],
        "list_pages": len(lists),
        "next_pages": sum(1 for r in lists if "skiptoken" in r["query"].lower()),
        "token": sum(1 for r in recent if "/oauth2/" in r["path"] or "openid" in r["path"]),
        "errors": sum(1 for r in recent if r["status"] >= 400),
    }


def is_list(path: str) -> bool:
    """``/subscriptions/<s>/providers/<ns>/<type>``: a list by subscription (a GET of one is longer)."""
    parts = path.strip("/").split("/")
    return len(parts) == 5 and parts[0] == "subscriptions" and parts[2] == "providers"


def max_rss_mb() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_sweep(
    sandbox: launch.RunningSandbox, clients: Clients, subs: list[str]
) -> tuple[float, Snapshot, dict]:
    """One sweep: seconds, the snapshot, and what the sandbox served for it."""
    sandbox.control("DELETE", "requests")
    began = time.perf_counter()
    snap = snapshot(clients, subs)
    seconds = time.perf_counter() - began
    return seconds, snap, served(sandbox)


def heap_peak(clients: Clients, subs: list[str]) -> dict[str, float]:
    """tracemalloc's Python-heap peak during one sweep, above what was allocated before it."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        snap = snapshot(clients, subs)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del snap
    return {
        "heap_peak_mb": round((peak - before) / 2**20, 2),
        "heap_retained_mb": round((after - before) / 2**20, 2),
    }


def measure_world(
    sandbox: launch.RunningSandbox, services: int, baseline_rate: float | None
) -> tuple[dict[str, Any], float]:
    """natlink's sweep, mappings and the baseline for one generated world."""
    began = time.perf_counter()
    spec = {"subscriptions": SUBSCRIPTIONS, "services": services, "endpoints": ENDPOINTS}
    subs = sandbox.control("POST", "generate", spec)["subscriptions"]
    generate_s = time.perf_counter() - began
    clients = make_clients(sandbox, subs)
    try:
        rss_before = max_rss_mb()
        warm_s, snap, warm_served = timed_sweep(sandbox, clients, subs)
        runs = []  # seconds and requests only: holding every snapshot would inflate the RSS figure
        for _ in range(REPEATS):
            del snap
            seconds, snap, counted = timed_sweep(sandbox, clients, subs)
            runs.append((seconds, counted))
        rss_after = max_rss_mb()
        if len(snap.services) != services or len(snap.endpoints) != services * ENDPOINTS or snap.unreadable:
            raise RuntimeError(f"sweep read {len(snap.services)} services, {len(snap.endpoints)} endpoints")
        per_sweep = [r for _, r in runs]
        if any(r != per_sweep[0] for r in per_sweep) or per_sweep[0]["errors"]:
            raise RuntimeError(f"sweeps were served differently: {per_sweep}")
        memory = heap_peak(clients, subs)  # while the last snapshot is held, as a caller would
        maps = [0.0] * REPEATS
        for i in range(REPEATS):
            start = time.perf_counter()
            rows = mappings(snap)
            maps[i] = time.perf_counter() - start
    finally:
        close_clients(clients)
    natlink = {
        "requests": per_sweep[0],
        "sweep": spread([s for s, _ in runs], "s"),
        "warm_up_sweep_s": round(warm_s, 4),
        "warm_up_requests": warm_served,
        "memory": memory
        | {
            "heap_note": "tracemalloc Python-heap peak of one extra sweep, not RSS",
            "maxrss_growth_mb": round(rss_after - rss_before, 1),
            "maxrss_mb": round(rss_after, 1),
        },
        "mappings": spread(maps, "s") | {"rows": len(rows)},
    }
    baseline, rate = measure_baseline(sandbox, subs, baseline_rate)
    ratios = {
        "requests_baseline_over_natlink": round(baseline["requests_full"] / per_sweep[0]["total"], 1),
        "time_baseline_over_natlink": round(
            baseline["seconds_full"]["median"] / natlink["sweep"]["median"], 1
        ),
    }
    world = {"generate_s": round(generate_s, 2), "natlink": natlink, "baseline": baseline, "ratios": ratios}
    return world, rate


# ----------------------------------------------------------------------------- the naive baseline
Target = tuple[str, str, str, int]  # subscription, group, name, NICs it names


def inventory(sandbox: launch.RunningSandbox, entra: ClientSecretCredential, subs: list[str]) -> dict:
    """The saved inventory the naive script starts from: every PLS and PE, sorted (untimed)."""
    found: dict[str, list[Target]] = {"pls": [], "pe": []}
    for sub in subs:
        with network_client(sandbox, entra, sub) as client:
            for kind, items in (
                ("pls", client.private_link_services.list_by_subscription()),
                ("pe", client.private_endpoints.list_by_subscription()),
            ):
                for item in items:
                    group = item.id.split("/")[4]
                    found[kind].append((sub, group, item.name, len(item.network_interfaces or [])))
    return {kind: sorted(items) for kind, items in found.items()}


def gets_for(targets: dict[str, list[Target]]) -> int:
    """Requests the naive script makes: one GET per resource and one per NIC it names."""
    return sum(1 + nics for items in targets.values() for *_, nics in items)


def stride_sample(targets: dict[str, list[Target]], stride: int) -> dict[str, list[Target]]:
    """Every ``stride``-th PLS and PE of the sorted inventory: the same sample every run."""
    return {kind: items[::stride] for kind, items in targets.items()}


def naive_sweep(clients: dict[str, NetworkManagementClient], targets: dict[str, list[Target]]) -> int:
    """GET each PLS and PE one by one, then each NIC it names; returns the IPs found."""
    ips = 0
    for kind, items in targets.items():
        for sub, group, name, _ in items:
            client = clients[sub]
            get = client.private_link_services.get if kind == "pls" else client.private_endpoints.get
            found = get(group, name)
            for ref in found.network_interfaces or []:
                parts = ref.id.split("/")
                nic = clients[parts[2]].network_interfaces.get(parts[4], parts[8])
                ips += sum(1 for c in nic.ip_configurations or [] if c.private_ip_address)
    return ips


def measure_baseline(
    sandbox: launch.RunningSandbox, subs: list[str], rate: float | None
) -> tuple[dict[str, Any], float]:
    """The baseline's exact request count, and its time (on a sample when a full run is too long)."""
    entra = credential(sandbox)
    try:
        full = inventory(sandbox, entra, subs)
    finally:
        entra.close()
    return time_baseline(sandbox, subs, full, rate)


def time_baseline(
    sandbox: launch.RunningSandbox, subs: list[str], full: dict[str, list[Target]], rate: float | None
) -> tuple[dict[str, Any], float]:
    """Time the naive script over ``full`` (on a stride sample when ``rate``, seconds per GET, says
    all of it would outlast ``BASELINE_BUDGET_S``)."""
    entra = credential(sandbox)
    full_requests = gets_for(full)
    stride = 1
    if rate is not None:  # seconds per GET measured on the previous, smaller world
        stride = max(1, math.ceil(full_requests * rate * BASELINE_REPEATS / BASELINE_BUDGET_S))
    sample = stride_sample(full, stride)
    sample_requests = gets_for(sample)
    clients = {sub: network_client(sandbox, entra, sub) for sub in subs}
    try:
        naive_sweep(clients, stride_sample(full, max(1, len(full["pls"]) // 10)))  # warm-up: token, TLS
        seconds, counted = [], []
        for _ in range(BASELINE_REPEATS):
            sandbox.control("DELETE", "requests")
            began = time.perf_counter()
            naive_sweep(clients, sample)
            seconds.append(time.perf_counter() - began)
            counted.append(served(sandbox))
    finally:
        for client in clients.values():
            client.close()
        entra.close()
    if any(r["total"] != sample_requests or r["errors"] for r in counted):
        raise RuntimeError(f"baseline served {counted}, expected {sample_requests} GETs without errors")
    scale = full_requests / sample_requests
    result = {
        "requests_full": full_requests,
        "requests_timed": sample_requests,
        "sampled": stride > 1,
        "seconds_full": spread([s * scale for s in seconds], "s")
        | ({"note": f"1 in {stride} PLS/PE timed, scaled x{scale:.2f} by requests"} if stride > 1 else {}),
    }
    if stride > 1:
        result["seconds_timed_sample"] = spread(seconds, "s")
    return result, statistics.median(seconds) / sample_requests


# ----------------------------------------------------------------------------- the big world
def measure_big_world() -> dict[str, Any]:
    """natlink's sweeps of the big world in a child process, and the baseline, in one sandbox."""
    with tempfile.TemporaryDirectory(prefix="natlink-bench-") as scratch:
        began = time.perf_counter()
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(1) as pool:  # its own process: this one stays small for the benches after it
            state, subs = pool.apply(build_big_world, (Path(scratch) / "arm.json",))
        sandbox = launch.start(state=state)
        try:
            generate_s = time.perf_counter() - began
            entra = credential(sandbox)
            try:
                full = inventory(sandbox, entra, subs)  # before the latency: it is not what is timed
            finally:
                entra.close()
            sandbox.control("POST", "latency", {"seconds": BIG_LATENCY_S})
            with spawn.Pool(1) as pool:
                child = pool.apply(sweep_in_child, (sandbox.config, subs, BIG_REPEATS))
            baseline, _ = time_baseline(sandbox, subs, full, BIG_LATENCY_S)
        finally:
            sandbox.stop()
    per_sweep = child.pop("per_sweep")
    ratio = round(baseline["requests_full"] / per_sweep["total"], 1)
    return {
        "world": BIG | {"latency_s": BIG_LATENCY_S, "throttle": "ARM's buckets (stand-in default)"},
        "generate_and_load_s": round(generate_s, 1),
        "natlink": child | {"requests": per_sweep},
        "baseline": baseline,
        "ratios": {"requests_baseline_over_natlink": ratio},
    }


def build_big_world(state: Path) -> tuple[Path, list[str]]:
    """The big world's state file, for the sandbox to load at start (``seed.generate`` limits each
    generated subnet to what a /18 holds: 200 services and 600 endpoints a subscription fit)."""
    world = make_world(state)
    subs = seed.generate(world, BIG["subscriptions"], BIG["services"], BIG["endpoints"])["subscriptions"]
    return state, subs


def sweep_in_child(config: dict[str, Any], subs: list[str], repeats: int) -> dict[str, Any]:
    """In a fresh process: a warm-up sweep and ``repeats`` timed ones, one snapshot held at a time,
    then this process's peak RSS (all of it: the interpreter and the SDKs included). The sandbox process belongs to the parent; only its control API
    is used here."""
    sandbox = launch.RunningSandbox(None, config)  # type: ignore[arg-type]
    os.environ.update(sandbox.environment())
    clients = make_clients(sandbox, subs)
    try:
        warm_s, snap, warm_served = timed_sweep(sandbox, clients, subs)
        found = (len(snap.services), len(snap.endpoints), len(snap.unreadable))
        if found != (BIG["services"], BIG["services"] * BIG["endpoints"], 0):
            raise RuntimeError(f"sweep read {found} services, endpoints, unreadable subscriptions")
        runs = []
        for _ in range(repeats):
            del snap
            seconds, snap, counted = timed_sweep(sandbox, clients, subs)
            runs.append((seconds, counted))
        del snap
    finally:
        close_clients(clients)
    per_sweep = [r for _, r in runs]
    if any(r != per_sweep[0] for r in per_sweep):
        raise RuntimeError(f"sweeps were served differently: {per_sweep}")
    return {
        "per_sweep": per_sweep[0],
        "sweep": spread([s for s, _ in runs], "s"),
        "warm_up_sweep_s": round(warm_s, 2),
        "warm_up_requests": warm_served,
        "paced_s": round(clients.pacer.waited, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``). Not ``ru_maxrss``: Linux carries that across the
    fork and exec that start a child, so a child of a big parent would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# ----------------------------------------------------------------------------- targets
def targets(worlds: dict[str, Any]) -> dict[str, str]:
    """PASS/FAIL for the cloud issue's three targets."""
    small, large = worlds[f"services_{WORLDS[0]}"], worlds[f"services_{WORLDS[-1]}"]
    sr, lr = small["natlink"]["requests"], large["natlink"]["requests"]
    extra_requests, extra_pages = lr["total"] - sr["total"], lr["list_pages"] - sr["list_pages"]
    flat = extra_requests == extra_pages
    median = large["natlink"]["sweep"]["median"]
    ratio = large["ratios"]["requests_baseline_over_natlink"]
    return {
        "requests_flat_apart_from_pages": (
            f"{pass_fail(flat)}: {WORLDS[0]}->{WORLDS[-1]} services adds {extra_requests} requests "
            f"and {extra_pages} pages ({sr['total']} -> {lr['total']} requests)"
        ),
        f"sweep_{WORLDS[-1]}_under_{SWEEP_TARGET_S:g}s": (
            f"{pass_fail(median < SWEEP_TARGET_S)}: median {median:.3f} s on {os.cpu_count()} CPUs"
        ),
        f"requests_{REQUEST_RATIO_TARGET:g}x_fewer_than_baseline": (
            f"{pass_fail(ratio >= REQUEST_RATIO_TARGET)}: baseline/natlink = {ratio}x "
            f"({large['baseline']['requests_full']} / {lr['total']})"
        ),
    }


def big_targets(big: dict[str, Any]) -> dict[str, str]:
    """PASS/FAIL for issue 14's four targets on the big world."""
    natlink, subs = big["natlink"], BIG["subscriptions"]
    requests, median, rss = natlink["requests"], natlink["sweep"]["median"], natlink["peak_rss_mb"]
    first_pages = requests["total"] - requests["next_pages"]
    ratio = big["ratios"]["requests_baseline_over_natlink"]
    name = f"big_{BIG['services']}x{BIG['endpoints']}_over_{subs}"
    return {
        f"{name}_sweep_under_{BIG_SWEEP_TARGET_S:g}s": (
            f"{pass_fail(median < BIG_SWEEP_TARGET_S)}: median {median:.2f} s with {BIG_LATENCY_S * 1000:g} ms "
            f"per ARM request on {os.cpu_count()} CPUs ({requests['errors']} throttled or failed)"
        ),
        f"{name}_requests_flat_apart_from_pages": (
            f"{pass_fail(first_pages == LIST_CALLS * subs)}: {requests['total']} requests = {first_pages} "
            f"first pages ({LIST_CALLS} per subscription) + {requests['next_pages']} follow-up pages"
        ),
        f"{name}_requests_{BIG_RATIO_TARGET:g}x_fewer_than_baseline": (
            f"{pass_fail(ratio >= BIG_RATIO_TARGET)}: baseline/natlink = {ratio}x "
            f"({big['baseline']['requests_full']} / {requests['total']})"
            + (CEILING if first_pages == LIST_CALLS * subs and ratio < BIG_RATIO_TARGET else "")
        ),
        f"{name}_peak_rss_under_{BIG_RSS_TARGET_MB:g}mb": (
            f"{pass_fail(rss < BIG_RSS_TARGET_MB)}: {rss} MB, peak RSS (VmHWM) of the sweeping child process"
        ),
    }
