"""Load balancers: frontends, backend pools, probes, load-balancing, inbound NAT and outbound rules.

Backend pool membership is NIC-based, as in Azure: a NIC's IP configuration names the pool,
and the pool's ``backendIPConfigurations`` and ``loadBalancerBackendAddresses`` are derived from
that on read. A PUT that sends those NIC-based addresses back is refused, as Azure refuses it.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from . import ids
from .common import (
    NETWORK,
    allocate_ip,
    allocation_method,
    as_list,
    child,
    draft,
    guid,
    kept_address,
    properties,
    ref_id,
    refuse_if_used,
    rendered,
    require_subnet,
    unique_names,
)
from .errors import ArmError, bad_request, invalid_reference
from .network import check_members_of, ipconfig_claims
from .world import Claim, Json, Ref, World

LB_TYPE = "Microsoft.Network/loadBalancers"
PROTOCOLS = {"Tcp", "Udp", "All"}
PROBE_PROTOCOLS = {"Tcp", "Http", "Https"}
# (collection, relation of its users, error code, message): what refuses a change while in use.
REMOVAL_REFUSALS = (
    (
        "frontendIPConfigurations",
        "frontend-pls",
        "LoadBalancerFrontendIPConfigurationInUseByPrivateLinkService",
        "Frontend IP configuration {id} is used by private link service {user} and cannot be removed.",
    ),
    (
        "backendAddressPools",
        "pool",
        "InUseBackendAddressPoolCannotBeDeleted",
        "Backend address pool {id} is in use by {user} and cannot be removed.",
    ),
)
DELETE_REFUSALS = (
    (
        "frontendIPConfigurations",
        "frontend-pls",
        "LoadBalancerInUseByPrivateLinkService",
        "Load balancer {rid} cannot be deleted because its frontend IP configuration {name} is used by "
        "private link service {user}.",
    ),
    (
        "backendAddressPools",
        "pool",
        "InUseBackendAddressPoolCannotBeDeleted",
        "Load balancer {rid} cannot be deleted because backend address pool {name} is in use by {user}. "
        "Remove the network interfaces from the pool first.",
    ),
)


def _port(value: Any, field: str, rid: str, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 65535:
        raise bad_request(
            # InvalidLoadBalancerPort: the stand-in's own
            "InvalidLoadBalancerPort",
            f"{field} must be an integer from {low} to 65535, not {value!r}.",
            rid,
        )
    return value


def _own_ref(value: Any, field: str, collection: str, names: set[str], lb_id: str, rid: str) -> Json:
    target = ref_id(value, field, rid)
    parsed = ids.parse(target)
    if (
        parsed is None
        or ids.key(parsed.parent) != ids.key(lb_id)
        or len(parsed.types) != 2
        or parsed.types[1].lower() != collection.lower()
        or parsed.name.lower() not in names
    ):
        raise invalid_reference(target, rid)
    return {"id": target}


class LoadBalancers:
    namespace = NETWORK
    type = "loadBalancers"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, _, props, stored = draft(world, rid, parsed, LB_TYPE, body)
        lb_id = stored["id"]
        sku = (body.get("sku") or {}).get("name", "Basic")
        if sku not in ("Basic", "Standard"):
            raise bad_request(
                # InvalidLoadBalancerSku: the stand-in's own
                "InvalidLoadBalancerSku",
                f"Load balancer SKU must be Basic or Standard, not {sku!r}.",
                rid,
            )
        stored["sku"] = {"name": sku, "tier": "Regional"}
        old = (existing or {}).get("properties", {})
        frontends = self._frontends(world, lb_id, props, old)
        pools = [
            _pool(world, lb_id, p, rid)
            for p in as_list(props.get("backendAddressPools"), "backendAddressPools", rid)
        ]
        names = {
            "frontendIPConfigurations": {f["name"].lower() for f in frontends},
            "backendAddressPools": {p["name"].lower() for p in pools},
        }
        probes = [self._probe(lb_id, p, rid) for p in as_list(props.get("probes"), "probes", rid)]
        names["probes"] = {p["name"].lower() for p in probes}
        rules = [
            self._rule(lb_id, r, names, rid)
            for r in as_list(props.get("loadBalancingRules"), "loadBalancingRules", rid)
        ]
        nat_rules = [
            self._nat_rule(lb_id, r, names, rid)
            for r in as_list(props.get("inboundNatRules"), "inboundNatRules", rid)
        ]
        outbound = [
            self._outbound_rule(lb_id, r, names, rid)
            for r in as_list(props.get("outboundRules"), "outboundRules", rid)
        ]
        for collection, items in (
            ("frontendIPConfigurations", frontends),
            ("backendAddressPools", pools),
            ("probes", probes),
            ("loadBalancingRules", rules),
            ("inboundNatRules", nat_rules),
            ("outboundRules", outbound),
        ):
            unique_names(items, collection, rid)
        _check_rule_clash(rules + nat_rules, rid)
        _check_backend_clash(rules, rid)
        self._check_removals(world, old, frontends, pools, rid)
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": old.get("resourceGuid", guid()),
            "frontendIPConfigurations": frontends,
            "backendAddressPools": pools,
            "probes": probes,
            "loadBalancingRules": rules,
            "inboundNatRules": nat_rules,
            "inboundNatPools": [],
            "outboundRules": outbound,
        }
        check_members_of(world, stored, rid)
        return stored

    def _frontends(self, world: World, lb_id: str, props: Json, old: Json) -> list[Json]:
        previous = {f["name"].lower(): f["properties"] for f in old.get("frontendIPConfigurations", [])}
        out = []
        for item in as_list(props.get("frontendIPConfigurations"), "frontendIPConfigurations", lb_id):
            fid, fe = child(
                lb_id, "frontendIPConfigurations", item, f"{LB_TYPE}/frontendIPConfigurations", lb_id
            )
            fprops = properties(item)
            out_props: Json = {"provisioningState": "Succeeded", "privateIPAddressVersion": "IPv4"}
            if fprops.get("publicIPAddress"):
                # The reference is kept as given, and a public IP that exists shows this frontend as
                # its user; a dangling one is not refused yet (tests build public frontends on
                # public IPs they never create).
                out_props["publicIPAddress"] = {
                    "id": ref_id(fprops["publicIPAddress"], "publicIPAddress", fid)
                }
            else:
                subnet_id = ref_id(fprops.get("subnet"), "subnet", fid)
                require_subnet(world, subnet_id, lb_id)
                method = allocation_method(fprops.get("privateIPAllocationMethod"), fid)
                kept = kept_address(previous.get(fe["name"].lower(), {}), subnet_id)
                ip = allocate_ip(world, subnet_id, fid, method, fprops.get("privateIPAddress"), kept)
                out_props |= {
                    "privateIPAddress": ip,
                    "privateIPAllocationMethod": method,
                    "subnet": {"id": subnet_id},
                }
            fe["properties"] = out_props
            out.append(fe)
        return out

    @staticmethod
    def _probe(lb_id: str, item: Json, rid: str) -> Json:
        _, probe = child(lb_id, "probes", item, f"{LB_TYPE}/probes", rid)
        props = properties(item)
        protocol = props.get("protocol", "Tcp")
        if protocol not in PROBE_PROTOCOLS:
            raise bad_request(
                # InvalidProbeProtocol: the stand-in's own
                "InvalidProbeProtocol",
                f"Probe protocol must be one of {sorted(PROBE_PROTOCOLS)}.",
                rid,
            )
        if protocol != "Tcp" and not props.get("requestPath"):
            # ProbeRequestPathRequired: the stand-in's own
            raise bad_request("ProbeRequestPathRequired", f"An {protocol} probe needs a requestPath.", rid)
        probe["properties"] = {
            "provisioningState": "Succeeded",
            "protocol": protocol,
            "port": _port(props.get("port"), "probe port", rid),
            "intervalInSeconds": int(props.get("intervalInSeconds", 15)),
            "numberOfProbes": int(props.get("numberOfProbes", 1)),
            "probeThreshold": int(props.get("probeThreshold", 1)),
        }
        if props.get("requestPath"):
            probe["properties"]["requestPath"] = props["requestPath"]
        return probe

    @staticmethod
    def _rule(lb_id: str, item: Json, names: dict[str, set[str]], rid: str) -> Json:
        rule, props, out = _rule_core(lb_id, "loadBalancingRules", item, names, rid)
        out["loadDistribution"] = props.get("loadDistribution", "Default")
        out["disableOutboundSnat"] = bool(props.get("disableOutboundSnat", False))
        if props.get("backendAddressPool"):
            pools = names["backendAddressPools"]
            out["backendAddressPool"] = _own_ref(
                props["backendAddressPool"], "backendAddressPool", "backendAddressPools", pools, lb_id, rid
            )
            out["backendAddressPools"] = [out["backendAddressPool"]]
        if props.get("probe"):
            out["probe"] = _own_ref(props["probe"], "probe", "probes", names["probes"], lb_id, rid)
        return rule

    @staticmethod
    def _nat_rule(lb_id: str, item: Json, names: dict[str, set[str]], rid: str) -> Json:
        return _rule_core(lb_id, "inboundNatRules", item, names, rid)[0]

    @staticmethod
    def _outbound_rule(lb_id: str, item: Json, names: dict[str, set[str]], rid: str) -> Json:
        """An outbound rule (OutboundRulePropertiesFormat): SNAT for a pool through frontends."""
        _, rule = child(lb_id, "outboundRules", item, f"{LB_TYPE}/outboundRules", rid)
        props = properties(item)
        if props.get("protocol") not in PROTOCOLS:
            raise bad_request(
                # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                "InvalidRequestFormat",
                f"Outbound rule protocol must be one of {sorted(PROTOCOLS)}.",
                rid,
            )
        frontends = names["frontendIPConfigurations"]
        rule["properties"] = {
            "provisioningState": "Succeeded",
            "protocol": props["protocol"],
            "allocatedOutboundPorts": int(props.get("allocatedOutboundPorts", 0)),
            "idleTimeoutInMinutes": int(props.get("idleTimeoutInMinutes", 4)),
            "enableTcpReset": bool(props.get("enableTcpReset", False)),
            "frontendIPConfigurations": [
                _own_ref(f, "frontendIPConfigurations", "frontendIPConfigurations", frontends, lb_id, rid)
                for f in as_list(props.get("frontendIPConfigurations"), "frontendIPConfigurations", rid)
            ],
            "backendAddressPool": _own_ref(
                props.get("backendAddressPool"),
                "backendAddressPool",
                "backendAddressPools",
                names["backendAddressPools"],
                lb_id,
                rid,
            ),
        }
        return rule

    @staticmethod
    def _check_removals(world: World, old: Json, frontends: list[Json], pools: list[Json], rid: str) -> None:
        """A frontend a private link service uses, or a pool with members, cannot be removed."""
        kept = {ids.key(f["id"]) for f in frontends} | {ids.key(p["id"]) for p in pools}
        for collection, relation, code, message in REMOVAL_REFUSALS:
            for item in old.get(collection, []):
                if ids.key(item["id"]) not in kept:
                    refuse_if_used(world, relation, item, code, message, rid)

    def render(self, world: World, stored: Json) -> Json:
        out = rendered(stored)
        props = out["properties"]
        users: dict[str, dict[str, list[Json]]] = {}
        for collection in ("loadBalancingRules", "inboundNatRules", "outboundRules"):
            for rule in props[collection]:
                rprops = rule["properties"]
                used = [
                    rprops[f]
                    for f in ("frontendIPConfiguration", "backendAddressPool", "probe")
                    if f in rprops
                ]
                for ref in used + list(rprops.get("frontendIPConfigurations", [])):
                    users.setdefault(ids.key(ref["id"]), {}).setdefault(collection, []).append(
                        {"id": rule["id"]}
                    )
        for collection in ("frontendIPConfigurations", "backendAddressPools", "probes"):
            for item in props[collection]:
                item["properties"].update(users.get(ids.key(item["id"]), {}))
        for pool in props["backendAddressPools"]:
            members = world.referrers("pool", pool["id"])
            if members:
                pool["properties"]["backendIPConfigurations"] = [{"id": m} for m in members]
                # NIC-based members are listed as backend addresses too (API 2020-05-01 on), each
                # named by a GUID and pointing at its IP configuration (terraform-provider-azurerm#7691,
                # Azure/azure-rest-api-specs#10104). Read-only: see ``_pool``.
                pool["properties"]["loadBalancerBackendAddresses"] = [
                    {"name": member_name(m), "properties": {"networkInterfaceIPConfiguration": {"id": m}}}
                    for m in members
                ]
        return out

    def check_delete(self, world: World, rid: str) -> None:
        stored = world.require(rid, "load balancer")
        for collection, relation, code, message in DELETE_REFUSALS:
            for item in stored["properties"][collection]:
                refuse_if_used(world, relation, item, code, message, rid)

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return ipconfig_claims(stored, "frontendIPConfigurations")

    def refs(self, stored: Json) -> list[Ref]:
        frontends = stored["properties"]["frontendIPConfigurations"]
        return [
            ("subnet-ipconfig", ids.key(fe["properties"]["subnet"]["id"]), fe["id"])
            for fe in frontends
            if "subnet" in fe["properties"]
        ] + [
            ("public-ip", ids.key(fe["properties"]["publicIPAddress"]["id"]), fe["id"])
            for fe in frontends
            if "publicIPAddress" in fe["properties"]
        ]


def member_name(config_id: str) -> str:
    """The name Azure lists a NIC-based pool member under: a GUID, stable for its IP configuration."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ids.key(config_id)))


def _pool(world: World, lb_id: str, item: Json, rid: str) -> Json:
    """A backend pool of the PUT body. NIC-based addresses are Azure's to list, never the client's
    to send: Azure answers ``InvalidRequestFormat`` with ``DuplicateIpConfigurationReferenceOnBackend
    AddressPool`` details when a read-modify-write sends back what GET showed
    (terraform-provider-azurerm#7691 and #7741, Azure/azure-rest-api-specs#10104). A client that
    drops read-only fields (the Python SDK does) still sends each such address by its name."""
    pool_id, pool = child(lb_id, "backendAddressPools", item, f"{LB_TYPE}/backendAddressPools", rid)
    members = {member_name(m): m for m in world.referrers("pool", pool_id)}
    props = properties(item)
    details = []
    addresses = as_list(props.get("loadBalancerBackendAddresses"), "loadBalancerBackendAddresses", rid)
    for address in addresses:
        config = properties(address).get("networkInterfaceIPConfiguration")
        config_id = ref_id(config, "networkInterfaceIPConfiguration", rid) if config else None
        config_id = config_id or members.get(str(address.get("name", "")))
        if config_id:
            details.append(
                {
                    "code": "DuplicateIpConfigurationReferenceOnBackendAddressPool",
                    "message": f"Found duplicate ipConfiguration reference {config_id} on backend pool addresses "
                    f"{pool_id}/loadBalancerBackendAddresses/ and "
                    f"{pool_id}/loadBalancerBackendAddresses/{address.get('name', '')}.",
                }
            )
    if details:
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request.", target=rid, details=details)
    out: Json = {"provisioningState": "Succeeded"}
    by_ip = [_ip_address(world, a, pool_id, rid) for a in addresses if properties(a).get("ipAddress")]
    if by_ip:
        out["loadBalancerBackendAddresses"] = by_ip
    return pool | {"properties": out}


def _ip_address(world: World, address: Json, pool_id: str, rid: str) -> Json:
    """An IP-based pool member (LoadBalancerBackendAddress in loadBalancer.json, API 2020-05-01 on):
    an ``ipAddress`` and, for an internal load balancer, the ``virtualNetwork`` it is in; no NIC.
    Azure kept the pair as given; a VNet that does not exist is refused as any bad reference is."""
    name = address.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            f"Every address of backend pool {pool_id} needs a name.",
            rid,
        )
    props = properties(address)
    ip = props.get("ipAddress")
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise bad_request(
            # InvalidIPAddressOnBackendAddress: the stand-in's own
            "InvalidIPAddressOnBackendAddress",
            f"Backend address {name} of {pool_id} has an invalid ipAddress '{ip}'.",
            rid,
        ) from None
    vnet_id = ref_id(props.get("virtualNetwork"), "virtualNetwork", rid)
    if world.get(vnet_id) is None:
        raise invalid_reference(vnet_id, rid)
    return {"name": name, "properties": {"ipAddress": ip, "virtualNetwork": {"id": vnet_id}}}


def _check_rule_clash(rules: list[Json], rid: str) -> None:
    seen: dict[tuple[str, int, str], str] = {}
    for rule in rules:
        props = rule["properties"]
        slot = (ids.key(props["frontendIPConfiguration"]["id"]), props["frontendPort"], props["protocol"])
        if slot in seen:
            raise bad_request(
                # RulesUseSameFrontendIpAndPort: the stand-in's own
                "RulesUseSameFrontendIpAndPort",
                f"Load balancer rules {seen[slot]} and {rule['name']} use the same frontend IP configuration, "
                f"port {props['frontendPort']} and protocol {props['protocol']}.",
                rid,
            )
        seen[slot] = rule["name"]


def _check_backend_clash(rules: list[Json], rid: str) -> None:
    """Two load-balancing rules may not send the same protocol and backend port to the same pool
    unless floating IP is on: ``RulesUseSameBackendPortProtocolAndPool``, message as answered in
    Azure/azure-quickstart-templates#2014 and MicrosoftDocs/azure-docs#94673 and #117762."""
    seen: dict[tuple[str, str, int], str] = {}
    for rule in rules:
        props = rule["properties"]
        if props.get("enableFloatingIP"):
            continue
        refs = [*(props.get("backendAddressPools") or []), props.get("backendAddressPool") or {}]
        for pool in dict.fromkeys(r["id"] for r in refs if r):
            slot = (ids.key(pool), props["protocol"].lower(), props["backendPort"])
            if slot in seen:
                raise bad_request(
                    # RulesUseSameBackendPortProtocolAndPool: ARM's code, as answered in MicrosoftDocs/azure-docs#94673
                    "RulesUseSameBackendPortProtocolAndPool",
                    f"Load balancing rules {seen[slot]} and {rule['id']} with floating IP disabled use the same "
                    f"protocol {props['protocol']} and backend port {props['backendPort']}, and must not be "
                    f"used with the same backend address pool {pool}.",
                    rid,
                )
            seen[slot] = rule["id"]


def _rule_core(
    lb_id: str, collection: str, item: Json, names: dict[str, set[str]], rid: str
) -> tuple[Json, Json, Json]:
    """What load-balancing and inbound NAT rules share: protocol, frontend, ports and timeouts.

    Returns the rule, the request's properties and the rule's properties, for the caller to extend.
    """
    _, rule = child(lb_id, collection, item, f"{LB_TYPE}/{collection}", rid)
    props = properties(item)
    protocol = props.get("protocol")
    if protocol not in PROTOCOLS:
        raise bad_request(
            # InvalidLoadBalancingRuleProtocol: the stand-in's own
            "InvalidLoadBalancingRuleProtocol",
            f"Rule protocol must be one of {sorted(PROTOCOLS)}.",
            rid,
        )
    ha_ports = protocol == "All" and collection == "loadBalancingRules"
    frontends = names["frontendIPConfigurations"]
    out: Json = {
        "provisioningState": "Succeeded",
        "frontendIPConfiguration": _own_ref(
            props.get("frontendIPConfiguration"),
            "frontendIPConfiguration",
            "frontendIPConfigurations",
            frontends,
            lb_id,
            rid,
        ),
        "frontendPort": _port(props.get("frontendPort"), "frontendPort", rid, allow_zero=ha_ports),
        "backendPort": _port(props.get("backendPort"), "backendPort", rid, allow_zero=ha_ports),
        "protocol": protocol,
        "enableFloatingIP": bool(props.get("enableFloatingIP", False)),
        "idleTimeoutInMinutes": int(props.get("idleTimeoutInMinutes", 4)),
        "enableTcpReset": bool(props.get("enableTcpReset", False)),
    }
    rule["properties"] = out
    return rule, props, out
