"""``GET /metrics``: what an operator watches, in the Prometheus text format (the official
prometheus-client, rather than hand-written exposition: its escaping, types and histogram buckets
are what Prometheus parses).

Counters and histograms are kept in this process as things happen (ack latency by verb, ARM
responses by status with 429s apart, Slack API errors by method, each sweep's duration and ARM
requests, whichever way it was started); what lives in the database (operations by state and
verb, the worker queue, the outbox, the lease holder) is read when Prometheus scrapes, so several
instances sharing one database report the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage import events, leases, operations
from storage.database import open_database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # Slack wants an ack within 3 s
SWEEP_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)  # a big estate takes seconds
REQUEST_BUCKETS = (
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
)  # five lists per subscription, plus pages
LEASES = ("scheduler",)


class Metrics:
    """One registry per process (not prometheus-client's global one, so tests can hold several)."""

    def __init__(self, db_path: Path) -> None:
        self.registry = CollectorRegistry()
        self.ack = Histogram(
            "natlink_ack_seconds",
            "Time to ack a slash command, by verb",
            ["verb"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.arm = Counter(
            "natlink_arm_responses",
            "ARM responses by HTTP status (429: throttled)",
            ["status"],
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "natlink_slack_api_errors",
            "Slack Web API calls Slack refused, by method and error",
            ["method", "error"],
            registry=self.registry,
        )
        self.sweeps = Histogram(
            "natlink_sweep_seconds",
            "Duration of each sweep of Azure (scheduled, sweep --once or status --refresh)",
            buckets=SWEEP_BUCKETS,
            registry=self.registry,
        )
        self.sweep_requests = Histogram(
            "natlink_sweep_arm_requests",
            "ARM requests of each sweep of Azure, retries included",
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Stored(db_path))

    def sweep(self, seconds: float, requests: int) -> None:
        """One sweep, as ``Clients(on_sweep=...)`` reports it."""
        self.sweeps.observe(seconds)
        self.sweep_requests.observe(requests)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Stored(Collector):
    """What the database knows, read at scrape time."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def collect(self) -> Iterator[Metric]:
        db = open_database(self.db_path)
        ops = GaugeMetricFamily(
            "natlink_operations", "Operations by state and verb", labels=["state", "verb"]
        )
        queued = 0
        for (state, verb), count in operations.counts(db).items():
            ops.add_metric([state, verb], count)
            queued += count if state == "queued" else 0
        yield ops
        yield GaugeMetricFamily("natlink_worker_queue_depth", "Operations waiting for a worker", value=queued)
        outbox = GaugeMetricFamily("natlink_events", "Channel events by outbox state", labels=["state"])
        for state, count in events.counts(db).items():
            outbox.add_metric([state], count)
        yield outbox
        holder = GaugeMetricFamily(
            "natlink_lease_holder", "Which instance holds each lease (1)", labels=["lease", "holder"]
        )
        for name in LEASES:
            if (lease := leases.current(db, name)) is not None:
                holder.add_metric([name, lease.holder], 1)
        yield holder
