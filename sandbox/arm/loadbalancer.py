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
from .errors import ArmError, bad_request, invalid_reference, not_found
from .network import check_members_of, check_nat_range, ipconfig_claims, is_nat_v2, pool_members
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
    (
        "inboundNatRules",
        "nat-rule",
        # InUseInboundNatRuleCannotBeDeleted: the stand-in's own (the rule is Azure's: a v1 rule is
        # linked from the NIC side, so the NIC must let go first; no source names the code)
        "InUseInboundNatRuleCannotBeDeleted",
        "Inbound NAT rule {id} is in use by {user} and cannot be removed. Remove it from the network "
        "interface IP configuration first.",
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
    (
        "inboundNatRules",
        "nat-rule",
        # InUseInboundNatRuleCannotBeDeleted: the stand-in's own
        "InUseInboundNatRuleCannotBeDeleted",
        "Load balancer {rid} cannot be deleted because inbound NAT rule {name} is in use by {user}. "
        "Remove the rule from the network interface IP configuration first.",
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


def _pool_ref(value: Any, names: dict[str, set[str]], lb_id: str, rid: str) -> Json:
    """A rule's ``backendAddressPool``: one of this LB's own pools."""
    return _own_ref(
        value, "backendAddressPool", "backendAddressPools", names["backendAddressPools"], lb_id, rid
    )


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
            _nat_rule(lb_id, r, names, rid)
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
        _check_rule_clash(rules, rid)
        _check_nat_frontend_ports(rules, nat_rules, rid)
        _check_backend_clash(rules, rid)
        self._check_removals(world, old, frontends + pools + nat_rules, rid)
        _check_nat_rule_users(world, nat_rules, rid)
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
        _check_nat_ranges(world, stored, rid)
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
            "backendAddressPool": _pool_ref(props.get("backendAddressPool"), names, lb_id, rid),
        }
        return rule

    @staticmethod
    def _check_removals(world: World, old: Json, kept_items: list[Json], rid: str) -> None:
        """A frontend a private link service uses, a pool with members, or an inbound NAT rule a NIC
        IP configuration names, cannot be removed."""
        kept = {ids.key(item["id"]) for item in kept_items}
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
        for rule in props["inboundNatRules"]:
            users = world.referrers("nat-rule", rule["id"])
            if users:
                # Read-only, filled in by Azure from the NIC side (InboundNatRuleGet.json); a v1 rule
                # has at most one user (see network.check_nat_rule_refs).
                rule["properties"]["backendIPConfiguration"] = {"id": users[0]}
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
            _show_port_mappings(world, props["inboundNatRules"], pool)
        return out

    def check_delete(self, world: World, rid: str) -> None:
        stored = world.require(rid, "load balancer")
        for collection, relation, code, message in DELETE_REFUSALS:
            for item in stored["properties"].get(collection, []):
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
    An inbound NAT rule's ``frontendPort`` is left to ``_nat_rule`` (a v2 rule has a range instead).
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
        "frontendPort": (
            _port(props.get("frontendPort"), "frontendPort", rid, allow_zero=ha_ports)
            if collection == "loadBalancingRules"
            else 0
        ),
        "backendPort": _port(props.get("backendPort"), "backendPort", rid, allow_zero=ha_ports),
        "protocol": protocol,
        "enableFloatingIP": bool(props.get("enableFloatingIP", False)),
        "idleTimeoutInMinutes": int(props.get("idleTimeoutInMinutes", 4)),
        "enableTcpReset": bool(props.get("enableTcpReset", False)),
    }
    rule["properties"] = out
    return rule, props, out


# ------------------------------------------------------------------ inbound NAT rules
# Two kinds share ``inboundNatRules`` (InboundNatRulePropertiesFormat in loadBalancer.json; MicrosoftDocs
# azure-docs articles/load-balancer/inbound-nat-rules.md):
# * version 1: one ``frontendPort`` for one VM. The link is made from the NIC side (its IP
#   configuration's ``loadBalancerInboundNatRules``); the rule shows the read-only
#   ``backendIPConfiguration`` (InboundNatRuleGet.json).
# * version 2: a ``backendAddressPool`` and a ``frontendPortRangeStart``..``frontendPortRangeEnd``;
#   every member of the pool gets a frontend port of its own from the range, and the rule's
#   ``frontendPort`` reads 0 (LoadBalancerGetInboundNatRulePortMapping.json).
# A range without a pool is accepted (terraform-provider-azurerm#15097, from the API's behaviour); the
# stand-in treats it as a v2 rule that has no members yet.
def _nat_rule(lb_id: str, item: Json, names: dict[str, set[str]], rid: str) -> Json:
    rule, props, out = _rule_core(lb_id, "inboundNatRules", item, names, rid)
    port, start, end = (
        props.get(f) for f in ("frontendPort", "frontendPortRangeStart", "frontendPortRangeEnd")
    )
    has_range = start is not None or end is not None
    if port not in (None, 0) and has_range:
        raise bad_request(
            # UnsupportedSetOfInboundNatRulePropertiesWhenFrontendPortIsSpecified: ARM's code, as answered in Azure/azure-cli#21583
            "UnsupportedSetOfInboundNatRulePropertiesWhenFrontendPortIsSpecified",
            f"If FrontendPort {port} is set, properties FrontendPortRangeStart, FrontendPortRangeEnd should be null.",
            rid,
        )
    if (props.get("backendAddressPool") or has_range) and (start is None or end is None):
        raise bad_request(
            # MissedInboundNatRuleV2Properties: ARM's code, as answered in Azure/azure-cli#21583
            "MissedInboundNatRuleV2Properties",
            "For inbound Nat rule V2 properties FrontendPortRangeStart, FrontendPortRangeEnd should not be null.",
            rid,
        )
    if not has_range:
        out["frontendPort"] = _port(port, "frontendPort", rid)
        return rule
    first = _port(start, "frontendPortRangeStart", rid)
    last = _port(end, "frontendPortRangeEnd", rid)
    if first > last:
        raise bad_request(
            # InvalidInboundNatRuleFrontendPortRange: the stand-in's own
            "InvalidInboundNatRuleFrontendPortRange",
            f"Inbound NAT rule {rule['name']}: frontendPortRangeStart {first} is greater than "
            f"frontendPortRangeEnd {last}.",
            rid,
        )
    out |= {"frontendPortRangeStart": first, "frontendPortRangeEnd": last}
    if props.get("backendAddressPool"):
        out["backendAddressPool"] = _pool_ref(props["backendAddressPool"], names, lb_id, rid)
    return rule


def _frontend_ports(rule: Json) -> tuple[int, int]:
    """The frontend ports a rule takes, as an inclusive range; an HA ports rule takes them all."""
    props = rule["properties"]
    if "frontendPortRangeStart" in props:
        return props["frontendPortRangeStart"], props["frontendPortRangeEnd"]
    if props["frontendPort"] == 0:  # HA ports: protocol All, ports 0 (load-balancer-ha-ports-overview.md)
        return 1, 65535
    return props["frontendPort"], props["frontendPort"]


def _same_traffic(a: Json, b: Json) -> bool:
    """Whether two rules take traffic of one frontend and protocol ('All' is both TCP and UDP)."""
    pa, pb = a["properties"], b["properties"]
    if ids.key(pa["frontendIPConfiguration"]["id"]) != ids.key(pb["frontendIPConfiguration"]["id"]):
        return False
    return pa["protocol"] == pb["protocol"] or "All" in (pa["protocol"], pb["protocol"])


def _overlap(a: Json, b: Json) -> bool:
    (a_lo, a_hi), (b_lo, b_hi) = _frontend_ports(a), _frontend_ports(b)
    return _same_traffic(a, b) and a_lo <= b_hi and b_lo <= a_hi


def _describe_ports(rule: Json) -> str:
    low, high = _frontend_ports(rule)
    return f"port {low}" if low == high else f"ports {low}-{high}"


def _check_nat_frontend_ports(rules: list[Json], nat_rules: list[Json], rid: str) -> None:
    """A frontend port of one frontend and protocol is taken by one rule only: the spec says a NAT
    rule's frontend port "must be unique within the Load Balancer" (loadBalancer.json), and the
    docs that two NAT rules "can't exist if they have an overlapping port range"
    (load-balancer-nat-pool-migration.md). No source names the codes; both are the stand-in's own.
    An HA ports rule takes every port of its frontend, so no NAT rule fits beside it (the
    stand-in's reading: such a rule load-balances "all flows that arrive on all ports")."""
    for i, nat in enumerate(nat_rules):
        for other in nat_rules[i + 1 :]:
            if _overlap(nat, other):
                raise bad_request(
                    # InboundNatRulesUseSameFrontendIpAndPort: the stand-in's own
                    "InboundNatRulesUseSameFrontendIpAndPort",
                    f"Inbound NAT rules {nat['name']} ({_describe_ports(nat)}) and {other['name']} "
                    f"({_describe_ports(other)}) use the same frontend IP configuration, frontend port and "
                    "protocol.",
                    rid,
                )
        for rule in rules:
            if _overlap(nat, rule):
                raise bad_request(
                    # InboundNatRuleAndLoadBalancingRuleUseSameFrontendIpAndPort: the stand-in's own
                    "InboundNatRuleAndLoadBalancingRuleUseSameFrontendIpAndPort",
                    f"Inbound NAT rule {nat['name']} ({_describe_ports(nat)}) and load balancing rule "
                    f"{rule['name']} ({_describe_ports(rule)}) use the same frontend IP configuration, "
                    "frontend port and protocol.",
                    rid,
                )


def _check_nat_rule_users(world: World, nat_rules: list[Json], rid: str) -> None:
    """A rule a NIC IP configuration names must stay a v1 rule: v2 rules reach their VMs through
    the pool, never through a NIC's ``loadBalancerInboundNatRules``."""
    for rule in nat_rules:
        users = world.referrers("nat-rule", rule["id"])
        if users and is_nat_v2(rule):
            raise bad_request(
                # InboundNatRuleV2CannotBeReferencedByNetworkInterface: the stand-in's own
                "InboundNatRuleV2CannotBeReferencedByNetworkInterface",
                f"Inbound NAT rule {rule['id']} cannot have a frontend port range or a backend address pool "
                f"while network interface IP configuration {users[0]} references it.",
                rid,
            )


def _check_nat_ranges(world: World, lb: Json, rid: str) -> None:
    """Every member of a v2 rule's pool needs a port of the rule's range (see ``check_nat_range``)."""
    for rule in lb["properties"]["inboundNatRules"]:
        pool_ref = rule["properties"].get("backendAddressPool")
        if pool_ref:
            pool = next(
                p
                for p in lb["properties"]["backendAddressPools"]
                if ids.key(p["id"]) == ids.key(pool_ref["id"])
            )
            check_nat_range(rule, pool_members(world, pool), rid)


def _v2_rules_of(nat_rules: list[Json], pool_id: str) -> list[Json]:
    return [
        r
        for r in nat_rules
        if ids.key((r["properties"].get("backendAddressPool") or {}).get("id", "")) == ids.key(pool_id)
    ]


def _mapping(rule: Json, index: int) -> Json:
    props = rule["properties"]
    return {
        "inboundNatRuleName": rule["name"],
        "protocol": props["protocol"],
        "frontendPort": props["frontendPortRangeStart"] + index,
        "backendPort": props["backendPort"],
    }


def _show_port_mappings(world: World, nat_rules: list[Json], pool: Json) -> None:
    """Each address of a rendered pool shows its ports of the pool's v2 rules (read-only
    ``inboundNatRulesPortMapping`` of LoadBalancerBackendAddressPropertiesFormat)."""
    rules = _v2_rules_of(nat_rules, pool["id"])
    if not rules:
        return
    members = [m.lower() for m in pool_members(world, pool)]
    for address in pool["properties"].get("loadBalancerBackendAddresses", []):
        aprops = address["properties"]
        member = (aprops.get("networkInterfaceIPConfiguration") or {}).get("id") or aprops.get(
            "ipAddress", ""
        )
        if member.lower() in members:
            index = members.index(member.lower())
            aprops["inboundNatRulesPortMapping"] = [
                {k: v for k, v in _mapping(r, index).items() if k != "protocol"} for r in rules
            ]


def port_mappings(world: World, pool_id: str, body: Json) -> Json:
    """LoadBalancers_ListInboundNatRulePortMappings: the frontend port each v2 rule of the pool gives
    one member, named by ``ipConfiguration`` or ``ipAddress`` ("Either IpConfiguration or IpAddress
    should be set", QueryInboundNatRulePortMappingRequest in loadBalancer.json).

    Azure pre-allocates each member's ports from the range and does not say in which order; the
    stand-in gives the members, sorted by lower-cased IP configuration ID or address, the range's
    ports in turn (the stand-in's choice), so a member's ports can move when the pool changes."""
    parsed = ids.parse(pool_id)
    assert parsed is not None
    lb = world.require(parsed.parent, "load balancer")
    pool = next(
        (p for p in lb["properties"]["backendAddressPools"] if ids.key(p["id"]) == ids.key(pool_id)), None
    )
    if pool is None:
        raise not_found(pool_id, "backend address pool")
    config, address = body.get("ipConfiguration"), body.get("ipAddress")
    if (config is None) == (address is None):
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            "Cannot parse the request: either ipConfiguration or ipAddress should be set.",
            pool_id,
        )
    member = ref_id(config, "ipConfiguration", pool_id) if config is not None else str(address)
    members = [m.lower() for m in pool_members(world, pool)]
    if member.lower() not in members:
        raise bad_request(
            # BackendAddressNotInBackendAddressPool: the stand-in's own
            "BackendAddressNotInBackendAddressPool",
            f"{member} is not a member of backend address pool {pool_id}.",
            pool_id,
        )
    index = members.index(member.lower())
    rules = _v2_rules_of(lb["properties"]["inboundNatRules"], pool_id)
    return {"inboundNatRulePortMappings": [_mapping(r, index) for r in rules]}
