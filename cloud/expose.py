"""Expose a VM port (or an existing LB frontend) as a private link service, convergently.

Each step reads first and writes only what is missing, so running expose again with the same
arguments sends no PUT. A second run may add NAT IPs and change visibility and auto-approval;
anything else that differs is an ``ExposeConflict`` raised before any write, never a silent
change to a service people already use. Where the LB lives and how it is named: :mod:`cloud.lb`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass

from azure.core.exceptions import AzureError
from azure.mgmt.network.models import (
    FrontendIPConfiguration,
    LoadBalancer,
    PrivateLinkService,
    PrivateLinkServiceIpConfiguration,
    PrivateLinkServicePropertiesAutoApproval,
    PrivateLinkServicePropertiesVisibility,
    Subnet,
)

from . import ids, lb, lookup
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
) -> Service:
    """Create or converge the private link service ``name`` and return it as Azure holds it.

    A VM target needs ``ports`` (TCP, frontend port = backend port); an LB target takes its
    ports from the LB's own rules and refuses ``ports``. The service lives in the VM's (or LB's)
    subscription, resource group and region; its NAT IPs are dynamic, from the frontend's subnet.
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
        _check_service(current, place, nat_ips, proxy_protocol)
        _check_vm_side(current_lb, parts, wanted, vm)
        _ensure_lb(clients, current_lb, parts, vm, wanted, steps)
        _ensure_member(clients, vm, parts, steps)
    else:
        place = _lb_place(clients, name, target)
        with steps.step("read the current state"):
            current = _get_pls(clients, place.service_id)
        _check_service(current, place, nat_ips, proxy_protocol)
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
            "InvalidServiceName",
            f"{name!r} is not a service name: 1-50 letters, digits, '.', '-' or '_', starting with a "
            "letter or digit and ending with a letter, digit or '_'.",
        )
    if not NAT_IPS_MIN <= nat_ips <= NAT_IPS_MAX:
        raise CloudError(
            "InvalidNatIpCount",
            f"A private link service has {NAT_IPS_MIN} to {NAT_IPS_MAX} NAT IPs, not {nat_ips}.",
        )
    if isinstance(target, VmTarget) and not ports:
        raise CloudError("InvalidExposeTarget", f"Exposing VM {target.vm} needs at least one port.")
    if isinstance(target, LbTarget) and ports:
        raise CloudError(
            "InvalidExposeTarget",
            f"Load balancer {target.lb} brings its own rules; ports cannot be given with --lb.",
        )
    bad = [p for p in ports if not 1 <= p <= 65535]
    if bad:
        raise CloudError("InvalidPort", f"Ports must be 1-65535, not {', '.join(map(str, bad))}.")


def _pls_id(subscription: str, group: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/privateLinkServices/{name}"


def _lb_id(vm: VmInfo) -> str:
    name = lb.lb_name(vm.vnet_name, ids.name(vm.subnet_id) or "")
    return f"/subscriptions/{vm.subscription}/resourceGroups/{vm.resource_group}/providers/Microsoft.Network/loadBalancers/{name}"


def _get_pls(clients: Clients, service_id: str) -> PrivateLinkService | None:
    sub, group, name = ids.network_path(service_id)
    return get_or_none(clients.network(sub).private_link_services.get, group, name)


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


def _raise_conflict(name: str | None, differences: list[str]) -> None:
    if differences:
        raise CloudError(
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
            poller = network.load_balancers.begin_create_or_update(vm.resource_group, lb_name, wanted)
            current = wait(clients, poller, f"load balancer {lb_name}")
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
                clients, network.network_interfaces.begin_create_or_update(group, nic_name, wanted), nic_name
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
        subnet.private_link_service_network_policies = "Disabled"
        wait(clients, network.subnets.begin_create_or_update(group, vnet, name, subnet), f"subnet {name}")
        steps.done(f"subnet {name}: private link service policies disabled")


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
        wanted = _wanted_pls(current, place, nat_ips, visibility, auto_approval, proxy)
        if wanted is not None:
            poller = clients.network(sub).private_link_services.begin_create_or_update(group, name, wanted)
            wait(clients, poller, f"private link service {name}")


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
            "LoadBalancerNotStandard",
            f"Load balancer {found.id} is {sku}; a private link service needs a Standard load balancer.",
            found.id,
        )
    frontends = found.frontend_ip_configurations or []
    frontend = next((f for f in frontends if (f.name or "").lower() == target.frontend.lower()), None)
    if frontend is None:
        names = ", ".join(f.name or "" for f in frontends) or "none"
        raise CloudError(
            "FrontendNotFound",
            f"Load balancer {found.name} has no frontend {target.frontend!r} (it has: {names}).",
            found.id,
        )
    if frontend.subnet is None:
        raise CloudError(
            "LoadBalancerNotInternal",
            f"Frontend {frontend.name} of {found.name} is public; a private link service needs an internal frontend.",
            found.id,
        )
    sub, group, _ = ids.network_path(found.id)
    return _Place(_pls_id(sub, group, name), found.location, frontend.id, frontend.subnet.id)


def find_lb(clients: Clients, target: LbTarget) -> LoadBalancer:
    """The LB by name in natlink's subscriptions (and resource group, when given)."""
    matches: list[LoadBalancer] = []
    looked_in: list[str] = []
    for sub in clients.settings.subscriptions:
        network = clients.network(sub)
        try:
            if target.resource_group:
                found = get_or_none(network.load_balancers.get, target.resource_group, target.lb)
                matches += [found] if found is not None else []
            else:
                lbs = network.load_balancers.list_all()
                matches += [b for b in lbs if (b.name or "").lower() == target.lb.lower()]
        except AzureError as exc:
            raise CloudError.from_azure(exc, f"/subscriptions/{sub}") from exc
        looked_in.append(
            f"subscription {sub}" + (f" group {target.resource_group}" if target.resource_group else "")
        )
    return unique(matches, "LoadBalancer", target.lb, lambda b: b.id, looked_in)
