"""The two Azure Monitor signals natlink watches, read once per subscription, region and metric.

* **Probe health**: a load balancer's ``DipAvailability`` ("Health Probe Status") per backend IP,
  frontend IP and backend port, in percent of probes answered. Split by all three, so one
  service's failing probe on a shared load balancer (or a VM serving two services) is never
  averaged with another's: Azure averages over every dimension a query does not split by.
* **NAT port usage**: a private link service's ``PLSNatPortsUsage`` per NAT IP, in percent of
  that IP's SNAT ports in use.

Both are read with Azure Monitor's subscription-scope call (``Microsoft.ResourceId eq '*'`` split
by the metric's dimension), so a sweep costs two requests per subscription and region however
many services there are; per-resource calls would grow with the estate and meet ARM throttling.
Subscriptions are read concurrently. A subscription Azure Monitor does not answer for, whatever
the reason (a refusal, a 500, a metric error in the body), is reported as unreadable and its
signals are unknown; the others still count, and the sweep goes on without it.

The value of a series is the average of its latest minute that has data: Azure Monitor
publishes a minute a little late, so the newest minute of the window is often still empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.rest import HttpRequest
from azure.mgmt.monitor.operations._metrics_operations import build_list_at_subscription_scope_request

from . import ids
from .clients import Clients
from .errors import CloudError, raise_for_status, read_or_unreadable
from .model import Snapshot, Unreadable

WINDOW = timedelta(minutes=10)  # long enough to skip a few late minutes, short enough to stay cheap
INTERVAL = "PT1M"
TOP = 1000  # series per resource; Azure's default of 10 would cut a large backend pool short
_RESOURCE_ID = "microsoft.resourceid"

Json = dict[str, Any]


@dataclass(frozen=True)
class _Metric:
    namespace: str
    name: str
    dimensions: tuple[str, ...]


DIP_AVAILABILITY = _Metric(
    "Microsoft.Network/loadBalancers",
    "DipAvailability",
    ("BackendIPAddress", "FrontendIPAddress", "BackendPort"),
)
NAT_PORTS_USAGE = _Metric(
    "Microsoft.Network/privateLinkServices", "PLSNatPortsUsage", ("PrivateLinkServiceIPAddress",)
)


@dataclass(frozen=True)
class ProbeHealth:
    """How many of a backend's health probes for one frontend and backend port succeeded in the
    latest minute, in percent."""

    lb_id: str  # lower-cased
    ip: str
    frontend_ip: str
    port: int
    percent: float


@dataclass(frozen=True)
class NatUsage:
    """How many of one NAT IP's ports a private link service uses, in percent."""

    pls_id: str  # lower-cased
    ip: str
    percent: float


@dataclass(frozen=True)
class Signals:
    """What Azure Monitor reported for ``subscriptions`` in ``regions`` at ``read_at``.

    A pair missing from ``probes``/``nat_usage`` is unknown (no data, or its subscription is in
    ``unreadable``), never healthy or idle by default.
    """

    read_at: datetime
    subscriptions: tuple[str, ...]
    regions: tuple[str, ...]
    probes: tuple[ProbeHealth, ...]
    nat_usage: tuple[NatUsage, ...]
    unreadable: tuple[Unreadable, ...]
    _probe_index: dict[tuple[str, str, str, int], float] = field(init=False, repr=False, compare=False)
    _nat_index: dict[tuple[str, str], float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        probes = {(p.lb_id, p.ip.lower(), p.frontend_ip.lower(), p.port): p.percent for p in self.probes}
        object.__setattr__(self, "_probe_index", probes)
        object.__setattr__(self, "_nat_index", {(n.pls_id, n.ip.lower()): n.percent for n in self.nat_usage})

    def probe(self, lb_id: str, ip: str, frontend_ip: str, port: int) -> float | None:
        """The probe health of backend ``ip`` on ``port`` behind frontend ``frontend_ip`` of ``lb_id``
        (any case), or None when not known."""
        return self._probe_index.get((ids.key(lb_id), ip.lower(), frontend_ip.lower(), port))

    def nat(self, pls_id: str, ip: str) -> float | None:
        """The port usage of NAT IP ``ip`` of ``pls_id`` (any case), or None when not known."""
        return self._nat_index.get((ids.key(pls_id), ip.lower()))


def read_signals(clients: Clients, subscriptions: Iterable[str], regions: Iterable[str]) -> Signals:
    """Probe health and NAT port usage of every service in ``subscriptions`` and ``regions``.

    ``regions`` are the locations natlink's services are in (see :func:`regions`); a region
    with nothing in it costs a request but returns nothing.
    """
    subs = tuple(dict.fromkeys(s.lower() for s in subscriptions))
    where = tuple(dict.fromkeys(r for r in (_region(r) for r in regions) if r))
    read_at = datetime.now(UTC)
    if not subs or not where:
        return Signals(read_at, subs, where, (), (), ())
    results = clients.per_subscription(subs, lambda sub: _read(clients, sub, where, read_at))
    readings = [r for r in results if isinstance(r, tuple)]
    return Signals(
        read_at=read_at,
        subscriptions=subs,
        regions=where,
        probes=tuple(_probe_health(rid, dims, v) for probes, _ in readings for rid, dims, v in probes),
        nat_usage=tuple(
            NatUsage(rid, dims["privatelinkserviceipaddress"], v)
            for _, usage in readings
            for rid, dims, v in usage
        ),
        unreadable=tuple(r for r in results if isinstance(r, Unreadable)),
    )


def regions(snapshot: Snapshot) -> tuple[str, ...]:
    """The regions of the snapshot's services, normalised (``Japan East`` → ``japaneast``)."""
    return tuple(dict.fromkeys(r for r in (_region(s.location or "") for s in snapshot.services) if r))


def _probe_health(lb_id: str, dims: dict[str, str], percent: float) -> ProbeHealth:
    port = dims["backendport"]
    return ProbeHealth(
        lb_id,
        dims["backendipaddress"],
        dims["frontendipaddress"],
        int(port) if port.isdigit() else 0,
        percent,
    )


# ------------------------------------------------------------------------------------ reading
Reading = list[
    tuple[str, dict[str, str], float]
]  # (resource id lower, dimension values by lower name, percent)


def _read(
    clients: Clients, subscription: str, where: tuple[str, ...], now: datetime
) -> tuple[Reading, Reading] | Unreadable:
    """One subscription's two metrics in every region; any failure marks it unreadable (unknown)."""

    def read() -> tuple[Reading, Reading]:
        monitor = clients.monitor(subscription)
        probes: Reading = []
        usage: Reading = []
        for region in where:
            probes += _query(monitor, subscription, region, DIP_AVAILABILITY, now)
            usage += _query(monitor, subscription, region, NAT_PORTS_USAGE, now)
        return probes, usage

    try:
        return read_or_unreadable(subscription, read)
    except CloudError as error:  # metrics degrade: connection drift, reminders and the rest go on
        return Unreadable(subscription, error.code, error.message)


def _query(monitor: Any, subscription: str, region: str, metric: _Metric, now: datetime) -> Reading:
    """One metric of every resource of its type in ``region``, read as JSON.

    The request is the SDK's own, sent through the client's pipeline; the answer is read as
    JSON because building SDK models for a point a minute of thousands of series costs several
    times the HTTP work (as in :mod:`cloud.inventory`).
    """
    request = build_list_at_subscription_scope_request(
        subscription,
        region=region,
        metricnamespace=metric.namespace,
        metricnames=metric.name,
        timespan=f"{_iso(now - WINDOW)}/{_iso(now)}",
        interval=INTERVAL,
        aggregation="Average",
        top=TOP,
        filter=" and ".join(f"{d} eq '*'" for d in ("Microsoft.ResourceId", *metric.dimensions)),
    )
    response = _send(monitor, request)
    raise_for_status(response)
    out: Reading = []
    for found in response.json().get("value") or []:
        code = found.get("errorCode")
        if code and code.lower() != "success":
            message = found.get("errorMessage") or f"Azure Monitor could not read {metric.name} in {region}."
            raise CloudError(code, message, f"/subscriptions/{subscription}")
        for series in found.get("timeseries") or []:
            dims = {
                str((m.get("name") or {}).get("value") or "").lower(): m.get("value")
                for m in series.get("metadatavalues") or []
            }
            resource, wanted = (
                dims.get(_RESOURCE_ID),
                {d.lower(): str(dims.get(d.lower()) or "") for d in metric.dimensions},
            )
            percent = _latest(series.get("data") or [])
            if resource and all(wanted.values()) and percent is not None:
                out.append((ids.key(resource), wanted, percent))
    return out


def _send(monitor: Any, request: HttpRequest) -> Any:
    """``request`` through the client's pipeline (auth, retry, logging), as its operations send it.

    azure-mgmt-monitor 7 has no public ``send_request``, so this does what its operations do.
    """
    pipeline = monitor._client  # the client's ARMPipelineClient
    request.url = pipeline.format_url(request.url)
    return pipeline.send_request(request)


def _latest(points: list[Json]) -> float | None:
    """The average of the newest point that has one (the newest minute may not be published yet)."""
    known = [(_when(p.get("timeStamp")), p["average"]) for p in points if p.get("average") is not None]
    return float(max(known, key=lambda k: k[0])[1]) if known else None


def _when(stamp: str | None) -> datetime:
    try:
        return datetime.fromisoformat(stamp or "").astimezone(UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _region(name: str) -> str:
    return name.replace(" ", "").lower()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def answers(clients: Clients, subscription: str, region: str) -> Unreadable | None:
    """Whether Azure Monitor answers for ``subscription`` (None: it does). ``natlink doctor``'s check,
    with the cheapest call a sweep makes: one metric (NAT port usage) in one region."""

    def read() -> Reading:
        now = datetime.now(UTC)
        return _query(clients.monitor(subscription), subscription, _region(region), NAT_PORTS_USAGE, now)

    try:
        found = read_or_unreadable(subscription, read)
    except CloudError as error:
        return Unreadable(subscription, error.code, error.message)
    return found if isinstance(found, Unreadable) else None
