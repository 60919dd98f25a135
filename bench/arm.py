"""How fast the ARM sandbox answers, so later benchmarks can tell whether it or natlink is the bottleneck.

Everything runs against a sandbox child process on 127.0.0.1, in fixed counts, through the real
azure-mgmt-network client and, for comparison, through a bare keep-alive ``http.client`` connection.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient

from bench.common import SCOPE, Sample, arm_sandbox, credential, network_client, spread
from sandbox.arm import launch

API_VERSION = "2026-03-01"  # what azure-mgmt-network 33 sends and the sandbox serves
GROUP = "rg-natlink"
SERVICES = 10
REPEATS = 5
SEQUENTIAL = 150  # the brief's 300 and 8x150 take ~5 minutes at the sandbox's ~45 ms per request
THREADS = 8
PER_THREAD = 75
LISTED = 1000


def run() -> dict[str, Any]:
    """Start a private sandbox, measure GETs and paged lists, and always stop it."""
    with arm_sandbox("--empty") as sandbox:
        entra = credential(sandbox)
        return {"pls_get": measure_gets(sandbox, entra), "pls_list": measure_lists(sandbox, entra)}


def rate(work: Callable[[], None], count: int) -> float:
    """Requests per second of one call of ``work`` that makes ``count`` requests."""
    began = time.perf_counter()
    work()
    return count / (time.perf_counter() - began)


def repeat_rate(work: Callable[[], None], count: int) -> Sample:
    """``rate`` taken ``REPEATS`` times, as a spread."""
    return spread([rate(work, count) for _ in range(REPEATS)], "GET/s")


def sdk_gets(client: NetworkManagementClient, count: int) -> None:
    """``count`` sequential PLS GETs over one SDK client, cycling over the generated services."""
    for i in range(count):
        client.private_link_services.get(GROUP, f"pls-{i % SERVICES}")


def raw_gets(connection: http.client.HTTPSConnection, sub: str, token: str, count: int) -> None:
    """The same GETs on a bare keep-alive connection: what the server costs without the SDK."""
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/privateLinkServices"
    for i in range(count):
        connection.request("GET", f"{base}/pls-{i % SERVICES}?api-version={API_VERSION}", headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"raw GET answered {response.status}")


def raw_connection(sandbox: launch.RunningSandbox) -> http.client.HTTPSConnection:
    """One keep-alive HTTPS connection to the sandbox, verified against its CA."""
    url = urlsplit(sandbox.arm_url)
    context = ssl.create_default_context(cafile=sandbox.ca_bundle)
    return http.client.HTTPSConnection(url.hostname or "127.0.0.1", url.port, context=context, timeout=30)


def in_threads(works: list[Callable[[], None]]) -> Callable[[], None]:
    """One callable that runs each of ``works`` on its own thread and waits for all of them."""

    def together() -> None:
        with ThreadPoolExecutor(len(works)) as pool:
            for future in [pool.submit(w) for w in works]:
                future.result()

    return together


def overhead(sdk: Sample, raw: Sample) -> dict[str, float]:
    """Milliseconds per sequential GET with and without the SDK: the difference is the SDK's own cost."""
    sdk_ms, raw_ms = 1000 / sdk["median"], 1000 / raw["median"]
    return {
        "sdk_ms_per_get": round(sdk_ms, 3),
        "raw_ms_per_get": round(raw_ms, 3),
        "sdk_extra_ms": round(sdk_ms - raw_ms, 3),
    }


def served(sandbox: launch.RunningSandbox) -> dict[str, int]:
    """ARM requests the sandbox served since the log was cleared, and how many were errors."""
    log = sandbox.control("GET", "requests")
    return {"total": log["total"], "errors": sum(1 for r in log["recent"] if r["status"] >= 400)}


def checked(sandbox: launch.RunningSandbox, work: Callable[[], None], count: int) -> Sample:
    """``repeat_rate`` plus the server's own count, which exposes SDK retries or errors."""
    sandbox.control("DELETE", "requests")
    result = repeat_rate(work, count)
    result["served"] = served(sandbox) | {"expected": count * REPEATS}
    return result


def measure_gets(sandbox: launch.RunningSandbox, credential: ClientSecretCredential) -> dict[str, Any]:
    """GETs/s: one SDK client, 8 threads (shared and own clients), and raw HTTP for comparison."""
    sub = sandbox.control("POST", "generate", {"subscriptions": 1, "services": SERVICES, "endpoints": 0})[
        "subscriptions"
    ][0]
    token = credential.get_token(SCOPE).token
    shared = network_client(sandbox, credential, sub)
    own = [network_client(sandbox, credential, sub) for _ in range(THREADS)]
    raws = [raw_connection(sandbox) for _ in range(THREADS)]
    total = THREADS * PER_THREAD
    try:
        warm_up(shared, own, raws, sub, token)
        results = {
            "sdk_one_client": checked(sandbox, lambda: sdk_gets(shared, SEQUENTIAL), SEQUENTIAL),
            "raw_one_connection": checked(
                sandbox, lambda: raw_gets(raws[0], sub, token, SEQUENTIAL), SEQUENTIAL
            ),
            "sdk_8_threads_shared_client": checked(
                sandbox, in_threads([lambda: sdk_gets(shared, PER_THREAD)] * THREADS), total
            ),
            "sdk_8_threads_own_clients": checked(
                sandbox, in_threads([lambda c=c: sdk_gets(c, PER_THREAD) for c in own]), total
            ),
            "raw_8_threads_own_connections": checked(
                sandbox, in_threads([lambda r=r: raw_gets(r, sub, token, PER_THREAD) for r in raws]), total
            ),
        }
        return results | {"sdk_overhead": overhead(results["sdk_one_client"], results["raw_one_connection"])}
    finally:
        for client in [shared, *own]:
            client.close()
        for connection in raws:
            connection.close()


def warm_up(
    shared: NetworkManagementClient,
    own: list[NetworkManagementClient],
    raws: list[http.client.HTTPSConnection],
    sub: str,
    token: str,
) -> None:
    """Open every connection (TLS handshake, token) before any clock starts."""
    in_threads([lambda: sdk_gets(shared, SERVICES)] * THREADS)()
    for client in own:
        sdk_gets(client, 1)
    for connection in raws:
        raw_gets(connection, sub, token, 1)


def time_list(sandbox: launch.RunningSandbox, client: NetworkManagementClient) -> tuple[float, int, int]:
    """Seconds, pages (from the server's log) and items of one full list_by_subscription."""
    sandbox.control("DELETE", "requests")
    began = time.perf_counter()
    items = len(list(client.private_link_services.list_by_subscription()))
    seconds = time.perf_counter() - began
    counts = sandbox.control("GET", "requests")["counts"]
    pages = sum(
        n for key, n in counts.items() if key.startswith("GET ") and key.endswith("/privateLinkServices")
    )
    return seconds, pages, items


def list_at(sandbox: launch.RunningSandbox, client: NetworkManagementClient, page_size: int) -> Sample:
    """``time_list`` ``REPEATS`` times at one page size, after a warm-up."""
    sandbox.control("PUT", "settings", {"page_size": page_size})
    time_list(sandbox, client)
    runs = [time_list(sandbox, client) for _ in range(REPEATS)]
    return spread([s for s, _, _ in runs], "s") | {
        "page_size": page_size,
        "pages": runs[-1][1],
        "items": runs[-1][2],
    }


def measure_lists(sandbox: launch.RunningSandbox, credential: ClientSecretCredential) -> dict[str, Any]:
    """Listing 1,000 PLS by subscription at the default page size and at one page."""
    began = time.perf_counter()
    spec = {"subscriptions": 1, "services": LISTED, "endpoints": 0}
    sub = sandbox.control("POST", "generate", spec)["subscriptions"][0]
    generate_s = time.perf_counter() - began
    client = network_client(sandbox, credential, sub)
    try:
        return {
            "generate_1000_services_s": round(generate_s, 3),
            "page_100": list_at(sandbox, client, 100),
            "page_1000": list_at(sandbox, client, 1000),
        }
    finally:
        sandbox.control("PUT", "settings", {"page_size": 100})
        client.close()
