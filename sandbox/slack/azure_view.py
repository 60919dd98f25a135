"""The ARM world as the page's Azure panel shows it: one summary per resource type, and one row per
link saying what each side of it sees (team A connects to an address; team B sees NAT addresses).

Read from the ARM stand-in's ``/_sandbox/state`` (the stored JSON), never from natlink, so the
panel shows what Azure holds, whatever the bot believes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

VNET = "microsoft.network/virtualnetworks"
NIC = "microsoft.network/networkinterfaces"
VM = "microsoft.compute/virtualmachines"
LB = "microsoft.network/loadbalancers"
PLS = "microsoft.network/privatelinkservices"
PE = "microsoft.network/privateendpoints"
NO_RULE: Json = {"frontendPort": None, "backendPort": None, "protocol": ""}


def summarise(state: Json) -> Json:
    """VNets, VMs, LBs, PLS, PEs, and one row per connection saying what each side sees."""
    world = _Index(state)
    vms, vm_by_nic = _vms(world)
    lbs = _load_balancers(world, vm_by_nic)
    services = _services(world, lbs)
    endpoints, links = _endpoints(world, services)
    return {
        "subscriptions": state.get("subscriptions") or [],
        "vnets": _vnets(world),
        "vms": vms,
        "lbs": lbs,
        "services": [s.entry for s in services],
        "endpoints": endpoints,
        "links": links,
    }


def key(rid: str | None) -> str:
    return (rid or "").lower()


def parent(rid: str, levels: int = 2) -> str:
    return "/".join(rid.split("/")[:-levels])


def _props(item: Json) -> Json:
    return item.get("properties") or {}


class _Index:
    """The state's resources by type, with the lookups every summary needs (team, addresses)."""

    def __init__(self, state: Json) -> None:
        self.by_type: dict[str, list[Json]] = {}
        for r in state.get("resources") or []:
            self.by_type.setdefault(str(r.get("type", "")).lower(), []).append(r)
        self.nics = {key(n["id"]): n for n in self.of(NIC)}
        self.teams = {
            s["subscriptionId"].lower(): s.get("displayName", "") for s in state.get("subscriptions") or []
        }
        self.ipconfig_ip = {
            key(c["id"]): ip
            for nic in self.nics.values()
            for c in _props(nic).get("ipConfigurations") or []
            if (ip := _props(c).get("privateIPAddress"))
        }

    def of(self, rtype: str) -> list[Json]:
        return self.by_type.get(rtype, [])

    def team(self, rid: str) -> str:
        parts = rid.split("/")
        subscription = parts[2] if len(parts) > 2 else ""
        return self.teams.get(subscription.lower(), subscription)

    def nic_ips(self, refs: list[Json]) -> list[str]:
        """The private addresses of the NICs ``refs`` point at."""
        ips = []
        for ref in refs:
            nic = self.nics.get(key(ref["id"])) or {}
            configs = _props(nic).get("ipConfigurations") or []
            ips += [c["properties"]["privateIPAddress"] for c in configs if _props(c).get("privateIPAddress")]
        return ips


def _vnets(world: _Index) -> list[Json]:
    vnets = []
    for vnet in world.of(VNET):
        props = _props(vnet)
        subnets = [
            {"id": s["id"], "name": s["name"], "prefix": _props(s).get("addressPrefix", "")}
            for s in props.get("subnets") or []
        ]
        vnets.append(
            {
                "id": vnet["id"],
                "name": vnet["name"],
                "team": world.team(vnet["id"]),
                "prefixes": (props.get("addressSpace") or {}).get("addressPrefixes") or [],
                "subnets": subnets,
            }
        )
    return vnets


def _vms(world: _Index) -> tuple[list[Json], dict[str, str]]:
    """The VMs, and which VM each NIC (by key) belongs to."""
    vms, vm_by_nic = [], {}
    for vm in world.of(VM):
        refs = (_props(vm).get("networkProfile") or {}).get("networkInterfaces") or []
        vm_by_nic |= {key(ref["id"]): vm["name"] for ref in refs}
        vms.append(
            {
                "id": vm["id"],
                "name": vm["name"],
                "team": world.team(vm["id"]),
                "ips": world.nic_ips(refs),
                "power": vm.get("powerState", "unknown"),
            }
        )
    return vms, vm_by_nic


def _load_balancers(world: _Index, vm_by_nic: dict[str, str]) -> list[Json]:
    lbs = []
    for lb in world.of(LB):
        props = _props(lb)
        frontends = [
            {"id": f["id"], "ip": _props(f).get("privateIPAddress", "")}
            for f in props.get("frontendIPConfigurations") or []
        ]
        backends = [
            {"ip": world.ipconfig_ip.get(key(ref["id"]), ""), "vm": vm_by_nic.get(key(parent(ref["id"])), "")}
            for pool in props.get("backendAddressPools") or []
            for ref in _props(pool).get("backendIPConfigurations") or []
        ]
        rules = [
            {
                "name": rule["name"],
                "frontend": key((_props(rule).get("frontendIPConfiguration") or {}).get("id")),
                "frontendPort": _props(rule).get("frontendPort"),
                "backendPort": _props(rule).get("backendPort"),
                "protocol": _props(rule).get("protocol", ""),
            }
            for rule in props.get("loadBalancingRules") or []
        ]
        lbs.append(
            {
                "id": lb["id"],
                "name": lb["name"],
                "team": world.team(lb["id"]),
                "sku": (lb.get("sku") or {}).get("name", ""),
                "frontends": frontends,
                "backends": backends,
                "rules": rules,
            }
        )
    return lbs


@dataclass
class _Service:
    """A private link service as shown, with its load balancer and its rules for the links."""

    entry: Json
    lb: Json | None
    rules: list[Json]


def _services(world: _Index, lbs: list[Json]) -> list[_Service]:
    frontend_lb = {key(f["id"]): lb for lb in lbs for f in lb["frontends"]}
    services = []
    for pls in world.of(PLS):
        props = _props(pls)
        nat_ips = world.nic_ips(props.get("networkInterfaces") or []) or [
            c["properties"]["privateIPAddress"]
            for c in props.get("ipConfigurations") or []
            if _props(c).get("privateIPAddress")
        ]
        fronts = [key(f["id"]) for f in props.get("loadBalancerFrontendIpConfigurations") or []]
        lb = next((frontend_lb[f] for f in fronts if f in frontend_lb), None)
        rules = [r for r in (lb or {}).get("rules", []) if r["frontend"] in fronts] or [NO_RULE]
        entry = {
            "id": pls["id"],
            "name": pls["name"],
            "team": world.team(pls["id"]),
            "alias": props.get("alias", ""),
            "natIps": nat_ips,
            "lb": lb["name"] if lb else "",
            "connections": [_connection(c) for c in props.get("privateEndpointConnections") or []],
        }
        services.append(_Service(entry, lb, rules))
    return services


def _connection(connection: Json) -> Json:
    props = _props(connection)
    state = props.get("privateLinkServiceConnectionState") or {}
    return {
        "id": connection["id"],
        "name": connection["name"],
        "endpoint": (props.get("privateEndpoint") or {}).get("id", ""),
        "status": state.get("status", ""),
        "description": state.get("description", ""),
    }


def _endpoints(world: _Index, services: list[_Service]) -> tuple[list[Json], list[Json]]:
    """The private endpoints, and a link row per endpoint of a known service and rule of its LB."""
    by_target = {key(s.entry[field]): s for s in services for field in ("alias", "id")}
    endpoints, links = [], []
    for pe in world.of(PE):
        props = _props(pe)
        ips = world.nic_ips(props.get("networkInterfaces") or [])
        requests = [
            *(props.get("privateLinkServiceConnections") or []),
            *(props.get("manualPrivateLinkServiceConnections") or []),
        ]
        target = _props(requests[0]).get("privateLinkServiceId", "") if requests else ""
        service = by_target.get(key(target))
        status = _endpoint_status(pe, service, requests)
        subnet = (props.get("subnet") or {}).get("id", "")
        endpoints.append(
            {
                "id": pe["id"],
                "name": pe["name"],
                "team": world.team(pe["id"]),
                "ips": ips,
                "subnet": "/".join(subnet.split("/")[-3::2]) if subnet else "",
                "target": target,
                "service": service.entry["name"] if service else "",
                "status": status,
            }
        )
        if service is not None:
            links += [_link(world, pe, ips, status, service, rule) for rule in service.rules]
    return endpoints, links


def _endpoint_status(pe: Json, service: _Service | None, requests: list[Json]) -> str:
    """The provider's word on the connection when the service is known; else the endpoint's own."""
    if service is not None:
        mine = (c["status"] for c in service.entry["connections"] if key(c["endpoint"]) == key(pe["id"]))
        return next(mine, "Disconnected")
    if requests:
        return (_props(requests[0]).get("privateLinkServiceConnectionState") or {}).get("status", "")
    return ""


_REQUEST = re.compile(r"natlink:(r-[A-Za-z0-9_-]+)")
"""natlink's request token in a connection's description or an endpoint's request message: the
page's Verify button names the request. (The stand-in reads the token as any client would; it
imports nothing of natlink.)"""


def _request_of(pe: Json, service: _Service) -> str:
    """The natlink request a link belongs to, when its connection or endpoint carries the token."""
    texts = [
        c.get("description") or ""
        for c in service.entry["connections"]
        if key(c["endpoint"]) == key(pe["id"])
    ]
    props = _props(pe)
    for made in (
        *(props.get("privateLinkServiceConnections") or []),
        *(props.get("manualPrivateLinkServiceConnections") or []),
    ):
        texts.append(_props(made).get("requestMessage") or "")
    found = next((m for t in texts if (m := _REQUEST.search(t))), None)
    return found.group(1) if found else ""


def _link(world: _Index, pe: Json, ips: list[str], status: str, service: _Service, rule: Json) -> Json:
    """What each side of one endpoint-to-service link sees, for one load-balancing rule."""
    destination = f"{ips[0] if ips else '?'}:{_or_unknown(rule['frontendPort'])}"
    nat_ips = service.entry["natIps"]
    backend_port = _or_unknown(rule["backendPort"])
    return {
        "service": service.entry["name"],
        "endpoint": pe["name"],
        "status": status,
        "consumer": world.team(pe["id"]),
        "provider": service.entry["team"],
        "destination": destination,
        "natIps": nat_ips,
        "backends": [
            f"{b['vm'] or '?'} {b['ip']}:{backend_port}" for b in (service.lb or {}).get("backends", [])
        ],
        "request": _request_of(pe, service),
        "aSees": f"connect to {destination}",
        "bSees": f"source {', '.join(nat_ips) or '?'}",
    }


def _or_unknown(port: int | None) -> str:
    return str(port) if port is not None else "?"
