"""natlink slows down before ARM throttles, and waits out a 429's Retry-After: the real SDK through
natlink's clients against the stand-in's token buckets."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from cloud.clients import Clients
from cloud.retry import LOW_WATER_SECONDS, REFILL_PER_SECOND, Pacer
from sandbox.arm.launch import RunningSandbox
from sandbox.arm.world import ARM_BUCKETS
from tests.cloud.arm_log import requests
from tests.conftest import TEAM_B

PLS = f"/subscriptions/{TEAM_B}/providers/Microsoft.Network/privateLinkServices"
AZURE = {"reads_bucket": ARM_BUCKETS["reads"][0], "reads_per_second": ARM_BUCKETS["reads"][1]}


@pytest.fixture
def buckets(sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """The sandbox, with Azure's read bucket put back afterwards (the session's sandbox is shared)."""
    yield sandbox
    sandbox.control("PUT", "settings", AZURE)


def read(net: NetworkManagementClient) -> None:
    list(net.private_link_services.list_by_subscription())


def burst(net: NetworkManagementClient, reads: int) -> None:
    """``reads`` list calls from eight threads at once: far faster than ARM refills, unless paced."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: read(net), range(reads)))


def test_natlink_paces_a_subscription_whose_reads_run_low_and_is_never_throttled(
    buckets: RunningSandbox, clients: Clients, credential
) -> None:
    # A bucket 10 reads above natlink's low-water mark, refilled at ARM's documented rate.
    low = int(LOW_WATER_SECONDS * REFILL_PER_SECOND["reads"])
    buckets.control(
        "PUT", "settings", {"reads_bucket": low + 10, "reads_per_second": REFILL_PER_SECOND["reads"]}
    )
    burst(clients.network(TEAM_B), low + 60)
    served = requests(buckets, "GET", PLS)
    assert len(served) == low + 60 and {r["status"] for r in served} == {200}, "natlink was never throttled"
    paced = served[-1]["time"] - served[0]["time"]
    assert paced >= 45 / REFILL_PER_SECOND["reads"], "past the low-water mark, reads went at the refill rate"
    assert clients.pacer.waited > 1.0

    # The same burst from a client that does not read the header runs into ARM's 429.
    buckets.control("PUT", "settings", {"reads_bucket": low + 11})  # a new size: a full bucket
    unpaced = NetworkManagementClient(
        credential, TEAM_B, base_url=buckets.arm_url, connection_verify=buckets.ca_bundle, retry_total=0
    )
    with pytest.raises(HttpResponseError) as caught:
        burst(unpaced, 3 * (low + 60))
    assert caught.value.status_code == 429


def test_natlink_waits_out_retry_after_and_holds_the_subscription_meanwhile(
    buckets: RunningSandbox, clients: Clients
) -> None:
    buckets.control("PUT", "settings", {"reads_bucket": 1, "reads_per_second": 0.5})  # Retry-After: 2 s
    net = clients.network(TEAM_B)
    buckets.control("DELETE", "requests")
    read(net)
    read(net)  # throttled, then retried after Retry-After
    served = requests(buckets, "GET", PLS)
    assert [r["status"] for r in served] == [200, 429, 200]
    assert served[2]["time"] - served[1]["time"] >= 1.9, "the retry waited for Retry-After"


def test_a_429_holds_every_request_to_its_subscription_and_no_other() -> None:
    now = [100.0]
    slept: list[float] = []
    pacer = Pacer(clock=lambda: now[0], sleep=slept.append)
    url = f"https://arm.example/subscriptions/{TEAM_B}/providers/Microsoft.Network/privateLinkServices"
    pacer.heard("GET", url, 429, {"Retry-After": "3"})
    pacer.wait("PUT", url + "/pls-1")
    pacer.wait("GET", "https://arm.example/subscriptions/other/providers/Microsoft.Network/loadBalancers")
    assert slept == [3.0], "a write to the held subscription waited; another subscription did not"
    now[0] = 104.0
    pacer.wait("GET", url)
    assert slept == [3.0]
