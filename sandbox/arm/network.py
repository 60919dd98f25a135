"""Virtual networks with their subnets, network interfaces, and what a subnet or a NIC links to.

A subnet may link a network security group, a route table and a NAT gateway; a NIC IP
configuration may hold a public IP and sit in load balancer backend pools. Each link is a
reference Azure validates (it must exist, and the caller must hold the linked resource's
``join/action``), and the linked resource shows its users derived on read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from . import ids
from .common import (
    NETWORK,
    allocate_ip,
    allocation_method,
    as_list,
    child,
    draft,
    find_child,
    guid,
    in_use,
    is_child,
    kept_address,
    properties,
    ref_id,
    rendered,
    require_join,
    require_name,
    require_subnet,
    unique_names,
)
from .errors import ArmError, bad_request, invalid_reference, not_found, parent_not_found
from .world import Claim, Json, Ref, World, etag

VNET_TYPE = "Microsoft.Network/virtualNetworks"
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
ROUTE_TABLE_TYPE = "Microsoft.Network/routeTables"
NAT_GATEWAY_TYPE = "Microsoft.Network/natGateways"
PUBLIC_IP_TYPE = "Microsoft.Network/publicIPAddresses"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
NIC_TYPE = "Microsoft.Network/networkInterfaces"


def _networks(prefixes: list[str], rid: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(p, strict=True) for p in prefixes]
    except ValueError as exc:
        # InvalidAddressPrefixFormat: the stand-in's own
        raise bad_request("InvalidAddressPrefixFormat", f"Address prefix is invalid: {exc}.", rid) from None


class VirtualNetworks:
    namespace = NETWORK
    type = "virtualNetworks"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, _, props, stored = draft(world, rid, parsed, VNET_TYPE, body)
        space = (props.get("addressSpace") or {}).get("addressPrefixes") or []
        if not space:
            raise bad_request(
                # AddressSpaceRequired: the stand-in's own
                "AddressSpaceRequired",
                f"Virtual network {rid} must have an address space.",
                rid,
            )
        networks = _networks(space, rid)
        stored_id = stored["id"]
        old_subnets = {ids.key(s["id"]): s for s in (existing or {}).get("properties", {}).get("subnets", [])}
        subnets = []
        for item in as_list(props.get("subnets"), "subnets", rid):
            name = item.get("name")
            if not isinstance(name, str):
                # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                raise bad_request("InvalidRequestFormat", "Every subnet needs a name.", rid)
            sid = ids.child_id(stored_id, "subnets", name)
            subnets.append(
                build_subnet(
                    world,
                    sid,
                    properties(item),
                    old_subnets.get(ids.key(sid)),
                    networks,
                    location=stored["location"],
                    action="Microsoft.Network/virtualNetworks/write",
                )
            )
        _check_overlaps(subnets, rid)
        kept = {ids.key(s["id"]) for s in subnets}
        for old_key, old in old_subnets.items():
            if old_key not in kept:
                check_subnet_unused(world, old["id"])
                world.forget_subnet(old["id"])
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": (existing or {}).get("properties", {}).get("resourceGuid", guid()),
            "addressSpace": {"addressPrefixes": list(space)},
            "subnets": subnets,
            "virtualNetworkPeerings": [],
            "enableDdosProtection": bool(props.get("enableDdosProtection", False)),
        }
        return stored

    def render(self, world: World, stored: Json) -> Json:
        out = rendered(stored)
        out["properties"]["subnets"] = [render_subnet(world, s) for s in stored["properties"]["subnets"]]
        return out

    def check_delete(self, world: World, rid: str) -> None:
        subnets = [rid] if is_child(rid) else [s["id"] for s in world.require(rid)["properties"]["subnets"]]
        for subnet_id in subnets:
            check_subnet_unused(world, subnet_id)

    def delete(self, world: World, rid: str) -> None:
        if is_child(rid):
            world.forget_subnet(rid)
            world.drop_child(rid, "subnets")
            return
        stored = world.get(rid)
        for subnet in stored["properties"]["subnets"] if stored else []:
            world.forget_subnet(subnet["id"])
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return [
            (relation, ids.key(subnet["properties"][field]["id"]), subnet["id"])
            for subnet in stored["properties"]["subnets"]
            for field, (_, relation) in SUBNET_LINKS.items()
            if field in subnet["properties"]
        ]


# What a subnet links to: field -> (resource type, index relation). A subnet PUT *replaces* the
# subnet: a link (or service endpoint, delegation) the body leaves out is removed, as in Azure
# ("Subnets - Create Or Update" is a PUT of the whole SubnetPropertiesFormat; portal and CLI
# read-modify-write it for that reason, azure-cli's `az network vnet subnet update`).
SUBNET_LINKS = {
    "networkSecurityGroup": ("networkSecurityGroups", "nsg"),
    "routeTable": ("routeTables", "route-table"),
    "natGateway": ("natGateways", "nat-gateway"),
}


def linked(world: World, value: object, field: str, rtype: str, rid: str, action: str) -> Json:
    """A reference to another resource that ``rid`` links to (and so must be allowed to join).

    ARM checks ``<type>/join/action`` on every linked resource of a write, changed or not, before
    the resource provider sees the request: a caller whose roles there do not grant it gets 403
    ``LinkedAuthorizationFailed`` (``require_join``). Then the resource must exist:
    ``InvalidResourceReference``.
    """
    target = ref_id(value, field, rid)
    parsed = ids.parse(target)
    assert parsed  # ref_id checked it
    require_join(world, target, f"Microsoft.Network/{rtype}/join/action", rid, action)
    if len(parsed.types) != 1 or parsed.types[0].lower() != rtype.lower() or world.get(target) is None:
        raise invalid_reference(target, rid)
    return {"id": target}


def _service_endpoints(value: object, location: str, sid: str) -> list[Json]:
    """Service endpoints as Azure stores them: the service, and the regions it applies to
    (SubnetCreateServiceEndpoint.json: Azure fills ``locations`` when the request leaves it out)."""
    out = []
    for item in as_list(value, "serviceEndpoints", sid):
        service = item.get("service")
        if not isinstance(service, str) or not service:
            raise bad_request(
                # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                "InvalidRequestFormat",
                "Cannot parse the request: every service endpoint needs a 'service'.",
                sid,
            )
        locations = item.get("locations") or [location]
        out.append({"service": service, "locations": list(locations), "provisioningState": "Succeeded"})
    return out


def _delegations(value: object, sid: str) -> list[Json]:
    out = []
    for item in as_list(value, "delegations", sid):
        name, service = item.get("name"), properties(item).get("serviceName")
        if not isinstance(name, str) or not isinstance(service, str):
            raise bad_request(
                # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                "InvalidRequestFormat",
                "Cannot parse the request: every delegation needs a 'name' and a 'serviceName'.",
                sid,
            )
        out.append(
            {
                "name": name,
                "id": ids.child_id(sid, "delegations", name),
                "type": f"{SUBNET_TYPE}/delegations",
                "etag": etag(),
                "properties": {"serviceName": service, "actions": [], "provisioningState": "Succeeded"},
            }
        )
    return out


def build_subnet(
    world: World,
    sid: str,
    props: Json,
    old: Json | None,
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    *,
    location: str,
    action: str = "Microsoft.Network/virtualNetworks/subnets/write",
) -> Json:
    """Validate one subnet definition against its VNet and what it already holds.

    The subnet is what the body says: links, service endpoints and delegations it leaves out are
    gone afterwards (a PUT replaces, see ``SUBNET_LINKS``). ``action`` is the write ARM authorizes
    (a subnet PUT, or a VNet PUT carrying its subnets), named in a ``LinkedAuthorizationFailed``.
    """
    require_name(sid.rsplit("/", 1)[1], sid)
    prefix = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
    if not isinstance(prefix, str):
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("InvalidRequestFormat", f"Subnet {sid} needs an addressPrefix.", sid)
    (network,) = _networks([prefix], sid)
    if not any(network.subnet_of(space) for space in networks if space.version == network.version):
        raise bad_request(
            # NetcfgInvalidSubnet: the stand-in's own
            "NetcfgInvalidSubnet",
            f"Subnet '{sid}' is not valid in virtual network: its prefix {prefix} is outside the address space.",
            sid,
        )
    old_props = (old or {}).get("properties", {})
    if old and old_props.get("addressPrefix") != prefix and world.addresses(sid).taken:
        raise in_use(
            # InUseSubnetCannotBeUpdated: the stand-in's own
            "InUseSubnetCannotBeUpdated",
            f"Subnet {sid} is in use and its address prefix cannot be changed.",
            sid,
        )
    pls_policy = _policy(props, old_props, "privateLinkServiceNetworkPolicies", "Enabled", sid)
    if pls_policy == "Enabled" and world.referrers("subnet-pls", sid):
        raise bad_request(
            # PrivateLinkServiceNetworkPoliciesCannotBeEnabledOnPrivateLinkServiceSubnet: the stand-in's own
            "PrivateLinkServiceNetworkPoliciesCannotBeEnabledOnPrivateLinkServiceSubnet",
            f"Private link service network policies cannot be enabled on subnet {sid} since it has private "
            "link service IP configurations.",
            sid,
        )
    links = {
        field: linked(world, props[field], field, rtype, sid, action)
        for field, (rtype, _) in SUBNET_LINKS.items()
        if props.get(field) is not None
    }
    endpoints = _service_endpoints(props.get("serviceEndpoints"), location, sid)
    world.define_subnet(sid, prefix)
    out: Json = {
        "provisioningState": "Succeeded",
        "addressPrefix": prefix,
        **links,
        "delegations": _delegations(props.get("delegations"), sid),
        "privateEndpointNetworkPolicies": _policy(
            props, old_props, "privateEndpointNetworkPolicies", "Disabled", sid
        ),
        "privateLinkServiceNetworkPolicies": pls_policy,
    }
    if endpoints:
        out["serviceEndpoints"] = endpoints
    if isinstance(props.get("defaultOutboundAccess"), bool):
        # A "private subnet": no default outbound access for its VMs (Default outbound access in
        # Azure, learn.microsoft.com/azure/virtual-network/ip-services/default-outbound-access).
        out["defaultOutboundAccess"] = props["defaultOutboundAccess"]
    return {"name": sid.rsplit("/", 1)[1], "id": sid, "etag": etag(), "type": SUBNET_TYPE, "properties": out}


def _policy(props: Json, old: Json, field: str, default: str, sid: str) -> str:
    value = props.get(field, old.get(field, default))
    allowed = {"Enabled", "Disabled"} | (
        {"NetworkSecurityGroupEnabled", "RouteTableEnabled"} if "Endpoint" in field else set()
    )
    if value not in allowed:
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            f"{field} must be one of {sorted(allowed)}, not {value!r}.",
            sid,
        )
    return value


def _check_overlaps(subnets: list[Json], rid: str) -> None:
    nets = [(s["name"], ipaddress.ip_network(s["properties"]["addressPrefix"])) for s in subnets]
    for i, (name_a, net_a) in enumerate(nets):
        for name_b, net_b in nets[i + 1 :]:
            if net_a.overlaps(net_b):
                raise bad_request(
                    # NetcfgSubnetRangesOverlap: the stand-in's own
                    "NetcfgSubnetRangesOverlap",
                    f"Subnet '{name_a}' is not valid because its IP address range overlaps with that of subnet '{name_b}'.",
                    rid,
                )


def check_subnet_unused(world: World, sid: str) -> None:
    users = world.referrers("subnet-ipconfig", sid) + world.referrers("subnet-pe", sid)
    if users:
        raise in_use(
            # InUseSubnetCannotBeDeleted: ARM's code: azure-docs common-deployment-errors.md
            "InUseSubnetCannotBeDeleted",
            f"Subnet {sid.rsplit('/', 1)[1]} is in use by {users[0]} and cannot be deleted. "
            "In order to delete the subnet, delete all the resources within the subnet.",
            sid,
        )


def render_subnet(world: World, subnet: Json) -> Json:
    out = rendered(subnet)
    configs = world.referrers("subnet-ipconfig", subnet["id"])
    endpoints = world.referrers("subnet-pe", subnet["id"])
    if configs:
        out["properties"]["ipConfigurations"] = [{"id": c} for c in configs]
    if endpoints:
        out["properties"]["privateEndpoints"] = [{"id": e} for e in endpoints]
    return out


class Subnets:
    """Subnets are children of a VNet: stored inside it, served at their own paths."""

    @staticmethod
    def get(world: World, sid: str) -> Json:
        parsed = ids.parse(sid)
        assert parsed
        vnet = world.get(parsed.parent)
        if vnet is None:
            raise parent_not_found(parsed.parent)
        for subnet in vnet["properties"]["subnets"]:
            if ids.key(subnet["id"]) == ids.key(sid):
                return subnet
        raise not_found(sid, "subnet")

    @staticmethod
    def put(world: World, sid: str, body: Json) -> tuple[Json, bool]:
        parsed = ids.parse(sid)
        assert parsed
        vnet = world.editable(parsed.parent)
        if vnet is None:
            raise parent_not_found(parsed.parent)
        subnets = vnet["properties"]["subnets"]
        index = next((i for i, s in enumerate(subnets) if ids.key(s["id"]) == ids.key(sid)), None)
        old = subnets[index] if index is not None else None
        sid = old["id"] if old else sid
        networks = _networks(vnet["properties"]["addressSpace"]["addressPrefixes"], sid)
        subnet = build_subnet(world, sid, properties(body), old, networks, location=vnet["location"])
        if index is None:
            subnets.append(subnet)
        else:
            subnets[index] = subnet
        _check_overlaps(subnets, parsed.parent)
        world.put(vnet)
        return subnet, old is None


def ipconfig_claims(stored: Json, collection: str = "ipConfigurations") -> list[Claim]:
    out = []
    for config in stored["properties"].get(collection, []):
        props = config["properties"]
        ip = props.get("privateIPAddress") or props.get("_privateIPAddress")
        subnet = props.get("subnet")
        if ip and subnet:
            out.append((ids.key(subnet["id"]), ip, config["id"]))
    return out


class NetworkInterfaces:
    namespace = NETWORK
    type = "networkInterfaces"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        managed = (world.get(rid) or {"properties": {}})["properties"]
        if managed.get("privateEndpoint") or managed.get("privateLinkService"):
            raise bad_request(
                # CannotModifyNicAttachedToPrivateEndpointOrPrivateLinkService: the stand-in's own
                "CannotModifyNicAttachedToPrivateEndpointOrPrivateLinkService",
                f"Network interface {rid} is managed by Azure for a private endpoint or private link service "
                "and cannot be modified.",
                rid,
            )
        existing, _, props, stored = draft(world, rid, parsed, NIC_TYPE, body)
        old_configs = {
            c["name"].lower(): c for c in (existing or {}).get("properties", {}).get("ipConfigurations", [])
        }
        configs = as_list(props.get("ipConfigurations"), "ipConfigurations", rid)
        if not configs:
            raise bad_request(
                # NetworkInterfaceMustHaveIpConfiguration: the stand-in's own
                "NetworkInterfaceMustHaveIpConfiguration",
                f"Network interface {rid} needs an IP configuration.",
                rid,
            )
        built = [
            build_nic_ipconfig(
                world, stored["id"], c, old_configs.get(str(c.get("name", "")).lower()), i == 0
            )
            for i, c in enumerate(configs)
        ]
        _one_config_per_nat_rule(built, rid)
        kept = dict((existing or {}).get("properties", {}))
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": kept.get("resourceGuid", guid()),
            "ipConfigurations": built,
            "dnsSettings": {
                "dnsServers": [],
                "appliedDnsServers": [],
                "internalDomainNameSuffix": f"{guid()[:8]}.internal.cloudapp.net",
            },
            "macAddress": kept.get("macAddress", _mac()),
            "enableAcceleratedNetworking": bool(props.get("enableAcceleratedNetworking", False)),
            "disableTcpStateTracking": False,
            "enableIPForwarding": bool(props.get("enableIPForwarding", False)),
            "vnetEncryptionSupported": False,
            "nicType": "Standard",
            "primary": kept.get("primary", True),
        }
        if kept.get("virtualMachine"):
            stored["properties"]["virtualMachine"] = kept["virtualMachine"]
        return stored

    def render(self, world: World, stored: Json) -> Json:
        return rendered(stored)

    def check_delete(self, world: World, rid: str) -> None:
        props = world.require(rid, "network interface")["properties"]
        user = (
            props.get("virtualMachine")
            or props.get("privateEndpoint")
            or props.get("privateLinkService")
            or {}
        ).get("id")
        if user:
            raise in_use(
                # NicInUse: the stand-in's own
                "NicInUse",
                f"Network Interface {rid} is used by existing resource {user}. "
                "In order to delete the network interface, it must be dissociated from the resource.",
                rid,
            )

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return ipconfig_claims(stored)

    def refs(self, stored: Json) -> list[Ref]:
        out: list[Ref] = []
        for config in stored["properties"]["ipConfigurations"]:
            props = config["properties"]
            out.append(("subnet-ipconfig", ids.key(props["subnet"]["id"]), config["id"]))
            for pool in props.get("loadBalancerBackendAddressPools", []):
                out.append(("pool", ids.key(pool["id"]), config["id"]))
            for rule in props.get("loadBalancerInboundNatRules", []):
                out.append(("nat-rule", ids.key(rule["id"]), config["id"]))
            if "publicIPAddress" in props:
                out.append(("public-ip", ids.key(props["publicIPAddress"]["id"]), config["id"]))
        return out


def build_nic_ipconfig(world: World, nic_id: str, item: Json, old: Json | None, first: bool) -> Json:
    name = item.get("name")
    if not isinstance(name, str):
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("InvalidRequestFormat", "Every IP configuration needs a name.", nic_id)
    require_name(name, nic_id)
    cid = ids.child_id(nic_id, "ipConfigurations", name)
    props = properties(item)
    subnet_id = ref_id(props.get("subnet"), "subnet", cid)
    require_subnet(world, subnet_id, nic_id)
    method = allocation_method(props.get("privateIPAllocationMethod"), cid)
    kept = kept_address((old or {}).get("properties", {}), subnet_id)
    ip = allocate_ip(world, subnet_id, cid, method, props.get("privateIPAddress"), kept)
    pools = []
    for pool in as_list(props.get("loadBalancerBackendAddressPools"), "loadBalancerBackendAddressPools", cid):
        pool_id = ref_id(pool, "loadBalancerBackendAddressPools", cid)
        require_join(
            world, pool_id, "Microsoft.Network/loadBalancers/backendAddressPools/join/action", nic_id
        )
        if find_child(world, pool_id, "backendAddressPools") is None:
            raise invalid_reference(pool_id, nic_id)
        pools.append({"id": pool_id})
    nat_rules = check_nat_rule_refs(world, cid, props.get("loadBalancerInboundNatRules"), nic_id)
    check_pool_memberships(
        world, cid, [p["id"] for p in pools], nic_id, nat_rules=[r["id"] for r in nat_rules]
    )
    check_nat_ranges_on_join(world, cid, [p["id"] for p in pools], nic_id)
    check_nat_backend_ports(world, cid, [p["id"] for p in pools], [r["id"] for r in nat_rules], nic_id)
    out_props: Json = {
        "provisioningState": "Succeeded",
        "privateIPAddress": ip,
        "privateIPAllocationMethod": method,
        "privateIPAddressVersion": "IPv4",
        "subnet": {"id": subnet_id},
        "primary": bool(props.get("primary", first)),
    }
    if props.get("publicIPAddress") is not None:
        out_props["publicIPAddress"] = _public_ip_for(world, props["publicIPAddress"], cid, nic_id)
    if pools:
        out_props["loadBalancerBackendAddressPools"] = pools
    if nat_rules:
        out_props["loadBalancerInboundNatRules"] = nat_rules
    return {
        "name": name,
        "id": cid,
        "etag": etag(),
        "type": f"{NIC_TYPE}/ipConfigurations",
        "properties": out_props,
    }


def _mac() -> str:
    raw = guid().replace("-", "")[:12].upper()
    return "-".join(raw[i : i + 2] for i in range(0, 12, 2))


def managed_nic(
    world: World,
    nic_id: str,
    location: str,
    configs: list[tuple[str, str, str, str]],
    owner_field: str,
    owner_id: str,
) -> Json:
    """The NIC Azure creates for a private endpoint or a private link service.

    ``configs`` is ``(ipconfig name, subnet id, allocation method, ip)``; addresses are already claimed.
    """
    nic = {
        "name": nic_id.rsplit("/", 1)[1],
        "id": nic_id,
        "etag": etag(),
        "type": NIC_TYPE,
        "location": location,
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": guid(),
            "ipConfigurations": [
                {
                    "name": name,
                    "id": ids.child_id(nic_id, "ipConfigurations", name),
                    "etag": etag(),
                    "type": f"{NIC_TYPE}/ipConfigurations",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "privateIPAddress": ip,
                        "privateIPAllocationMethod": method,
                        "privateIPAddressVersion": "IPv4",
                        "subnet": {"id": subnet_id},
                        "primary": i == 0,
                    },
                }
                for i, (name, subnet_id, method, ip) in enumerate(configs)
            ],
            "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
            "macAddress": "",
            "enableAcceleratedNetworking": False,
            "disableTcpStateTracking": False,
            "enableIPForwarding": False,
            "vnetEncryptionSupported": False,
            "nicType": "Standard",
            owner_field: {"id": owner_id},
        },
    }
    world.put(nic)
    return nic


def remove_with_nics(world: World, rid: str) -> None:
    """Remove a private endpoint or private link service with the NICs Azure made for it."""
    stored = world.get(rid)
    if stored is None:
        return
    for nic in stored["properties"]["networkInterfaces"]:
        world.remove(nic["id"])
    world.remove(rid)


# ------------------------------------------------------- backend pool membership
def is_public(lb: Json) -> bool:
    """A public load balancer has public frontends; every other one is internal (Azure has no mix)."""
    return any(
        "publicIPAddress" in f["properties"] or "publicIPPrefix" in f["properties"]
        for f in lb["properties"].get("frontendIPConfigurations", [])
    )


def rule_pools(rule: Json) -> set[str]:
    """The pools (keys) a load-balancing rule sends to: ``backendAddressPool`` and/or the list."""
    props = rule["properties"]
    refs = list(props.get("backendAddressPools") or [])
    if props.get("backendAddressPool"):
        refs.append(props["backendAddressPool"])
    return {ids.key(r["id"]) for r in refs}


def check_pool_memberships(
    world: World,
    config_id: str,
    pool_ids: list[str],
    rid: str,
    replacing: Json | None = None,
    nat_rules: Sequence[str] = (),
) -> None:
    """What Azure allows one NIC IP configuration to sit in, given the pools it is (to be) in and
    the inbound NAT rules it names.

    ``replacing`` is a load balancer being PUT: its new body stands in for the stored one. A NAT
    rule references the IP configuration as a pool does, so its load balancer counts towards the
    one internal load balancer (the stand-in's reading of the docs' "reference"; no source shows
    Azure letting one configuration use two internal load balancers through a NAT rule).

    * Only one internal load balancer: "A virtual machine can reference backend address pools of
      one public and one internal load balancer" (Compute API, networkInterfaceConfigurations
      ...ipConfigurations.loadBalancerBackendAddressPools); the code is
      ``AnotherInternalLoadBalancerExists`` (MicrosoftDocs azure-docs,
      articles/load-balancer/load-balancer-common-deployment-errors.md).
    * No two rules of load balancers of the same type (internal, public), the same one included,
      send the same backend port and protocol to this IP configuration without floating IP:
      ``RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig`` (the same docs page;
      hashicorp/terraform#15923), message as in Azure/azure-powershell#2042. Within one pool the
      load balancer itself refuses first (``RulesUseSameBackendPortProtocolAndPool``).
    """
    pools = {ids.key(p) for p in pool_ids}
    lbs: dict[str, Json] = {}
    for child_id in [*pool_ids, *nat_rules]:
        parsed = ids.parse(child_id)
        assert parsed
        lb_key = ids.key(parsed.parent)
        body = replacing if replacing and ids.key(replacing["id"]) == lb_key else world.get(parsed.parent)
        if body is not None:
            lbs[lb_key] = body
    internal = [lb["id"] for lb in lbs.values() if not is_public(lb)]
    if len(internal) > 1:
        raise bad_request(
            # AnotherInternalLoadBalancerExists: ARM's code: azure-docs load-balancer-common-deployment-errors.md
            "AnotherInternalLoadBalancerExists",
            f"IP configuration {config_id} cannot be referenced by internal load balancers "
            f"{internal[0]} and {internal[1]} (backend pools or inbound NAT rules): only one load balancer "
            "of type internal can reference the same network interface IP configuration in its backend.",
            rid,
        )
    seen: dict[tuple[bool, str, int], str] = {}
    for lb in lbs.values():
        for rule in lb["properties"].get("loadBalancingRules", []):
            props = rule["properties"]
            if props.get("enableFloatingIP") or not rule_pools(rule) & pools:
                continue
            slot = (is_public(lb), props["protocol"].lower(), props["backendPort"])
            if slot in seen:
                raise bad_request(
                    # RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig: ARM's code: azure-docs load-balancer-common-deployment-errors.md
                    "RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig",
                    f"Load balancer rules {seen[slot]} and {rule['id']} use the same backend port "
                    f"({props['backendPort']}) and protocol ({props['protocol']}), and must not be used with "
                    f"the same backend ip ({config_id}).",
                    rid,
                )
            seen[slot] = rule["id"]


# ------------------------------------------------------------ inbound NAT rules
def is_nat_v2(rule: Json) -> bool:
    """A version 2 inbound NAT rule: a frontend port range, normally for a backend pool (see
    loadbalancer.py); anything else is a version 1 rule for one NIC IP configuration."""
    props = rule["properties"]
    return "frontendPortRangeStart" in props or "backendAddressPool" in props


def _nat_rule_taken(rule_id: str, user: str, rid: str) -> ArmError:
    return bad_request(
        # InboundNatRuleInUseByAnotherIpConfiguration: the stand-in's own (the rule is Azure's: a v1 rule
        # has one backendIPConfiguration, loadBalancer.json)
        "InboundNatRuleInUseByAnotherIpConfiguration",
        f"Inbound NAT rule {rule_id} is already used by network interface IP configuration {user}; a "
        "version 1 inbound NAT rule forwards to one IP configuration only.",
        rid,
    )


def check_nat_rule_refs(world: World, config_id: str, value: object, rid: str) -> list[Json]:
    """The inbound NAT rules a NIC IP configuration names (``loadBalancerInboundNatRules``): each
    must exist on an existing load balancer, be a version 1 rule, and not be named by another IP
    configuration already."""
    out = []
    for ref in as_list(value, "loadBalancerInboundNatRules", config_id):
        rule_id = ref_id(ref, "loadBalancerInboundNatRules", config_id)
        require_join(world, rule_id, "Microsoft.Network/loadBalancers/inboundNatRules/join/action", rid)
        found = find_child(world, rule_id, "inboundNatRules")
        if found is None:
            raise invalid_reference(rule_id, rid)
        if is_nat_v2(found[1]):
            raise bad_request(
                # InboundNatRuleV2CannotBeReferencedByNetworkInterface: the stand-in's own (the rule is Azure's:
                # v2 rules reach the VMs through their backend pool, azure-docs inbound-nat-rules.md)
                "InboundNatRuleV2CannotBeReferencedByNetworkInterface",
                f"Inbound NAT rule {rule_id} has a backend address pool or a frontend port range and cannot be "
                f"referenced by network interface IP configuration {config_id}; add the IP configuration to the "
                "rule's backend pool instead.",
                rid,
            )
        others = [u for u in world.referrers("nat-rule", rule_id) if ids.key(u) != ids.key(config_id)]
        if others:
            raise _nat_rule_taken(rule_id, others[0], rid)
        out.append({"id": rule_id})
    return out


def _one_config_per_nat_rule(configs: list[Json], rid: str) -> None:
    seen: dict[str, str] = {}
    for config in configs:
        for rule in config["properties"].get("loadBalancerInboundNatRules", []):
            if ids.key(rule["id"]) in seen:
                raise _nat_rule_taken(rule["id"], seen[ids.key(rule["id"])], rid)
            seen[ids.key(rule["id"])] = config["id"]


def pool_members(world: World, pool: Json) -> list[str]:
    """A backend pool's members: the NIC IP configurations in it (by ID) and its IP-based addresses
    (by address), sorted by their lower-cased text. That order is the stand-in's choice; it is the
    order in which members take the ports of a version 2 inbound NAT rule's range."""
    configs = world.referrers("pool", pool["id"])
    addresses = [
        a["properties"]["ipAddress"]
        for a in pool.get("properties", {}).get("loadBalancerBackendAddresses", [])
        if a.get("properties", {}).get("ipAddress")
    ]
    return sorted(dict.fromkeys(configs + addresses), key=str.lower)


def check_nat_range(rule: Json, members: list[str], rid: str) -> None:
    """A version 2 rule's range holds a port for every member of its pool: "If the pre-defined
    frontend port range doesn't have a sufficient number of frontend ports available, scaling up
    the backend pool is blocked" (MicrosoftDocs azure-docs, articles/load-balancer/inbound-nat-rules.md)."""
    props = rule["properties"]
    size = props["frontendPortRangeEnd"] - props["frontendPortRangeStart"] + 1
    if len(members) > size:
        raise bad_request(
            # InboundNatRuleFrontendPortRangeSmallerThanBackendPool: the stand-in's own (the rule is Azure's, the
            # docs name no code; NAT pools answer InboundNatPoolFrontendPortRangeSmallerThanRequestedPorts)
            "InboundNatRuleFrontendPortRangeSmallerThanBackendPool",
            f"Inbound NAT rule {rule['id']} has {size} frontend ports "
            f"({props['frontendPortRangeStart']}-{props['frontendPortRangeEnd']}) for the {len(members)} members "
            f"of backend address pool {props['backendAddressPool']['id']}.",
            rid,
        )


def check_nat_ranges_on_join(world: World, config_id: str, pool_ids: list[str], rid: str) -> None:
    """``check_nat_range`` for every v2 rule of the pools a NIC IP configuration is (to be) in."""
    for pool_id in pool_ids:
        found = find_child(world, pool_id, "backendAddressPools")
        if found is None:
            continue
        lb, pool = found
        members = pool_members(world, pool)
        if config_id.lower() not in (m.lower() for m in members):
            members.append(config_id)
        for rule in lb["properties"].get("inboundNatRules", []):
            pool_ref = rule["properties"].get("backendAddressPool")
            if pool_ref and ids.key(pool_ref["id"]) == ids.key(pool_id):
                check_nat_range(rule, members, rid)


def check_members_of(world: World, lb: Json, rid: str) -> None:
    """``check_pool_memberships`` for every NIC IP configuration in the pools of ``lb`` (being PUT),
    and ``check_nat_backend_ports`` for those and every IP configuration one of its NAT rules names."""
    configs = [
        c for pool in lb["properties"]["backendAddressPools"] for c in world.referrers("pool", pool["id"])
    ]
    in_pools = set(configs)
    configs += [
        c
        for rule in lb["properties"].get("inboundNatRules", [])
        for c in world.referrers("nat-rule", rule["id"])
    ]
    for config_id in dict.fromkeys(configs):
        parsed = ids.parse(config_id)
        nic = world.get(parsed.parent) if parsed else None
        config = next(
            (
                c
                for c in (nic or {}).get("properties", {}).get("ipConfigurations", [])
                if ids.key(c["id"]) == ids.key(config_id)
            ),
            None,
        )
        if config is not None:
            pool_ids = [p["id"] for p in config["properties"].get("loadBalancerBackendAddressPools", [])]
            nat_ids = [r["id"] for r in config["properties"].get("loadBalancerInboundNatRules", [])]
            if config_id in in_pools:
                nat = [r["id"] for r in config["properties"].get("loadBalancerInboundNatRules", [])]
                check_pool_memberships(world, config_id, pool_ids, rid, replacing=lb, nat_rules=nat)
            check_nat_backend_ports(world, config_id, pool_ids, nat_ids, rid, replacing=lb)


def _lb_of(world: World, child_id: str, replacing: Json | None) -> Json | None:
    """The load balancer a child ID belongs to: ``replacing`` (an LB being PUT) or the stored one."""
    parsed = ids.parse(child_id)
    if parsed is None:
        return None
    if replacing is not None and ids.key(replacing["id"]) == ids.key(parsed.parent):
        return replacing
    return world.get(parsed.parent)


def check_nat_backend_ports(
    world: World,
    config_id: str,
    pool_ids: list[str],
    nat_ids: list[str],
    rid: str,
    replacing: Json | None = None,
) -> None:
    """No two rules with floating IP off send one protocol and backend port to one NIC IP
    configuration, when one of them is a version 1 inbound NAT rule naming it. Within one load
    balancer Azure answers ``RulesUseSameBackendPortProtocolAndIPConfig`` (two NAT rules of one LB on
    one IP configuration, message as quoted in hashicorp/terraform-provider-azurerm#84); across load
    balancers of one type ``RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig``
    (hashicorp/terraform#15923, a NAT rule among the rules). The docs say it plainly too: "NAT rules
    and load balancing rules can't share the same backend port" (load-balancer-nat-pool-migration.md).
    Pairs of load-balancing rules are ``check_pool_memberships``' to judge."""
    pools = {ids.key(p) for p in pool_ids}
    nat_rules: list[tuple[Json, Json]] = []  # (rule, its load balancer)
    for rule_id in nat_ids:
        lb = _lb_of(world, rule_id, replacing)
        rule = next(
            (
                r
                for r in (lb or {}).get("properties", {}).get("inboundNatRules", [])
                if ids.key(r["id"]) == ids.key(rule_id)
            ),
            None,
        )
        if lb is not None and rule is not None:
            nat_rules.append((rule, lb))
    if not nat_rules:
        return
    lbs = {ids.key(lb["id"]): lb for lb in (_lb_of(world, p, replacing) for p in pool_ids) if lb is not None}
    lb_rules = [
        (rule, lb)
        for lb in lbs.values()
        for rule in lb["properties"].get("loadBalancingRules", [])
        if rule_pools(rule) & pools
    ]
    for i, (nat, nat_lb) in enumerate(nat_rules):
        for other, other_lb in nat_rules[i + 1 :] + lb_rules:
            a, b = nat["properties"], other["properties"]
            if a.get("enableFloatingIP") or b.get("enableFloatingIP"):
                continue
            if a["protocol"].lower() != b["protocol"].lower() or a["backendPort"] != b["backendPort"]:
                continue
            same_lb = ids.key(nat_lb["id"]) == ids.key(other_lb["id"])
            if not same_lb and is_public(nat_lb) != is_public(other_lb):
                continue
            message = (
                f"Load balancer rules {nat['id']} and {other['id']} with floating IP disabled use the same backend "
                f"port {a['backendPort']} and protocol {a['protocol']}, and must not be used with the same backend "
                f"IP {config_id}."
            )
            if same_lb:
                # RulesUseSameBackendPortProtocolAndIPConfig: ARM's code, as answered in hashicorp/terraform-provider-azurerm#84
                raise bad_request("RulesUseSameBackendPortProtocolAndIPConfig", message, rid)
            raise bad_request(
                # RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig: ARM's code: azure-docs load-balancer-common-deployment-errors.md
                "RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig",
                message,
                rid,
            )


# ------------------------------------------------------------------ public IPs
PUBLIC_RANGES = ("203.0.113.", "198.51.100.")  # RFC 5737 documentation ranges: data, never dialled


def _free_public_address(world: World) -> str:
    taken = {
        r["properties"].get("ipAddress") for r in world.resources.values() if r.get("type") == PUBLIC_IP_TYPE
    }
    for prefix in PUBLIC_RANGES:
        for last in range(1, 255):
            if f"{prefix}{last}" not in taken:
                return f"{prefix}{last}"
    raise bad_request(
        # PublicIPCountLimitReached: ARM's code: azure-docs common-deployment-errors.md
        "PublicIPCountLimitReached",
        "The sandbox has no public addresses left.",
    )  # sandbox's own


def _public_ip_for(world: World, value: object, user: str, rid: str) -> Json:
    """A public IP linked by ``user`` (a NIC IP configuration or a NAT gateway): it must exist, be
    joinable, and not be allocated to another resource. ``PublicIPAddressInUse``, message as quoted
    in yingeli/pod-external-ip-operator (pkg/azurecni) from Azure's NIC PUT answer."""
    action = (
        "Microsoft.Network/natGateways/write"
        if "/natgateways/" in user.lower()
        else ("Microsoft.Network/networkInterfaces/write")
    )
    ref = linked(world, value, "publicIPAddress", "publicIPAddresses", rid, action)
    others = [u for u in world.referrers("public-ip", ref["id"]) if ids.key(u) != ids.key(user)]
    if others:
        raise bad_request(
            # PublicIPAddressInUse: the stand-in's own
            "PublicIPAddressInUse",
            f"Resource {user} is referencing public IP address {ref['id']} that is already allocated to "
            f"resource {others[0]}.",
            rid,
        )
    return ref


class PublicIPAddresses:
    """Public IPs: the address a NIC IP configuration or a NAT gateway reaches the internet with.

    Shape as PublicIpAddressGet.json (2024-05-01); the user (``ipConfiguration``, ``natGateway``)
    is derived on read. Addresses come from RFC 5737 documentation ranges.
    """

    namespace = NETWORK
    type = "publicIPAddresses"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, _, props, stored = draft(world, rid, parsed, PUBLIC_IP_TYPE, body)
        sku = (body.get("sku") or {}).get("name", "Basic")  # the API's default when sku is left out
        method = props.get("publicIPAllocationMethod") or ("Static" if sku == "Standard" else "Dynamic")
        if sku not in ("Basic", "Standard") or method not in ("Static", "Dynamic"):
            raise bad_request(
                # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                "InvalidRequestFormat",
                "Cannot parse the request: sku.name is Basic or Standard, publicIPAllocationMethod is Static "
                "or Dynamic.",
                rid,
            )
        old = (existing or {}).get("properties", {})
        stored["sku"] = {"name": sku, "tier": "Regional"}
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": old.get("resourceGuid", guid()),
            "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": method,
            "idleTimeoutInMinutes": int(props.get("idleTimeoutInMinutes", 4)),
            "ipAddress": old.get("ipAddress") or _free_public_address(world),
            "ipTags": [],
        }
        return stored

    def render(self, world: World, stored: Json) -> Json:
        out = rendered(stored)
        for user in world.referrers("public-ip", stored["id"]):
            field = "natGateway" if "/natgateways/" in user.lower() else "ipConfiguration"
            out["properties"][field] = {"id": _cased(world, user)}
        return out

    def check_delete(self, world: World, rid: str) -> None:
        users = world.referrers("public-ip", rid)
        if users:
            # PublicIPAddressCannotBeDeleted, message as in hashicorp/packer's azure-arm build logs.
            raise in_use(
                # PublicIPAddressCannotBeDeleted: the stand-in's own
                "PublicIPAddressCannotBeDeleted",
                f"Public IP address {rid} can not be deleted since it is still allocated to resource "
                f"{_cased(world, users[0])}. In order to delete the public IP, disassociate/detach the Public "
                "IP address from the resource.",
                rid,
            )

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return []


class NatGateways:
    """NAT gateways: explicit outbound access for every VM of the subnets that link one.

    Shape as the NatGateway definition of the 2024-05-01 spec (sku Standard, ``publicIpAddresses``,
    ``idleTimeoutInMinutes``); ``subnets`` is derived on read.
    """

    namespace = NETWORK
    type = "natGateways"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, _, props, stored = draft(world, rid, parsed, NAT_GATEWAY_TYPE, body)
        sku = (body.get("sku") or {}).get("name", "Standard")
        if sku != "Standard":
            raise bad_request(
                # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                "InvalidRequestFormat",
                "Cannot parse the request: a NAT gateway's sku is Standard.",
                rid,
            )
        stored["sku"] = {"name": "Standard"}
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": (existing or {}).get("properties", {}).get("resourceGuid", guid()),
            "idleTimeoutInMinutes": int(props.get("idleTimeoutInMinutes", 4)),
            "publicIpAddresses": [
                _public_ip_for(world, ref, stored["id"], rid)
                for ref in as_list(props.get("publicIpAddresses"), "publicIpAddresses", rid)
            ],
        }
        return stored

    def render(self, world: World, stored: Json) -> Json:
        return _with_users(world, stored, "nat-gateway")

    def check_delete(self, world: World, rid: str) -> None:
        # The rule is Azure's (a NAT gateway linked to a subnet is not deleted); no Microsoft page names
        # the code, so InUseNatGatewayCannotBeDeleted is the stand-in's own
        _refuse_while_linked(world, rid, "InUseNatGatewayCannotBeDeleted", "Nat gateway")

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return [
            ("public-ip", ids.key(p["id"]), stored["id"]) for p in stored["properties"]["publicIpAddresses"]
        ]


class NetworkSecurityGroups:
    """Network security groups, as NetworkSecurityGroupGet.json (2024-05-01): the rules are kept as
    given (natlink never writes them), the six default rules are Azure's, ``subnets`` is derived."""

    namespace = NETWORK
    type = "networkSecurityGroups"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, _, props, stored = draft(world, rid, parsed, NSG_TYPE, body)
        rules = []
        for item in as_list(props.get("securityRules"), "securityRules", rid):
            _, rule = child(stored["id"], "securityRules", item, f"{NSG_TYPE}/securityRules", rid)
            rule["properties"] = {**properties(item), "provisioningState": "Succeeded"}
            rules.append(rule)
        unique_names(rules, "securityRules", rid)
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": (existing or {}).get("properties", {}).get("resourceGuid", guid()),
            "securityRules": rules,
            "defaultSecurityRules": [_default_rule(stored["id"], *r) for r in DEFAULT_SECURITY_RULES],
        }
        return stored

    def render(self, world: World, stored: Json) -> Json:
        return _with_users(world, stored, "nsg")

    def check_delete(self, world: World, rid: str) -> None:
        # InUseNetworkSecurityGroupCannotBeDeleted: ARM's code, as answered in pulumi/pulumi-azure-native#3051
        _refuse_while_linked(world, rid, "InUseNetworkSecurityGroupCannotBeDeleted", "Network security group")

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return []


# (name, description, direction, access, priority, source, destination), as Azure adds them.
DEFAULT_SECURITY_RULES = (
    (
        "AllowVnetInBound",
        "Allow inbound traffic from all VMs in VNET",
        "Inbound",
        "Allow",
        65000,
        "VirtualNetwork",
        "VirtualNetwork",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        "Allow inbound traffic from azure load balancer",
        "Inbound",
        "Allow",
        65001,
        "AzureLoadBalancer",
        "*",
    ),
    ("DenyAllInBound", "Deny all inbound traffic", "Inbound", "Deny", 65500, "*", "*"),
    (
        "AllowVnetOutBound",
        "Allow outbound traffic from all VMs to all VMs in VNET",
        "Outbound",
        "Allow",
        65000,
        "VirtualNetwork",
        "VirtualNetwork",
    ),
    (
        "AllowInternetOutBound",
        "Allow outbound traffic from all VMs to Internet",
        "Outbound",
        "Allow",
        65001,
        "*",
        "Internet",
    ),
    ("DenyAllOutBound", "Deny all outbound traffic", "Outbound", "Deny", 65500, "*", "*"),
)


def _default_rule(
    nsg_id: str, name: str, description: str, direction: str, access: str, priority: int, src: str, dst: str
) -> Json:
    return {
        "name": name,
        "id": ids.child_id(nsg_id, "defaultSecurityRules", name),
        "type": f"{NSG_TYPE}/defaultSecurityRules",
        "properties": {
            "provisioningState": "Succeeded",
            "description": description,
            "protocol": "*",
            "sourcePortRange": "*",
            "destinationPortRange": "*",
            "sourceAddressPrefix": src,
            "destinationAddressPrefix": dst,
            "access": access,
            "priority": priority,
            "direction": direction,
        },
    }


NEXT_HOP_TYPES = {"VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None"}


class RouteTables:
    """Route tables, as RouteTableGet.json (2024-05-01): routes with a next hop; ``subnets`` derived."""

    namespace = NETWORK
    type = "routeTables"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, _, props, stored = draft(world, rid, parsed, ROUTE_TABLE_TYPE, body)
        routes = []
        for item in as_list(props.get("routes"), "routes", rid):
            _, route = child(stored["id"], "routes", item, f"{ROUTE_TABLE_TYPE}/routes", rid)
            rprops = properties(item)
            if rprops.get("nextHopType") not in NEXT_HOP_TYPES or not isinstance(
                rprops.get("addressPrefix"), str
            ):
                raise bad_request(
                    # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
                    "InvalidRequestFormat",
                    f"Cannot parse the request: route {route['name']} needs an addressPrefix and a nextHopType "
                    f"among {sorted(NEXT_HOP_TYPES)}.",
                    rid,
                )
            route["properties"] = {
                "provisioningState": "Succeeded",
                "addressPrefix": rprops["addressPrefix"],
                "nextHopType": rprops["nextHopType"],
            }
            if rprops.get("nextHopIpAddress"):
                route["properties"]["nextHopIpAddress"] = rprops["nextHopIpAddress"]
            routes.append(route)
        unique_names(routes, "routes", rid)
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": (existing or {}).get("properties", {}).get("resourceGuid", guid()),
            "disableBgpRoutePropagation": bool(props.get("disableBgpRoutePropagation", False)),
            "routes": routes,
        }
        return stored

    def render(self, world: World, stored: Json) -> Json:
        return _with_users(world, stored, "route-table")

    def check_delete(self, world: World, rid: str) -> None:
        # As answered to terraform (azure-pipelines agents' destroy logs).
        # InUseRouteTableCannotBeDeleted: the stand-in's own
        _refuse_while_linked(world, rid, "InUseRouteTableCannotBeDeleted", "Route table")

    def delete(self, world: World, rid: str) -> None:
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return []


def _with_users(world: World, stored: Json, relation: str) -> Json:
    out = rendered(stored)
    subnets = world.referrers(relation, stored["id"])
    if subnets:
        out["properties"]["subnets"] = [{"id": _cased(world, s)} for s in subnets]
    return out


def _refuse_while_linked(world: World, rid: str, code: str, what: str) -> None:
    relation = {"natGateways": "nat-gateway", "networkSecurityGroups": "nsg", "routeTables": "route-table"}
    parsed = ids.parse(rid)
    assert parsed
    users = world.referrers(relation[parsed.types[0]], rid)
    if users:
        raise in_use(
            code,
            f"{what} {rid} cannot be deleted because it is in use by the following resources: "
            f"{', '.join(_cased(world, u) for u in users)}. In order to delete the {what.lower()}, remove the "
            "association with the resource(s).",
            rid,
        )


def _cased(world: World, key: str) -> str:
    """The ID as its owner spells it (indexes hold lower-cased keys; ARM echoes the original casing)."""
    parsed = ids.parse(key)
    top = world.get(parsed.parent) if parsed else None
    if top is None:
        return key
    if ids.key(top["id"]) == ids.key(key):
        return top["id"]
    for value in top.get("properties", {}).values():
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict) and ids.key(str(item.get("id", ""))) == ids.key(key):
                return item["id"]
    return key
