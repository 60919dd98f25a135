"""What every benchmark shares: spreads and percentiles, PASS/FAIL, and the ARM sandbox's clients.

A figure is reported as a spread over repeats (median, min, max, the samples), so one noisy run
neither hides nor fakes a result; percentiles are by nearest rank, so p99 of 50 values is the
largest. The ARM helpers start a private sandbox child process on 127.0.0.1 and always stop it,
and build credentials and clients the way natlink builds them.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm import launch

SCOPE = "https://management.azure.com/.default"

Sample = dict[str, Any]


def spread(samples: list[float], unit: str) -> Sample:
    """Median and range of repeated runs, so one noisy run neither hides nor fakes a result."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "unit": unit,
        "samples": [round(s, 4) for s in samples],
    }


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of them at or below
    (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def pass_fail(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@contextmanager
def arm_sandbox(
    *args: str, environment: bool = False, throttle: bool = False
) -> Iterator[launch.RunningSandbox]:
    """A private ARM sandbox (``launch.start(*args)``), always stopped; with ``environment``, its
    variables are set in ``os.environ`` meanwhile (``DefaultAzureCredential`` reads them).

    ARM's throttling is off unless asked for: these benchmarks measure code (a naive script's
    thousands of GETs a second would only measure ARM's refill rate); ``bench.sweep``'s big world
    measures natlink under ARM's real buckets.
    """
    sandbox = launch.start(*args)
    saved = dict(os.environ)
    try:
        sandbox.control("PUT", "settings", {"throttle": throttle})
        if environment:
            os.environ.update(sandbox.environment())
        yield sandbox
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sandbox.stop()


def credential(sandbox: launch.RunningSandbox) -> ClientSecretCredential:
    """A credential against the sandbox's Entra stand-in, as natlink builds it."""
    c = sandbox.config
    return ClientSecretCredential(
        c["tenant_id"],
        c["client_id"],
        c["client_secret"],
        authority=c["authority_host"],
        disable_instance_discovery=True,
        connection_verify=c["ca_bundle"],
    )


def network_client(
    sandbox: launch.RunningSandbox, credential: ClientSecretCredential, subscription: str
) -> NetworkManagementClient:
    """A network client on the sandbox with its own keep-alive connection pool."""
    return NetworkManagementClient(
        credential, subscription, base_url=sandbox.arm_url, connection_verify=sandbox.ca_bundle
    )
