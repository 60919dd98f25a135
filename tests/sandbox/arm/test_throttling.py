"""ARM's subscription token buckets in the stand-in: the remaining-requests headers on every answer,
and the 429 with Retry-After once a bucket is empty, as the real SDK sees them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm.world import ARM_BUCKETS
from tests.arm_story import B_RG
from tests.conftest import TEAM_A, TEAM_B

READS = "x-ms-ratelimit-remaining-subscription-reads"
AZURE_DEFAULTS = {"throttle": True} | {
    f"{kind}_{part}": value
    for kind, (size, rate) in ARM_BUCKETS.items()
    for part, value in (("bucket", size), ("per_second", rate))
}


@pytest.fixture
def buckets(sandbox) -> Iterator[Any]:
    """The sandbox, with Azure's buckets put back afterwards (the session's sandbox is shared)."""
    yield sandbox
    sandbox.control("PUT", "settings", AZURE_DEFAULTS)


def client(sandbox, credential, subscription: str) -> NetworkManagementClient:
    """A network client that does not retry, so a 429 reaches the test."""
    return NetworkManagementClient(
        credential,
        subscription,
        base_url=sandbox.arm_url,
        connection_verify=sandbox.ca_bundle,
        retry_total=0,
    )


def headers_of(call) -> dict[str, str]:
    """The headers of the first response to one SDK call (a long-running one then polls), through
    its raw_response_hook."""
    seen: list[Any] = []
    call(raw_response_hook=lambda response: seen.append(response.http_response.headers))
    return dict(seen[0])


def test_the_default_is_azures_documented_rate(buckets) -> None:
    settings = buckets.control("GET", "settings")
    assert {k: settings[k] for k in AZURE_DEFAULTS} == AZURE_DEFAULTS
    assert ARM_BUCKETS == {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}


def test_every_answer_says_what_remains_of_its_kind(buckets, credential) -> None:
    slow = {f"{kind}_per_second": 0.01 for kind in ARM_BUCKETS}  # no token comes back meanwhile
    buckets.control("PUT", "settings", slow)
    net = client(buckets, credential, TEAM_B)
    first = headers_of(lambda **kw: list(net.private_link_services.list_by_subscription(**kw)))
    second = headers_of(lambda **kw: list(net.private_link_services.list_by_subscription(**kw)))
    assert int(second[READS]) == int(first[READS]) - 1 < 250
    missing = headers_of(lambda **kw: _swallow(lambda: net.load_balancers.get(B_RG, "no-such-lb", **kw)))
    assert int(missing[READS]) == int(second[READS]) - 1, "a 404 is a read ARM counted too"
    nsg = lambda **kw: net.network_security_groups.begin_create_or_update(  # noqa: E731
        B_RG, "nsg-count", {"location": "japaneast"}, **kw
    ).result()
    assert int(headers_of(nsg)["x-ms-ratelimit-remaining-subscription-writes"]) < 200
    delete = lambda **kw: net.network_security_groups.begin_delete(B_RG, "nsg-count", **kw).result()  # noqa: E731
    assert int(headers_of(delete)["x-ms-ratelimit-remaining-subscription-deletes"]) < 200


def test_an_empty_bucket_answers_429_with_retry_after_until_a_token_is_back(buckets, credential) -> None:
    buckets.control("PUT", "settings", {"reads_bucket": 3, "reads_per_second": 0.5})
    net = client(buckets, credential, TEAM_B)
    remaining = [
        int(headers_of(lambda **kw: list(net.private_link_services.list_by_subscription(**kw)))[READS])
        for _ in range(3)
    ]
    assert remaining == [2, 1, 0]
    with pytest.raises(HttpResponseError) as caught:
        list(net.private_link_services.list_by_subscription())
    refused = caught.value
    assert refused.status_code == 429 and refused.error.code == "SubscriptionRequestsThrottled"
    wait = refused.response.headers["Retry-After"]
    assert wait in ("1", "2") and refused.response.headers[READS] == "0"  # a token every 2 s
    assert f"subscription '{TEAM_B}'" in refused.message and f"after '{wait}' seconds" in refused.message
    other = client(buckets, credential, TEAM_A)
    assert (
        int(headers_of(lambda **kw: list(other.private_link_services.list_by_subscription(**kw)))[READS]) == 2
    ), "each subscription has its own bucket"
    time.sleep(int(wait) + 0.1)
    assert (
        int(headers_of(lambda **kw: list(net.private_link_services.list_by_subscription(**kw)))[READS]) == 0
    )


def test_with_throttling_off_every_bucket_stays_full(buckets, credential) -> None:
    buckets.control("PUT", "settings", {"throttle": False, "reads_bucket": 2})
    net = client(buckets, credential, TEAM_B)
    for _ in range(4):
        assert (
            headers_of(lambda **kw: list(net.private_link_services.list_by_subscription(**kw)))[READS] == "2"
        )


@pytest.mark.parametrize(
    "setting",
    [{"throttle": "yes"}, {"reads_bucket": 0}, {"writes_bucket": 1.5}, {"deletes_per_second": 0}],
)
def test_the_control_api_refuses_a_bad_throttle_setting(buckets, setting) -> None:
    with pytest.raises(RuntimeError, match="InvalidSetting"):
        buckets.control("PUT", "settings", setting)


def _swallow(call) -> None:
    """Make the call and ignore the error it answers with (its headers are what is read)."""
    with contextlib.suppress(HttpResponseError):
        call()
