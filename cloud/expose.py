"""Expose a VM port (or an existing LB frontend) as a private link service, convergently.

Each step reads first and writes only what is missing, so running expose again with the same
arguments sends no PUT. A second run may add NAT IPs and change visibility and auto-approval;
anything else that differs is an ``ExposeConflict`` raised before any write, never a silent
change to a service people already use. Where the LB lives and how it is named: :mod:`cloud.lb`.

Azure's own rules for what a VM's NIC may join are checked before the first write too, so a
refusal leaves nothing behind (issue 9): one internal load balancer per NIC IP configuration
(``VmInAnotherLoadBalancer``), one rule per backend port (``PortAlreadyExposed``), the VM's
outbound internet access (``WouldLoseOutbound``), and the links a subnet PUT must send back
(``LinkedScopeNotJoinable``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass

from azure.core.exceptions import AzureError, HttpResponseError
from azure.mgmt.network.models import (
    FrontendIPConfiguration,
    InboundNatRule,
    LoadBalancer,
    LoadBalancingRule,
    NetworkInterfaceIPConfiguration,
    PrivateLinkService,
    PrivateLinkServiceIpConfiguration,
    PrivateLinkServicePropertiesAutoApproval,
    PrivateLinkServicePropertiesVisibility,
    Subnet,
)

from . import ids, lb, lookup, permissions
from .clients import Clients
from .errors import CloudError
from .limits import NAT_IPS_MAX, NAT_IPS_MIN
from .lookup import get_or_none, unique
from .model import Service, VmInfo
from .services import read_service
from .steps import Progress, Steps, wait
from .vms import find_vm

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,48}[A-Za-z0-9_])?$")


@dataclass(frozen=True)
class VmTarget:
    """Expose a VM, found by name in natlink's subscriptions, behind natlink's own LB."""

    vm: str


@dataclass(frozen=True)
class LbTarget:
    """Expose an existing internal Standard LB frontend; the LB stays the user's."""

    lb: str
    frontend: str
    resource_group: str | None = None


NO_OUTBOUND = "no default outbound internet access from now on (accepted)"  # a step's note
TAKEN_OVER = (  # a step's note: the user named a service someone built by hand (the seed's PrivateLink-01)
    "made outside natlink: natlink manages it from now on, keeping its NAT IPs and connections; "
    "a natlink delete would delete it"
)


class VmInAnotherLoadBalancer(CloudError):
    """The VM's NIC already sits in another internal LB's pool: natlink's LB cannot have it too.

    ``frontends`` are the internal frontends of that LB whose rules reach the VM, those with one
    of the asked ports first: ``create --lb <lb> --frontend <fe>`` would expose it from there.
    """

    def __init__(
        self, message: str, resource: str, lb_name: str, frontends: tuple[str, ...], hint: str
    ) -> None:
        super().__init__("VmInAnotherLoadBalancer", message, resource, hint)  # natlink's own code
        self.lb_name = lb_name
        self.frontends = frontends


class PortAlreadyExposed(CloudError):
    """Another service's rule already sends this port of the VM (``service`` is None when the rule is
    not a natlink service's): Azure refuses a second rule for the same backend port and protocol."""

    def __init__(self, message: str, resource: str, service: str | None, hint: str) -> None:
        super().__init__("PortAlreadyExposed", message, resource, hint)  # natlink's own code
        self.service = service


class WouldLoseOutbound(CloudError):
    """In an internal Standard LB's pool, a VM without explicit outbound access loses its default
    outbound internet access; natlink goes on only when the person says so."""

    def __init__(self, message: str, resource: str, remedy: str) -> None:
        hint = f"{remedy} Or go ahead without outbound internet access, if the VM needs none."
        super().__init__("WouldLoseOutbound", message, resource, hint)  # natlink's own code
        self.remedy = remedy  # what to add to keep outbound access


@dataclass(frozen=True)
class _Backend:
    """What the VM's IP configuration is part of, read before anything is written."""

    config: NetworkInterfaceIPConfiguration
    subnet: Subnet
    balancers: tuple[LoadBalancer, ...]  # every LB referencing the configuration, natlink's included

    @property
    def pools(self) -> set[str]:
        return {ids.key(p.id) for p in self.config.load_balancer_backend_address_pools or []}

    @property
    def nat_rules(self) -> set[str]:
        """The version 1 inbound NAT rules the configuration names: they reference it as a pool does."""
        return {ids.key(r.id) for r in self.config.load_balancer_inbound_nat_rules or []}

    def reached_by(self, balancer: LoadBalancer) -> list[LoadBalancingRule | InboundNatRule]:
        """The rules of ``balancer`` that send to this configuration: load-balancing and version 2
        NAT rules by its pools, version 1 NAT rules by name."""
        return [
            *(r for r in balancer.load_balancing_rules or [] if _rule_pools(r) & self.pools),
            *(
                r
                for r in balancer.inbound_nat_rules or []
                if _rule_pools(r) & self.pools or ids.key(r.id) in self.nat_rules
            ),
        ]


@dataclass(frozen=True)
class _Place:
    """Where the service goes: its frontend, the NAT subnet, and the service's own ID."""

    service_id: str
    location: str
    frontend_id: str
    subnet_id: str


def expose(
    clients: Clients,
    name: str,
    target: VmTarget | LbTarget,
    ports: Sequence[int] = (),
    nat_ips: int = 1,
    visibility: Sequence[str] = (),
    auto_approval: Sequence[str] = (),
    proxy_protocol: bool = False,
    progress: Progress | None = None,
    accept_no_outbound: bool = False,
) -> Service:
    """Create or converge the private link service ``name`` and return it as Azure holds it.

    A VM target needs ``ports`` (TCP, frontend port = backend port); an LB target takes its
    ports from the LB's own rules and refuses ``ports``. The service lives in the VM's (or LB's)
    subscription, resource group and region; its NAT IPs are dynamic, from the frontend's subnet.
    A VM that would lose its default outbound internet access behind natlink's internal load
    balancer is refused unless ``accept_no_outbound``.
    """
    _check_arguments(name, target, ports, nat_ips)
    steps = Steps(f"expose {name}", progress)
    wanted = tuple(sorted(set(ports)))
    if isinstance(target, VmTarget):
        vm = find_vm(clients, clients.settings.subscriptions, target.vm)
        parts = lb.Parts(_lb_id(vm), name)
        place = _Place(
            _pls_id(vm.subscription, vm.resource_group, name), vm.location, parts.frontend_id, vm.subnet_id
        )
        with steps.step("read the current state"):
            current_lb = lookup.load_balancer(clients, parts.lb_id)
            current = _get_pls(clients, place.service_id)
            backend = _read_backend(clients, vm, current_lb)
        _check_service(current, place, nat_ips, proxy_protocol)
        _check_vm_side(current_lb, parts, wanted, vm)
        _check_one_internal_lb(backend, parts, vm, wanted)
        _check_backend_ports(backend, parts, vm, wanted)
        losing = _loses_outbound(backend, vm)
        if losing and not accept_no_outbound:
            raise losing
        _check_subnet_links(clients, backend.subnet)
        permissions.require(clients, f"create {name}", _vm_needs(parts, vm, place))
        _ensure_lb(clients, current_lb, parts, vm, wanted, steps)
        _ensure_member(clients, vm, parts, steps)
        if losing:
            steps.done(f"VM {vm.name}: {NO_OUTBOUND}")
    else:
        place = _lb_place(clients, name, target)
        with steps.step("read the current state"):
            current = _get_pls(clients, place.service_id)
            subnet = _get_subnet(clients, place.subnet_id)
        _check_service(current, place, nat_ips, proxy_protocol)
        _check_subnet_links(clients, subnet)
        permissions.require(clients, f"create {name}", _subnet_needs(place))
    _disable_policies(clients, place.subnet_id, steps)
    _ensure_pls(clients, current, place, nat_ips, visibility, auto_approval, proxy_protocol, steps)
    with steps.step("read the service back", place.service_id):
        service = read_service(clients, place.service_id)
    steps.done(
        f"private link service {service.name}: alias {service.alias}, NAT IPs {', '.join(service.nat_ips)}"
        + (f", frontend {service.frontend_ip}" if service.frontend_ip else "")
    )
    return service


def _check_arguments(name: str, target: VmTarget | LbTarget, ports: Sequence[int], nat_ips: int) -> None:
    """Refuse what Azure would refuse later, before anything is written."""
    if not _NAME.match(name):
        raise CloudError(
            # InvalidServiceName: natlink's own code
            "InvalidServiceName",
            f"{name!r} is not a service name: 1-50 letters, digits, '.', '-' or '_', starting with a "
            "letter or digit and ending with a letter, digit or '_'.",
        )
    if not NAT_IPS_MIN <= nat_ips <= NAT_IPS_MAX:
        raise CloudError(
            # InvalidNatIpCount: natlink's own code
            "InvalidNatIpCount",
            f"A private link service has {NAT_IPS_MIN} to {NAT_IPS_MAX} NAT IPs, not {nat_ips}.",
        )
    if isinstance(target, VmTarget) and not ports:
        # InvalidExposeTarget: natlink's own code
        raise CloudError("InvalidExposeTarget", f"Exposing VM {target.vm} needs at least one port.")
    if isinstance(target, LbTarget) and ports:
        raise CloudError(
            # InvalidExposeTarget: natlink's own code
            "InvalidExposeTarget",
            f"Load balancer {target.lb} brings its own rules; ports cannot be given with --lb.",
        )
    bad = [p for p in ports if not 1 <= p <= 65535]
    if bad:
        # InvalidPort: natlink's own code
        raise CloudError("InvalidPort", f"Ports must be 1-65535, not {', '.join(map(str, bad))}.")


def _pls_id(subscription: str, group: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/privateLinkServices/{name}"


def _lb_id(vm: VmInfo) -> str:
    name = lb.lb_name(vm.vnet_name, ids.name(vm.subnet_id) or "")
    return f"/subscriptions/{vm.subscription}/resourceGroups/{vm.resource_group}/providers/Microsoft.Network/loadBalancers/{name}"


def _get_pls(clients: Clients, service_id: str) -> PrivateLinkService | None:
    sub, group, name = ids.network_path(service_id)
    return get_or_none(clients.network(sub).private_link_services.get, group, name)


def _subnet_needs(place: _Place) -> list[permissions.Need]:
    """Every create's writes: the subnet's policies, its NAT IPs joining it, the service itself."""
    return [
        permissions.Need(
            permissions.group_of(place.subnet_id),
            (
                "Microsoft.Network/virtualNetworks/subnets/write",
                "Microsoft.Network/virtualNetworks/subnets/join/action",
            ),
        ),
        permissions.Need(
            permissions.group_of(place.service_id), ("Microsoft.Network/privateLinkServices/write",)
        ),
    ]


def _vm_needs(parts: lb.Parts, vm: VmInfo, place: _Place) -> list[permissions.Need]:
    """A VM target's writes besides: natlink's LB (and its pool, joined by the VM's NIC), the NIC."""
    balancer = permissions.group_of(parts.lb_id)
    return [
        permissions.Need(
            balancer,
            (
                "Microsoft.Network/loadBalancers/write",
                "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
            ),
        ),
        permissions.Need(permissions.group_of(vm.nic_id), ("Microsoft.Network/networkInterfaces/write",)),
        *_subnet_needs(place),
    ]


def _check_service(current: PrivateLinkService | None, place: _Place, nat_ips: int, proxy: bool) -> None:
    """An existing service may gain NAT IPs and new lists; its frontend and proxy protocol are fixed."""
    if current is None:
        return
    differences = []
    frontends = [f.id for f in current.load_balancer_frontend_ip_configurations or []]
    if [ids.key(f) for f in frontends] != [ids.key(place.frontend_id)]:
        differences.append(f"it uses frontend {', '.join(frontends)}, not {place.frontend_id}")
    if bool(current.enable_proxy_protocol) != proxy:
        differences.append(f"its proxy protocol is {'on' if current.enable_proxy_protocol else 'off'}")
    _raise_conflict(current.name, differences)
    count = len(current.ip_configurations or [])
    if nat_ips < count:
        raise CloudError(
            # NatIpsCannotBeRemoved: natlink's own code
            "NatIpsCannotBeRemoved",
            f"Service {current.name} has {count} NAT IPs; Azure cannot remove NAT IPs, so {nat_ips} is refused.",
            current.id,
            f"Ask for {count} or more NAT IPs, or delete the service and expose it again.",
        )


def _check_vm_side(current: LoadBalancer | None, parts: lb.Parts, ports: tuple[int, ...], vm: VmInfo) -> None:
    """The service's rules and pool on natlink's LB must be for these ports and this VM."""
    differences = []
    exposed = lb.ports_on(current, parts.frontend_id)
    if exposed and exposed != ports:
        differences.append(
            f"it exposes port(s) {', '.join(map(str, exposed))}, not {', '.join(map(str, ports))}"
        )
    members = lb.pool_members(current, parts.pool_id)
    if members and ids.key(vm.ip_configuration) not in {ids.key(m) for m in members}:
        differences.append(f"its backend is {', '.join(members)}, not VM {vm.name}")
    _raise_conflict(parts.service, differences)


def _read_backend(clients: Clients, vm: VmInfo, natlink_lb: LoadBalancer | None) -> _Backend:
    """The VM's IP configuration as Azure holds it, its subnet, and every LB that references it (by
    a backend pool or an inbound NAT rule)."""
    sub, group, nic_name = ids.network_path(vm.nic_id)
    nic = clients.network(sub).network_interfaces.get(group, nic_name)
    config = next(c for c in nic.ip_configurations or [] if ids.key(c.id) == ids.key(vm.ip_configuration))
    balancers = {ids.key(natlink_lb.id): natlink_lb} if natlink_lb is not None else {}
    refs = [
        *(config.load_balancer_backend_address_pools or []),
        *(config.load_balancer_inbound_nat_rules or []),
    ]
    for ref in refs:
        lb_id = ids.parent(ref.id)  # .../loadBalancers/{lb}/backendAddressPools|inboundNatRules/{name}
        if ids.key(lb_id) not in balancers:
            found = lookup.load_balancer(clients, lb_id)
            if found is not None:
                balancers[ids.key(lb_id)] = found
    referencing = {ids.key(ids.parent(ref.id)) for ref in refs}
    members = tuple(b for k, b in balancers.items() if k in referencing)
    return _Backend(config, _get_subnet(clients, vm.subnet_id), members)


def _get_subnet(clients: Clients, subnet_id: str) -> Subnet:
    sub, group = ids.segment(subnet_id, "subscriptions") or "", ids.segment(subnet_id, "resourceGroups") or ""
    vnet, name = ids.segment(subnet_id, "virtualNetworks") or "", ids.name(subnet_id) or ""
    return clients.network(sub).subnets.get(group, vnet, name)


def _pools_of(balancer: LoadBalancer) -> set[str]:
    return {ids.key(p.id) for p in balancer.backend_address_pools or []}


def _is_public(balancer: LoadBalancer) -> bool:
    return any(f.public_ip_address or f.public_ip_prefix for f in balancer.frontend_ip_configurations or [])


def _sku(balancer: LoadBalancer) -> str:
    name = balancer.sku.name if balancer.sku and balancer.sku.name else "Basic"
    return str(getattr(name, "value", name))


def _rule_pools(rule: object) -> set[str]:
    refs = list(getattr(rule, "backend_address_pools", None) or [])
    if getattr(rule, "backend_address_pool", None) is not None:
        refs.append(rule.backend_address_pool)
    return {ids.key(r.id) for r in refs}


def _check_one_internal_lb(backend: _Backend, parts: lb.Parts, vm: VmInfo, ports: tuple[int, ...]) -> None:
    """Azure puts a NIC IP configuration in the pools of one internal LB only
    (``AnotherInternalLoadBalancerExists``): when it is another LB's, natlink's cannot have it."""
    for other in backend.balancers:
        if ids.key(other.id) == ids.key(parts.lb_id) or _is_public(other):
            continue
        reaching = [
            (r.backend_port in ports, ids.name(r.frontend_ip_configuration.id) or "")
            for r in backend.reached_by(other)
            if r.frontend_ip_configuration is not None
        ]
        frontends = tuple(dict.fromkeys(fe for _, fe in sorted(reaching, key=lambda x: not x[0])))
        pool = ", ".join(ids.name(p) or "" for p in sorted(backend.pools & _pools_of(other)))
        rules = ", ".join(
            ids.name(r.id) or ""
            for r in backend.config.load_balancer_inbound_nat_rules or []
            if ids.key(ids.parent(r.id)) == ids.key(other.id)
        )
        where = f"in backend pool {pool}" if pool else f"behind inbound NAT rule {rules}"
        message = (
            f"VM {vm.name} is {where} of internal load balancer {other.name}; Azure lets a network "
            f"interface IP configuration be referenced by one internal load balancer only, so natlink's "
            f"{ids.name(parts.lb_id)} cannot take it."
        )
        if _sku(other).lower() != "standard":
            hint = f"{other.name} is {_sku(other)}, and a private link service needs a Standard load balancer: take the VM out of its pool first."
            frontends = ()
        elif frontends:
            hint = f"Expose it from {other.name}'s frontend {frontends[0]} instead (--lb {other.name} --frontend {frontends[0]})."
        else:
            hint = f"Add a load-balancing rule from a frontend of {other.name} to pool {pool}, then expose that frontend with --lb {other.name} --frontend."
        raise VmInAnotherLoadBalancer(message, other.id or "", other.name or "", frontends, hint)


def _check_backend_ports(backend: _Backend, parts: lb.Parts, vm: VmInfo, ports: tuple[int, ...]) -> None:
    """No two rules of internal LBs may send one backend port and protocol to the VM without
    floating IP (``RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig``,
    azure-powershell#2042): a second service on a port already exposed is refused."""
    for balancer in backend.balancers:
        if _is_public(balancer):
            continue  # a public LB's rules are another type: Azure lets them share the port
        for rule in backend.reached_by(balancer):
            mine = ids.key(getattr(rule.frontend_ip_configuration, "id", "")) == ids.key(parts.frontend_id)
            protocol = str(getattr(rule.protocol, "value", rule.protocol) or "").lower()
            if mine or rule.enable_floating_ip or protocol != "tcp" or rule.backend_port not in ports:
                continue
            frontend = ids.name(getattr(rule.frontend_ip_configuration, "id", "")) or ""
            service = (
                frontend.removeprefix("fe-")
                if lb.is_natlink_made(balancer) and frontend.startswith("fe-")
                else None
            )
            kind = "inbound NAT rule" if isinstance(rule, InboundNatRule) else "load balancer rule"
            who = service or f"{kind} {rule.name} of {balancer.name}"
            raise PortAlreadyExposed(
                f"{who} already exposes {vm.name}:{rule.backend_port}: "
                + ("share it instead." if service else "expose another port."),
                balancer.id or "",
                service,
                f"Share {service} with the people who need it, or expose another port."
                if service
                else "Azure refuses a second rule for the same backend port and protocol of one VM.",
            )


def _loses_outbound(backend: _Backend, vm: VmInfo) -> WouldLoseOutbound | None:
    """Whether an internal Standard LB would take the VM's default outbound internet access.

    A VM keeps outbound access through a public IP on its NIC, a NAT gateway on its subnet or a
    public load balancer; it has no default access to lose on a private subnet
    (``defaultOutboundAccess: false``) or once any Standard LB holds it. Otherwise joining an
    internal Standard LB's pool ends it ("Default outbound access in Azure", and Load Balancer's
    outbound connections: "when only an internal Standard Load Balancer serves the VM, outbound
    connections over default SNAT aren't available").
    """
    if backend.config.public_ip_address is not None or backend.subnet.nat_gateway is not None:
        return None
    if backend.subnet.default_outbound_access is False:
        return None
    if any(_sku(b).lower() == "standard" or _is_public(b) for b in backend.balancers):
        return None
    subnet = ids.name(vm.subnet_id)
    nic = ids.name(vm.nic_id)
    return WouldLoseOutbound(
        f"VM {vm.name} reaches the internet through Azure's default outbound access (no public IP on "
        f"{nic}, no NAT gateway on subnet {subnet}, no public load balancer); in natlink's internal "
        "Standard load balancer it would lose that access.",
        vm.id,
        f"Give it explicit outbound access first: a NAT gateway on subnet {subnet} of {vm.vnet_name}, a "
        f"Standard public IP on {nic}, or an outbound rule of a public Standard load balancer whose pool "
        "holds it.",
    )


_JOINABLE = {
    "network_security_group": ("network security group", "networkSecurityGroups", "network_security_groups"),
    "route_table": ("route table", "routeTables", "route_tables"),
    "nat_gateway": ("NAT gateway", "natGateways", "nat_gateways"),
}


def _check_subnet_links(clients: Clients, subnet: Subnet) -> None:
    """Disabling the policy PUTs the whole subnet, its links included, and ARM checks
    ``<type>/join/action`` on each (``LinkedAuthorizationFailed``). A link natlink cannot even
    read, it certainly cannot join: refuse before anything is written."""
    if subnet.private_link_service_network_policies == "Disabled":
        return  # nothing to write
    for field, (what, rtype, operations) in _JOINABLE.items():
        link = getattr(subnet, field, None)
        if link is None or not link.id:
            continue
        sub, group, name = ids.network_path(link.id)
        try:
            getattr(clients.network(sub), operations).get(group, name)
        except HttpResponseError as exc:
            if exc.status_code not in (401, 403):
                raise CloudError.from_azure(exc, link.id) from exc
            raise CloudError(
                "LinkedScopeNotJoinable",  # natlink's own code
                f"Subnet {subnet.name} links {what} {link.id}, which natlink cannot read. Disabling private "
                f"link service network policies sends the subnet back with that link, and Azure refuses it "
                f"without 'Microsoft.Network/{rtype}/join/action' there (LinkedAuthorizationFailed).",
                subnet.id,
                _join_hint(what, rtype, link.id, subnet.name or ""),
            ) from exc
        except AzureError as exc:
            raise CloudError.from_azure(exc, link.id) from exc


def _join_hint(what: str, rtype: str, scope: str, subnet: str) -> str:
    """What to do about a link natlink may not join: a role on it, or the subnet's owner acts."""
    return (
        f"Give natlink's identity 'Microsoft.Network/{rtype}/join/action' on the {what} {scope} (Network "
        f"Contributor has it), or ask its owner to set privateLinkServiceNetworkPolicies to Disabled on "
        f"subnet {subnet}; then run the command again."
    )


_LINKED_ACTION = re.compile(
    r"'Microsoft\.Network/(\w+)/join/action' on the linked scope\(s\) '([^']+)'", re.I
)


def _raise_conflict(name: str | None, differences: list[str]) -> None:
    if differences:
        raise CloudError(
            # ExposeConflict: natlink's own code
            "ExposeConflict",
            f"Service {name} already exists and differs: {'; '.join(differences)}.",
            hint="Expose under another name, or delete the service first.",
        )


def _ensure_lb(
    clients: Clients,
    current: LoadBalancer | None,
    parts: lb.Parts,
    vm: VmInfo,
    ports: tuple[int, ...],
    steps: Steps,
) -> None:
    """Create or merge natlink's LB, and report the service frontend's address."""
    lb_name = ids.name(parts.lb_id)
    with steps.step(f"load balancer {lb_name}", parts.lb_id):
        wanted = lb.with_service(current, parts, vm.location, vm.subnet_id, ports)
        if wanted is not None:
            network = clients.network(vm.subscription)
            current = wait(
                clients,
                lambda: network.load_balancers.begin_create_or_update(vm.resource_group, lb_name, wanted),
                f"load balancer {lb_name}",
            )
        frontend = next(
            f for f in current.frontend_ip_configurations or [] if ids.key(f.id) == ids.key(parts.frontend_id)
        )
        steps.done(
            f"load balancer {lb_name}: frontend {frontend.private_ip_address}, "
            f"port(s) {', '.join(map(str, ports))} ({'created or updated' if wanted is not None else 'unchanged'})"
        )


def _ensure_member(clients: Clients, vm: VmInfo, parts: lb.Parts, steps: Steps) -> None:
    """Put the VM's NIC in the service's pool, keeping the NIC's other memberships."""
    _, group, nic_name = ids.network_path(vm.nic_id)
    network = clients.network(vm.subscription)
    with steps.step(f"network interface {nic_name}", vm.nic_id):
        wanted = lb.joined(
            network.network_interfaces.get(group, nic_name), vm.ip_configuration, parts.pool_id
        )
        if wanted is not None:
            wait(
                clients,
                lambda: network.network_interfaces.begin_create_or_update(group, nic_name, wanted),
                nic_name,
            )
        steps.done(f"network interface {nic_name}: in backend pool {ids.name(parts.pool_id)}")


def _disable_policies(clients: Clients, subnet_id: str, steps: Steps) -> None:
    """Set privateLinkServiceNetworkPolicies to Disabled on this subnet only (read-modify-write)."""
    sub, group = ids.segment(subnet_id, "subscriptions") or "", ids.segment(subnet_id, "resourceGroups") or ""
    vnet, name = ids.segment(subnet_id, "virtualNetworks") or "", ids.name(subnet_id) or ""
    network = clients.network(sub)
    with steps.step(f"subnet {name}", subnet_id):
        subnet = network.subnets.get(group, vnet, name)
        if subnet.private_link_service_network_policies == "Disabled":
            steps.done(f"subnet {name}: private link service policies already disabled")
            return
        # The whole subnet goes back, links, service endpoints and delegations included: a subnet PUT
        # replaces the subnet, and whatever the body leaves out Azure removes (issue 9 rule 6).
        subnet.private_link_service_network_policies = "Disabled"
        try:
            wait(
                clients,
                lambda: network.subnets.begin_create_or_update(group, vnet, name, subnet),
                f"subnet {name}",
            )
        except HttpResponseError as exc:
            raise _linked_refusal(exc, subnet_id, name) from exc
        steps.done(f"subnet {name}: private link service policies disabled")


def _linked_refusal(exc: HttpResponseError, subnet_id: str, subnet: str) -> CloudError:
    """Azure's answer as a CloudError; a ``LinkedAuthorizationFailed`` on a link of the subnet gets the
    join hint (cloud/errors.py's hint for that code is about private endpoint approval)."""
    error = CloudError.from_azure(exc, subnet_id)
    found = _LINKED_ACTION.search(error.message)
    kinds = {rtype.lower(): (what, rtype) for what, rtype, _ in _JOINABLE.values()}
    # LinkedAuthorizationFailed: ARM's code: azure-docs common-deployment-errors.md
    if error.code == "LinkedAuthorizationFailed" and found and found.group(1).lower() in kinds:
        what, rtype = kinds[found.group(1).lower()]
        error.hint = _join_hint(what, rtype, found.group(2), subnet)
    return error


def _ensure_pls(
    clients: Clients,
    current: PrivateLinkService | None,
    place: _Place,
    nat_ips: int,
    visibility: Sequence[str],
    auto_approval: Sequence[str],
    proxy: bool,
    steps: Steps,
) -> None:
    sub, group, name = ids.network_path(place.service_id)
    with steps.step(f"private link service {name}", place.service_id):
        if current is not None and not lb.is_natlink_made(current):
            steps.done(f"private link service {current.name}: {TAKEN_OVER}")
        wanted = _wanted_pls(current, place, nat_ips, visibility, auto_approval, proxy)
        if wanted is not None:
            network = clients.network(sub)
            wait(
                clients,
                lambda: network.private_link_services.begin_create_or_update(group, name, wanted),
                f"private link service {name}",
            )


def _wanted_pls(
    current: PrivateLinkService | None,
    place: _Place,
    nat_ips: int,
    visibility: Sequence[str],
    auto_approval: Sequence[str],
    proxy: bool,
) -> PrivateLinkService | None:
    """The service to PUT, or None when the current one already matches and is healthy."""
    if current is None:
        pls = PrivateLinkService(
            location=place.location,
            tags=lb.MANAGED_BY | {"natlink": ids.name(place.service_id) or ""},
            load_balancer_frontend_ip_configurations=[FrontendIPConfiguration(id=place.frontend_id)],
            ip_configurations=[],
            enable_proxy_protocol=proxy,
        )
    else:
        pls = copy.deepcopy(current)
    configs = list(pls.ip_configurations or [])
    taken = {(c.name or "").lower() for c in configs}
    for index in range(NAT_IPS_MAX * 2):
        if len(configs) >= nat_ips:
            break
        if f"nat-{index}" not in taken:
            configs.append(_nat_config(f"nat-{index}", place.subnet_id, primary=not configs))
    same = (
        current is not None
        and len(configs) == len(current.ip_configurations or [])
        and _same(current.visibility, visibility)
        and _same(current.auto_approval, auto_approval)
        and current.provisioning_state == "Succeeded"
    )
    if same:
        return None
    pls.ip_configurations = configs
    pls.visibility = PrivateLinkServicePropertiesVisibility(subscriptions=list(visibility))
    pls.auto_approval = PrivateLinkServicePropertiesAutoApproval(subscriptions=list(auto_approval))
    return pls


def _nat_config(name: str, subnet_id: str, primary: bool) -> PrivateLinkServiceIpConfiguration:
    return PrivateLinkServiceIpConfiguration(
        name=name, subnet=Subnet(id=subnet_id), primary=primary, private_ip_allocation_method="Dynamic"
    )


def _same(current: object, wanted: Sequence[str]) -> bool:
    """Subscription lists compare as sets, case-insensitively: ARM does not keep their order meaningful."""
    have = getattr(current, "subscriptions", None) or []
    return {s.lower() for s in have} == {s.lower() for s in wanted}


def _lb_place(clients: Clients, name: str, target: LbTarget) -> _Place:
    """Validate a user's LB frontend (Standard, internal) and place the service next to it."""
    found = find_lb(clients, target)
    sku = str(getattr(found.sku.name, "value", found.sku.name)) if found.sku and found.sku.name else "Basic"
    if sku.lower() != "standard":
        raise CloudError(
            # LoadBalancerNotStandard: natlink's own code
            "LoadBalancerNotStandard",
            f"Load balancer {found.id} is {sku}; a private link service needs a Standard load balancer.",
            found.id,
        )
    frontends = found.frontend_ip_configurations or []
    frontend = next((f for f in frontends if (f.name or "").lower() == target.frontend.lower()), None)
    if frontend is None:
        names = ", ".join(f.name or "" for f in frontends) or "none"
        raise CloudError(
            # FrontendNotFound: natlink's own code
            "FrontendNotFound",
            f"Load balancer {found.name} has no frontend {target.frontend!r} (it has: {names}).",
            found.id,
        )
    if frontend.subnet is None:
        raise CloudError(
            # LoadBalancerNotInternal: natlink's own code
            "LoadBalancerNotInternal",
            f"Frontend {frontend.name} of {found.name} is public; a private link service needs an internal frontend.",
            found.id,
        )
    sub, group, _ = ids.network_path(found.id)
    return _Place(_pls_id(sub, group, name), found.location, frontend.id, frontend.subnet.id)


def find_lb(clients: Clients, target: LbTarget) -> LoadBalancer:
    """The LB by name in natlink's subscriptions (and resource group, when given); a subscription
    natlink may not read is skipped and named as such, as ``find_vm`` does."""
    matches: list[LoadBalancer] = []
    looked_in: list[str] = []
    known: list[str] = []
    for sub in clients.settings.subscriptions:
        network = clients.network(sub)
        try:
            if target.resource_group:
                found = get_or_none(network.load_balancers.get, target.resource_group, target.lb)
                matches += [found] if found is not None else []
            else:
                lbs = list(network.load_balancers.list_all())
                known += [b.name or "" for b in lbs]
                matches += [b for b in lbs if (b.name or "").lower() == target.lb.lower()]
        except HttpResponseError as exc:
            if exc.status_code not in (401, 403):
                raise CloudError.from_azure(exc, f"/subscriptions/{sub}") from exc
            looked_in.append(f"subscription {sub} (not readable)")
            continue
        except AzureError as exc:
            raise CloudError.from_azure(exc, f"/subscriptions/{sub}") from exc
        looked_in.append(
            f"subscription {sub}" + (f" group {target.resource_group}" if target.resource_group else "")
        )
    return unique(matches, "LoadBalancer", target.lb, lambda b: b.id, looked_in, known)
