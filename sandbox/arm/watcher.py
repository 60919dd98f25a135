"""Azure Network Watcher: one watcher per subscription and region, and connectivity checks computed
from the world.

Shapes from azure-rest-api-specs specification/network/resource-manager/Microsoft.Network/stable/
2024-05-01/networkWatcher.json (NetworkWatchers_CreateOrUpdate/_Get/_Delete/_List/_ListAll,
NetworkWatchers_CheckConnectivity) and its examples/NetworkWatcherGet.json,
NetworkWatcherConnectivityCheck.json (also in shared/reference/azure-network-examples/).

A connectivity check follows the path a TCP SYN from the source VM would take: its NIC, the private
endpoint that holds the destination address, that endpoint's connection on the private link
service, the service's load balancer frontend, the rule that serves the port, a running and healthy
backend, and the network security rules in front of it. The first thing on the path that stops the
packet is the check's issue; the probes that arrive are recorded by running packet captures.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, field

from . import compute, ids, metrics
from .common import NETWORK, draft, rendered
from .errors import bad_request, not_found
from .privatelink import connection_state_for
from .world import Claim, Json, Ref, World

NW_TYPE = "Microsoft.Network/networkWatchers"
# Azure's automatic enablement creates the watcher in this group with this name (azure-docs
# articles/network-watcher/network-watcher-create.md: "NetworkWatcher_<region>" in "NetworkWatcherRG").
AUTO_GROUP = "NetworkWatcherRG"
# probesSent: the spec example's; azure-docs network-watcher-connectivity-overview.md: "Max value is 100".
PROBES = 100
AGENT_PUBLISHER = "Microsoft.Azure.NetworkWatcher"


def auto_name(location: str) -> str:
    return f"NetworkWatcher_{location}"


class NetworkWatchers:
    """The watcher itself has no settings: ``properties`` holds only ``provisioningState``
    (NetworkWatcherGet.json). Its packet captures live inside it (``_captures``, see captures.py)."""

    namespace = NETWORK
    type = "networkWatchers"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, location, _, stored = draft(world, rid, parsed, NW_TYPE, body)
        other = regional(world, parsed.subscription, location)
        if other is not None and ids.key(other["id"]) != ids.key(rid):
            raise bad_request(
                # NetworkWatcherCountLimitReached: ARM's code for a second watcher in one region
                # (azure-docs network-watcher-create.md, "one instance per region per subscription")
                "NetworkWatcherCountLimitReached",
                f"Cannot create more than 1 network watchers for this subscription in this region "
                f"({location}); {other['id']} exists.",
                rid,
            )
        stored["properties"] = {"provisioningState": "Succeeded"}
        stored["_captures"] = (existing or {}).get("_captures", [])
        return stored

    def render(self, world: World, stored: Json) -> Json:
        return rendered(stored)

    def check_delete(self, world: World, rid: str) -> None:
        world.require(rid, "network watcher")

    def delete(self, world: World, rid: str) -> None:
        parsed = ids.parse(rid)
        if parsed and len(parsed.types) == 2:  # a packet capture's DELETE finishing
            watcher = world.editable(parsed.parent)
            if watcher is not None:
                watcher["_captures"] = [c for c in watcher["_captures"] if ids.key(c["id"]) != ids.key(rid)]
                world.put(watcher)
            return
        world.remove(rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []

    def refs(self, stored: Json) -> list[Ref]:
        return []


def regional(world: World, subscription: str, location: str) -> Json | None:
    """The subscription's watcher in ``location``, if Network Watcher is enabled there."""
    found = world.list_type(subscription, NETWORK, "networkWatchers")
    return next((w for w in found if w["location"].lower() == location.lower()), None)


def enable(world: World, subscription: str, location: str) -> None:
    """What Azure does when a virtual network is created in a region without a watcher: create
    ``NetworkWatcherRG`` and ``NetworkWatcher_<region>`` (azure-docs network-watcher-create.md,
    "Network Watcher is enabled automatically")."""
    if regional(world, subscription, location) is not None:
        return
    if world.group(subscription, AUTO_GROUP) is None:
        world.add_group(subscription, AUTO_GROUP, location)
    rid = ids.resource_id(subscription, AUTO_GROUP, NETWORK, "networkWatchers", auto_name(location))
    parsed = ids.parse(rid)
    assert parsed is not None
    world.put(NetworkWatchers().put(world, rid, parsed, {"location": location}))


# --------------------------------------------------------------- connectivity
@dataclass
class Path:
    """The hops found so far, and the backend the probes reached (if they did)."""

    hops: list[Json] = field(default_factory=list)
    reached: tuple[str, str, int, str] | None = None  # (backend VM id, its IP, backend port, source IP seen)

    def hop(self, address: str, resource_id: str, hop_type: str = "VirtualNetwork") -> Json:
        """Append a hop; the previous one now points at it. Types as the spec example's
        (``Source``, ``VirtualNetwork``)."""
        new = {
            "type": hop_type,
            "id": str(uuid.uuid4()),
            "address": address,
            "resourceId": resource_id,
            "nextHopIds": [],
            "issues": [],
        }
        if self.hops:
            self.hops[-1]["nextHopIds"] = [new["id"]]
        self.hops.append(new)
        return new


class Blocked(Exception):
    """The probes stop at the last hop, for the reason in its issue."""


def issue(hop: Json, issue_type: str, origin: str, **context: str) -> Blocked:
    """Record a ConnectivityIssue (origin Local/Inbound/Outbound, severity Error, one of the spec's
    IssueType values) on ``hop``. ``context`` is a list of ``{"key", "value"}`` pairs, as in the
    NetworkSecurityRule sample of azure-docs network-watcher-connectivity-rest.md
    (``[{"key": "RuleName", "value": "UserRule_Port80"}]``); the spec's IssueContext is string pairs."""
    hop["issues"].append(
        {
            "origin": origin,
            "severity": "Error",
            "type": issue_type,
            "context": [{"key": k, "value": v} for k, v in context.items()],
        }
    )
    return Blocked()


def check(world: World, watcher: Json, body: Json) -> tuple[Json, tuple[str, str, int, str] | None]:
    """ConnectivityInformation for ``body`` (ConnectivityParameters), and where the probes arrived."""
    source_id, address, port = _parameters(body, watcher["id"])
    vm = world.get(source_id)
    if vm is None or "_power" not in vm:
        raise not_found(source_id, "virtual machine")
    same_place(watcher, vm, "check from")
    require_agent(vm, "connectivity check")
    path = Path()
    nic_config = compute.primary_ip_config(world, vm)
    source = path.hop(nic_config["properties"]["privateIPAddress"], nic_config["id"], "Source")
    try:
        if vm["_power"] != "running":
            raise issue(source, "AgentStopped", "Local", PowerState=f"PowerState/{vm['_power']}")
        _follow(world, path, nic_config, address, port)
    except Blocked:
        pass
    return _information(path), path.reached


def _parameters(body: Json, rid: str) -> tuple[str, str, int]:
    source = body.get("source") if isinstance(body.get("source"), dict) else {}
    dest = body.get("destination") if isinstance(body.get("destination"), dict) else {}
    source_id, address, port = source.get("resourceId"), dest.get("address"), dest.get("port")
    if not isinstance(source_id, str) or not ids.parse(source_id):
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("InvalidRequestFormat", "source.resourceId must be a virtual machine's ID.", rid)
    if not isinstance(address, str) or not isinstance(port, int) or not 0 < port < 65536:
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            "destination needs an address and a port from 1 to 65535 (the stand-in checks IPv4 addresses).",
            rid,
        )
    return source_id, address, port


def same_place(watcher: Json, vm: Json, what: str) -> None:
    """A watcher works on the VMs of its own subscription and region (azure-docs
    network-watcher-connectivity-overview.md: the watcher "in the same region as the source")."""
    w, v = ids.parse(watcher["id"]), ids.parse(vm["id"])
    assert w and v
    if w.subscription.lower() != v.subscription.lower() or watcher["location"] != vm["location"]:
        raise bad_request(
            # InvalidSourceResource: the stand-in's own
            "InvalidSourceResource",
            f"Network watcher {watcher['id']} ({watcher['location']}) cannot {what} {vm['id']} "
            f"({vm['location']}): use the watcher of the VM's subscription and region.",
            watcher["id"],
        )


def require_agent(vm: Json, what: str) -> None:
    """Connectivity checks and packet captures need the Network Watcher agent extension on the VM
    (azure-docs network-watcher-connectivity-overview.md, network-watcher-packet-capture-overview.md).
    Neither the spec nor a public thread quotes the error Azure answers without it; ``AgentStopped``
    is the spec's own name for "the agent is not there to answer" (IssueType and PcError in
    networkWatcher.json), so the stand-in refuses with it."""
    if not compute.has_agent(vm, AGENT_PUBLISHER):
        os_type = vm["properties"]["storageProfile"]["osDisk"].get("osType", "Windows")
        raise bad_request(
            # AgentStopped: the stand-in's choice of a networkWatcher.json value (azure-rest-api-specs), see above
            "AgentStopped",
            f"The {what} needs the Network Watcher agent on {vm['id']}: install the VM extension of publisher "
            f"'{AGENT_PUBLISHER}' and type 'NetworkWatcherAgent{os_type}'.",
            vm["id"],
        )


def _follow(world: World, path: Path, nic_config: Json, address: str, port: int) -> None:
    """Walk from the source NIC to the owner of ``address`` in the source's virtual network."""
    source_hop = path.hops[-1]
    owner = _owner_in_vnet(world, nic_config["properties"]["subnet"]["id"], address)
    if owner is None:
        raise issue(source_hop, "Platform", "Outbound", Destination=address, Reason="NoResourceWithAddress")
    member = _member(world, owner)
    endpoint_id = (member.nic["properties"].get("privateEndpoint") or {}).get("id") if member else None
    if endpoint_id is None:  # another VM in the same network: no NAT on the way
        if member is None:
            raise issue(
                source_hop, "Platform", "Outbound", Destination=address, Reason="NoResourceWithAddress"
            )
        _arrive(world, path, member, port, source_ip=source_hop["address"])
        return
    hop = path.hop(address, owner)
    _through_endpoint(world, path, hop, endpoint_id, port)


def _owner_in_vnet(world: World, subnet_id: str, address: str) -> str | None:
    """The ipConfiguration holding ``address`` in any subnet of ``subnet_id``'s virtual network."""
    vnet = world.get(ids.parse(subnet_id).parent)  # type: ignore[union-attr]
    for subnet in (vnet or {}).get("properties", {}).get("subnets", []):
        owner = world.addresses(subnet["id"]).taken.get(address)
        if owner:
            return owner
    return None


def _through_endpoint(world: World, path: Path, hop: Json, endpoint_id: str, port: int) -> None:
    state = connection_state_for(world, endpoint_id)["status"]
    connections = world.referrers("pe-connection", endpoint_id)
    service = world.get(ids.parse(connections[0]).parent) if connections else None  # type: ignore[union-attr]
    if state != "Approved" or service is None:
        raise issue(
            hop,
            "Platform",
            "Outbound",
            PrivateEndpoint=endpoint_id,
            PrivateEndpointConnectionStatus=state,
        )
    nat = service["properties"]["ipConfigurations"][0]
    # A dynamic NAT IP shows on the service's NIC only, as in Azure.
    nat_nic = world.require(service["properties"]["networkInterfaces"][0]["id"], "network interface")
    nat_ip = nat_nic["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
    path.hop(nat_ip, nat["id"])
    frontend_id = service["properties"]["loadBalancerFrontendIpConfigurations"][0]["id"]
    lb = world.require(ids.parse(frontend_id).parent, "load balancer")  # type: ignore[union-attr]
    frontend = next(
        f for f in lb["properties"]["frontendIPConfigurations"] if ids.key(f["id"]) == ids.key(frontend_id)
    )
    lb_hop = path.hop(frontend["properties"].get("privateIPAddress", ""), frontend_id)
    _through_load_balancer(world, path, lb_hop, lb, frontend_id, port, nat_ip)


def _through_load_balancer(
    world: World, path: Path, hop: Json, lb: Json, frontend_id: str, port: int, nat_ip: str
) -> None:
    """The load-balancing rule or inbound NAT rule for ``port`` on the frontend, then a backend."""
    props = lb["properties"]
    for rule in props.get("loadBalancingRules") or []:
        r = rule["properties"]
        if (
            _on(r, frontend_id)
            and r.get("frontendPort") in (port, 0)
            and r.get("protocol", "Tcp") in ("Tcp", "All")
        ):
            backend_port = r.get("backendPort") or port
            members = _pool_members(world, (r.get("backendAddressPool") or {}).get("id", ""))
            probe = (r.get("probe") or {}).get("id")
            _to_backend(world, path, hop, lb, members, backend_port, probe, nat_ip)
            return
    for rule in props.get("inboundNatRules") or []:
        r = rule["properties"]
        if (
            _on(r, frontend_id)
            and r.get("frontendPort") == port
            and r.get("protocol", "Tcp") in ("Tcp", "All")
        ):
            members = world.referrers("nat-rule", rule["id"])
            _to_backend(world, path, hop, lb, members, r.get("backendPort") or port, None, nat_ip)
            return
    raise issue(hop, "Platform", "Inbound", LoadBalancer=lb["id"], Reason="NoRuleForPort", Port=str(port))


def _on(rule: Json, frontend_id: str) -> bool:
    return ids.key((rule.get("frontendIPConfiguration") or {}).get("id", "")) == ids.key(frontend_id)


def _pool_members(world: World, pool_id: str) -> list[str]:
    """The NIC configurations in a pool (VMs' and scale set instances')."""
    return world.referrers("pool", pool_id) if pool_id else []


def _to_backend(
    world: World,
    path: Path,
    hop: Json,
    lb: Json,
    members: list[str],
    backend_port: int,
    probe: str | None,
    nat_ip: str,
) -> None:
    """The load balancer sends to a running member whose probe is up; none is an issue naming why."""
    if not members:
        raise issue(hop, "Platform", "Inbound", LoadBalancer=lb["id"], Reason="NoBackend")
    down = set(world.signals.get("probe_down", []))
    stopped: Member | None = None
    unhealthy: Member | None = None
    for config_id in members:
        member = _member(world, config_id)
        if member is None:
            continue
        if member.power != "running":
            stopped = stopped or member
            continue
        keys = {metrics.probe_key(lb["id"], member.ip), metrics.probe_key(lb["id"], member.ip, backend_port)}
        if probe and keys & down:
            unhealthy = unhealthy or member
            continue
        _arrive(world, path, member, backend_port, source_ip=nat_ip)
        return
    if unhealthy:
        raise issue(
            hop,
            "Platform",
            "Inbound",
            HealthProbe=str(probe),
            BackendIPAddress=unhealthy.ip,
            ProbeState="Down",
        )
    if stopped:
        raise issue(
            hop, "Platform", "Inbound", VirtualMachine=stopped.vm_id, PowerState=f"PowerState/{stopped.power}"
        )
    raise issue(hop, "Platform", "Inbound", LoadBalancer=lb["id"], Reason="NoBackend")


@dataclass
class Member:
    """A backend NIC configuration, and the VM (or scale set instance) behind it."""

    nic: Json
    config: Json
    vm_id: str
    power: str

    @property
    def ip(self) -> str:
        return self.config["properties"]["privateIPAddress"]


def _member(world: World, config_id: str) -> Member | None:
    """The NIC configuration ``config_id`` of a VM, of a scale set instance, or of a NIC Azure
    manages (a private endpoint's: no VM, always up)."""
    if in_scale_set := compute.scale_set_nic_config(world, config_id):
        config, instance = in_scale_set
        nic_id = config_id.rsplit("/ipConfigurations/", 1)[0]
        nic = next(n for n in (instance or {}).get("nics", []) if ids.key(n["id"]) == ids.key(nic_id))
        return Member(
            nic, config, nic["properties"]["virtualMachine"]["id"], (instance or {}).get("power", "running")
        )
    parsed = ids.parse(config_id)
    nic = world.get(parsed.parent) if parsed else None
    config = compute.ip_config(nic, config_id) if nic else None
    if nic is None or config is None:
        return None
    vm_id = (nic["properties"].get("virtualMachine") or {}).get("id", "")
    vm = world.get(vm_id) if vm_id else None
    return Member(nic, config, vm_id, vm.get("_power", "running") if vm else "running")


def _arrive(world: World, path: Path, member: Member, port: int, source_ip: str) -> None:
    """The last hop: the destination NIC, behind the NSGs of its subnet and of itself (inbound:
    the subnet's first, then the NIC's; azure-docs network-security-group-how-it-works.md)."""
    hop = path.hop(member.ip, member.config["id"])
    if member.power != "running":
        raise issue(
            hop, "Platform", "Inbound", VirtualMachine=member.vm_id, PowerState=f"PowerState/{member.power}"
        )
    subnet_id = member.config["properties"]["subnet"]["id"]
    vnet = world.require(ids.parse(subnet_id).parent, "virtual network")  # type: ignore[union-attr]
    subnet = next(s for s in vnet["properties"]["subnets"] if ids.key(s["id"]) == ids.key(subnet_id))
    spaces = vnet["properties"]["addressSpace"]["addressPrefixes"]
    for holder in (subnet["properties"], member.nic["properties"]):
        nsg_id = (holder.get("networkSecurityGroup") or {}).get("id")
        nsg = world.get(nsg_id) if nsg_id else None
        if nsg is None:
            continue
        rule, allowed = evaluate(nsg, source_ip, member.ip, port, spaces)
        if not allowed:
            raise issue(hop, "NetworkSecurityRule", "Inbound", RuleName=rule, NetworkSecurityGroup=nsg["id"])
    path.reached = (member.vm_id, member.ip, port, source_ip)


# ------------------------------------------------------------------ NSG rules
def evaluate(nsg: Json, source: str, destination: str, port: int, vnet_spaces: list[str]) -> tuple[str, bool]:
    """The first inbound TCP rule, by priority, that matches; named as Azure's effective rules name
    them (``UserRule_<name>``, ``DefaultRule_<name>``: NetworkInterfaces_ListEffectiveNetworkSecurityGroups,
    examples/NetworkInterfaceEffectiveNSGList.json)."""
    rules = [("UserRule_", r) for r in nsg["properties"].get("securityRules", [])]
    rules += [("DefaultRule_", r) for r in nsg["properties"].get("defaultSecurityRules", [])]
    inbound = [(p, r) for p, r in rules if r["properties"].get("direction") == "Inbound"]
    for prefix, rule in sorted(inbound, key=lambda pr: int(pr[1]["properties"].get("priority", 65500))):
        r = rule["properties"]
        if (
            r.get("protocol", "*") in ("*", "Tcp")
            and _port_matches(r, port)
            and _address_matches(r, "source", source, vnet_spaces)
            and _address_matches(r, "destination", destination, vnet_spaces)
        ):
            return prefix + rule["name"], r.get("access") == "Allow"
    return "DefaultRule_DenyAllInBound", False


def _port_matches(rule: Json, port: int) -> bool:
    ranges = list(rule.get("destinationPortRanges") or []) or [rule.get("destinationPortRange", "*")]
    for item in ranges:
        item = str(item)
        if item == "*":
            return True
        low, _, high = item.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def _address_matches(rule: Json, side: str, address: str, vnet_spaces: list[str]) -> bool:
    prefixes = list(rule.get(f"{side}AddressPrefixes") or []) or [rule.get(f"{side}AddressPrefix", "*")]
    ip = ipaddress.ip_address(address)
    for prefix in prefixes:
        prefix = str(prefix)
        if prefix in ("*", "Any"):
            return True
        # Service tags (azure-docs service-tags-overview.md): VirtualNetwork is the VNet's address
        # space (and what it is peered with, which the sandbox does not model); AzureLoadBalancer is
        # the probe's 168.63.129.16; Internet is everything outside the VNet.
        if prefix == "VirtualNetwork":
            if any(ip in ipaddress.ip_network(s, strict=False) for s in vnet_spaces):
                return True
            continue
        if prefix == "Internet":
            if not any(ip in ipaddress.ip_network(s, strict=False) for s in vnet_spaces):
                return True
            continue
        if prefix == "AzureLoadBalancer":
            continue
        try:
            if ip in ipaddress.ip_network(prefix, strict=False):
                return True
        except ValueError:
            continue
    return False


def _information(path: Path) -> Json:
    """ConnectivityInformation. ``connectionStatus`` is what the service answers, ``Reachable`` or
    ``Unreachable`` (azure-docs network-watcher-connectivity-overview.md, "Response"), not the
    spec's ConnectionStatus enum (Connected/Disconnected), which the SDK does not enforce; latency
    is only shown when reachable (the same page)."""
    reachable = path.reached is not None
    info: Json = {
        "hops": path.hops,
        "connectionStatus": "Reachable" if reachable else "Unreachable",
        "probesSent": PROBES,
        "probesFailed": 0 if reachable else PROBES,
    }
    if reachable:
        info |= {"avgLatencyInMs": 1, "minLatencyInMs": 1, "maxLatencyInMs": 4}
    return info


def require_watcher(world: World, rid: str) -> Json:
    stored = world.get(rid)
    if stored is None:
        raise not_found(rid, "network watcher")
    return stored
