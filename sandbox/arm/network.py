"""Virtual networks with their subnets, and network interfaces."""

from __future__ import annotations

import ipaddress

from . import ids
from .common import (
    NETWORK,
    allocate_ip,
    allocation_method,
    as_list,
    draft,
    find_child,
    guid,
    in_use,
    is_child,
    kept_address,
    properties,
    ref_id,
    rendered,
    require_name,
    require_subnet,
)
from .errors import bad_request, invalid_reference, not_found, parent_not_found
from .world import Claim, Json, Ref, World, etag

VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
NIC_TYPE = "Microsoft.Network/networkInterfaces"


def _networks(prefixes: list[str], rid: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(p, strict=True) for p in prefixes]
    except ValueError as exc:
        raise bad_request("InvalidAddressPrefixFormat", f"Address prefix is invalid: {exc}.", rid) from None


class VirtualNetworks:
    namespace = NETWORK
    type = "virtualNetworks"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, _, props, stored = draft(world, rid, parsed, VNET_TYPE, body)
        space = (props.get("addressSpace") or {}).get("addressPrefixes") or []
        if not space:
            raise bad_request(
                "AddressSpaceRequired", f"Virtual network {rid} must have an address space.", rid
            )
        networks = _networks(space, rid)
        stored_id = stored["id"]
        old_subnets = {ids.key(s["id"]): s for s in (existing or {}).get("properties", {}).get("subnets", [])}
        subnets = []
        for item in as_list(props.get("subnets"), "subnets", rid):
            name = item.get("name")
            if not isinstance(name, str):
                raise bad_request("InvalidRequestFormat", "Every subnet needs a name.", rid)
            sid = ids.child_id(stored_id, "subnets", name)
            subnets.append(
                build_subnet(world, sid, properties(item), old_subnets.get(ids.key(sid)), networks)
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
        return []


def build_subnet(
    world: World,
    sid: str,
    props: Json,
    old: Json | None,
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> Json:
    """Validate one subnet definition against its VNet and what it already holds."""
    require_name(sid.rsplit("/", 1)[1], sid)
    prefix = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
    if not isinstance(prefix, str):
        raise bad_request("InvalidRequestFormat", f"Subnet {sid} needs an addressPrefix.", sid)
    (network,) = _networks([prefix], sid)
    if not any(network.subnet_of(space) for space in networks if space.version == network.version):
        raise bad_request(
            "NetcfgInvalidSubnet",
            f"Subnet '{sid}' is not valid in virtual network: its prefix {prefix} is outside the address space.",
            sid,
        )
    old_props = (old or {}).get("properties", {})
    if old and old_props.get("addressPrefix") != prefix and world.addresses(sid).taken:
        raise in_use(
            "InUseSubnetCannotBeUpdated",
            f"Subnet {sid} is in use and its address prefix cannot be changed.",
            sid,
        )
    pls_policy = _policy(props, old_props, "privateLinkServiceNetworkPolicies", "Enabled", sid)
    if pls_policy == "Enabled" and world.referrers("subnet-pls", sid):
        raise bad_request(
            "PrivateLinkServiceNetworkPoliciesCannotBeEnabledOnPrivateLinkServiceSubnet",
            f"Private link service network policies cannot be enabled on subnet {sid} since it has private "
            "link service IP configurations.",
            sid,
        )
    world.define_subnet(sid, prefix)
    return {
        "name": sid.rsplit("/", 1)[1],
        "id": sid,
        "etag": etag(),
        "type": SUBNET_TYPE,
        "properties": {
            "provisioningState": "Succeeded",
            "addressPrefix": prefix,
            "delegations": [],
            "privateEndpointNetworkPolicies": _policy(
                props, old_props, "privateEndpointNetworkPolicies", "Disabled", sid
            ),
            "privateLinkServiceNetworkPolicies": pls_policy,
        },
    }


def _policy(props: Json, old: Json, field: str, default: str, sid: str) -> str:
    value = props.get(field, old.get(field, default))
    allowed = {"Enabled", "Disabled"} | (
        {"NetworkSecurityGroupEnabled", "RouteTableEnabled"} if "Endpoint" in field else set()
    )
    if value not in allowed:
        raise bad_request(
            "InvalidRequestFormat", f"{field} must be one of {sorted(allowed)}, not {value!r}.", sid
        )
    return value


def _check_overlaps(subnets: list[Json], rid: str) -> None:
    nets = [(s["name"], ipaddress.ip_network(s["properties"]["addressPrefix"])) for s in subnets]
    for i, (name_a, net_a) in enumerate(nets):
        for name_b, net_b in nets[i + 1 :]:
            if net_a.overlaps(net_b):
                raise bad_request(
                    "NetcfgSubnetRangesOverlap",
                    f"Subnet '{name_a}' is not valid because its IP address range overlaps with that of subnet '{name_b}'.",
                    rid,
                )


def check_subnet_unused(world: World, sid: str) -> None:
    users = world.referrers("subnet-ipconfig", sid) + world.referrers("subnet-pe", sid)
    if users:
        raise in_use(
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
        subnet = build_subnet(world, sid, properties(body), old, networks)
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
        return out


def build_nic_ipconfig(world: World, nic_id: str, item: Json, old: Json | None, first: bool) -> Json:
    name = item.get("name")
    if not isinstance(name, str):
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
        if find_child(world, pool_id, "backendAddressPools") is None:
            raise invalid_reference(pool_id, nic_id)
        pools.append({"id": pool_id})
    out_props: Json = {
        "provisioningState": "Succeeded",
        "privateIPAddress": ip,
        "privateIPAllocationMethod": method,
        "privateIPAddressVersion": "IPv4",
        "subnet": {"id": subnet_id},
        "primary": bool(props.get("primary", first)),
    }
    if pools:
        out_props["loadBalancerBackendAddressPools"] = pools
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
