"""Azure Monitor metrics for the two signals natlink watches, derived from the world.

* ``DipAvailability`` (load balancers, "Health Probe Status"): one series per load-balancing rule
  and backend address, with Azure's dimensions ``BackendIPAddress``, ``BackendPort``,
  ``FrontendIPAddress``, ``FrontendPort`` and ``ProtocolType`` (Azure Monitor's supported metrics
  for Microsoft.Network/loadBalancers). 100 while the backend's VM runs and its probe has not been
  failed through the control API (for the address, or for the address and one backend port), else
  0. A query that does not split by a dimension gets the average over it, as Azure answers.
* ``PLSNatPortsUsage`` (private link services, by ``PrivateLinkServiceIPAddress``): the value set
  through the control API, else 2 % of one NAT IP's ports per approved connection, spread
  evenly over the service's NAT IPs.

The sandbox keeps no history: every point of a series carries the current value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import compute, ids
from .errors import bad_request
from .world import Json, World

PERCENT_PER_CONNECTION = 2.0
MAX_POINTS = 1440
_INTERVALS = {
    "PT1M": 1,
    "PT5M": 5,
    "PT15M": 15,
    "PT30M": 30,
    "PT1H": 60,
    "PT6H": 360,
    "PT12H": 720,
    "P1D": 1440,
}
_CLAUSE = re.compile(r"^\s*([\w.]+)\s+eq\s+'([^']*)'\s*$", re.I)

Series = list[tuple[dict[str, str], float]]  # (dimension values, current value)


@dataclass(frozen=True)
class Definition:
    display: str
    dimension: str
    series: Callable[[World, Json], Series]


def probe_key(lb_id: str, ip: str, port: int | None = None) -> str:
    return f"{ids.key(lb_id)}|{ip}" + (f"|{port}" if port is not None else "")


def _dip_availability(world: World, lb: Json) -> Series:
    out: Series = []
    down = set(world.signals.setdefault("probe_down", []))
    frontends = {
        ids.key(f["id"]): f["properties"].get("privateIPAddress") or ""
        for f in lb["properties"]["frontendIPConfigurations"]
    }
    for rule in lb["properties"].get("loadBalancingRules") or []:
        props = rule["properties"]
        pool_id = (props.get("backendAddressPool") or {}).get("id")
        frontend = frontends.get(ids.key((props.get("frontendIPConfiguration") or {}).get("id", "")), "")
        if not pool_id:
            continue
        for ip, running in _members(world, pool_id):
            port = props.get("backendPort")
            healthy = running and not {probe_key(lb["id"], ip), probe_key(lb["id"], ip, port)} & down
            dims = {
                "BackendIPAddress": ip,
                "BackendPort": str(port),
                "FrontendIPAddress": frontend,
                "FrontendPort": str(props.get("frontendPort")),
                "ProtocolType": str(props.get("protocol", "Tcp")).upper(),
            }
            out.append((dims, 100.0 if healthy else 0.0))
    return out


def _members(world: World, pool_id: str) -> list[tuple[str, bool]]:
    """The addresses of a pool's NIC members, and whether each one's VM runs."""
    found = []
    for config_id in world.referrers("pool", pool_id):
        if in_scale_set := compute.scale_set_nic_config(world, config_id):  # a scale set instance's NIC
            config, instance = in_scale_set
            running = instance is not None and instance["power"] == "running"
            found.append((config["properties"]["privateIPAddress"], running))
            continue
        parsed = ids.parse(config_id)
        nic = world.get(parsed.parent) if parsed else None
        if nic is None:
            continue
        config = next(
            c for c in nic["properties"]["ipConfigurations"] if ids.key(c["id"]) == ids.key(config_id)
        )
        vm = world.get(nic["properties"].get("virtualMachine", {}).get("id", ""))
        found.append((config["properties"]["privateIPAddress"], vm is None or vm.get("_power") == "running"))
    parsed = ids.parse(pool_id)
    lb = world.get(parsed.parent) if parsed else None
    for pool in (lb or {}).get("properties", {}).get("backendAddressPools", []):
        if ids.key(pool["id"]) == ids.key(pool_id):  # an IP-based pool: no VM to be stopped
            found += [
                (a["properties"]["ipAddress"], True)
                for a in pool["properties"].get("loadBalancerBackendAddresses", [])
                if a["properties"].get("ipAddress")
            ]
    return found


def _nat_ports_usage(world: World, pls: Json) -> Series:
    props = pls["properties"]
    nic = world.get(props["networkInterfaces"][0]["id"])
    ips = [
        c["properties"]["privateIPAddress"]
        for c in (nic or {}).get("properties", {}).get("ipConfigurations", [])
    ]
    approved = sum(
        1
        for c in props["privateEndpointConnections"]
        if c["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"
    )
    default = min(100.0, PERCENT_PER_CONNECTION * approved / max(1, len(ips)))
    usage = world.signals.setdefault("nat_usage", {})
    return [
        ({"PrivateLinkServiceIPAddress": ip}, float(usage.get(probe_key(pls["id"], ip), default)))
        for ip in ips
    ]


DEFINITIONS: dict[str, dict[str, Definition]] = {
    "microsoft.network/loadbalancers": {
        "dipavailability": Definition("Health Probe Status", "BackendIPAddress", _dip_availability)
    },
    "microsoft.network/privatelinkservices": {
        "plsnatportsusage": Definition("Nat Ports Usage", "PrivateLinkServiceIPAddress", _nat_ports_usage)
    },
}
_CANONICAL = {"dipavailability": "DipAvailability", "plsnatportsusage": "PLSNatPortsUsage"}


def _namespace(resource: Json) -> str:
    return resource["type"].lower()


def _filters(expression: str | None) -> dict[str, str]:
    """``A eq '*' and B eq 'x'`` → ``{"a": "*", "b": "x"}``: the subset of OData Azure Monitor takes."""
    if not expression:
        return {}
    out = {}
    for clause in re.split(r"\s+and\s+", expression.strip(), flags=re.I):
        match = _CLAUSE.match(clause)
        if not match:
            raise bad_request(
                # BadRequest: ARM's code: azure-docs common-deployment-errors.md
                "BadRequest",
                f"The $filter clause '{clause}' is not supported; use \"Dimension eq 'value'\".",
            )
        out[match.group(1).lower()] = match.group(2)
    return out


def _timeline(timespan: str | None, interval: str | None) -> tuple[str, str, list[str]]:
    grain = (interval or "PT1M").upper()
    if grain not in _INTERVALS:
        raise bad_request(
            # BadRequest: ARM's code: azure-docs common-deployment-errors.md
            "BadRequest",
            f"Interval '{interval}' is not supported; use one of {sorted(_INTERVALS)}.",
        )
    step = timedelta(minutes=_INTERVALS[grain])
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(hours=1)
    if timespan:
        try:
            first, last = (datetime.fromisoformat(p.replace("Z", "+00:00")) for p in timespan.split("/"))
        except ValueError:
            raise bad_request(
                # BadRequest: ARM's code: azure-docs common-deployment-errors.md
                "BadRequest",
                f"Timespan '{timespan}' is not 'start/end' in ISO 8601.",
            ) from None
        start, end = first.astimezone(UTC), last.astimezone(UTC)
    count = max(1, min(MAX_POINTS, math.ceil((end - start) / step)))
    stamps = [(start + i * step).isoformat().replace("+00:00", "Z") for i in range(count)]
    return f"{_iso(start)}/{_iso(end)}", grain, stamps


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def query(
    world: World, resources: list[Json], names: str | None, params: dict[str, str], namespace: str
) -> Json:
    """The body of a metrics answer for ``resources`` (one, or a subscription's in a region)."""
    known = DEFINITIONS.get(namespace.lower())
    if not known:
        # BadRequest: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("BadRequest", f"Metric namespace '{namespace}' has no metrics in the sandbox.")
    wanted = [n.strip() for n in (names or "").split(",") if n.strip()] or [_CANONICAL[k] for k in known]
    filters = _filters(params.get("$filter"))
    timespan, interval, stamps = _timeline(params.get("timespan"), params.get("interval"))
    aggregation = (params.get("aggregation") or "Average").split(",")[0].strip().lower()
    value = []
    for name in wanted:
        definition = known.get(name.lower())
        if definition is None:
            raise bad_request(
                # BadRequest: ARM's code: azure-docs common-deployment-errors.md
                "BadRequest",
                f"Failed to find metric configuration for provider: {namespace}, metric: {name}. "
                f"Valid metrics: {', '.join(_CANONICAL[k] for k in known)}.",
            )
        series = [
            ({"Microsoft.ResourceId": r["id"]} | dims, v)
            for r in resources
            for dims, v in definition.series(world, r)
        ]
        value.append(_metric(resources, name, definition, _split(series, filters), stamps, aggregation))
    return {
        "cost": 0,
        "timespan": timespan,
        "interval": interval,
        "value": value,
        "namespace": resources[0]["type"] if resources else namespace,
        "resourceregion": resources[0]["location"] if resources else "",
    }


def _split(series: Series, filters: dict[str, str]) -> Series:
    """Keep the series the filter selects; split by dimensions filtered with ``*``, average the rest."""
    kept = [
        (dims, v)
        for dims, v in series
        if all(
            value == "*" or dims.get(_dimension(dims, name), "").lower() == value.lower()
            for name, value in filters.items()
        )
    ]
    groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for dims, v in kept:
        key = tuple((k, dims[k]) for k in dims if k.lower() in filters)
        groups.setdefault(key, []).append(v)
    return [(dict(key), sum(vs) / len(vs)) for key, vs in groups.items()]


def _dimension(dims: dict[str, str], lowered: str) -> str:
    return next((k for k in dims if k.lower() == lowered), lowered)


def _metric(
    resources: list[Json],
    name: str,
    definition: Definition,
    series: Series,
    stamps: list[str],
    aggregation: str,
) -> Json:
    owner = resources[0]["id"] if len(resources) == 1 else ""
    canonical = _CANONICAL[name.lower()]
    return {
        "id": f"{owner}/providers/Microsoft.Insights/metrics/{canonical}",
        "type": "Microsoft.Insights/metrics",
        "name": {"value": canonical, "localizedValue": definition.display},
        "displayDescription": f"{definition.display} by {definition.dimension}",
        "unit": "Percent",
        "errorCode": "Success",
        "timeseries": [
            {
                "metadatavalues": [
                    {"name": {"value": k.lower(), "localizedValue": k.lower()}, "value": v}
                    for k, v in dims.items()
                ],
                "data": [{"timeStamp": t, aggregation: value} for t in stamps],
            }
            for dims, value in series
        ],
    }
