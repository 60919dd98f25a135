"""Where a private endpoint can go: every VM (in its primary NIC's subnet) and every subnet, per
subscription, for the request form's pickers.

Three list calls a subscription (VMs, NICs, VNets with their subnets), however many VMs there are,
so the options of a picker can be answered within Slack's 3 seconds from a recent read. A
subscription natlink may not read is named, not fatal: the others still offer their places.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import ids
from .clients import Clients
from .errors import read_or_unreadable
from .model import Unreadable

VM, SUBNET = "vm", "subnet"


@dataclass(frozen=True)
class Place:
    """A VM (``kind`` "vm", ``name`` the VM's) or a subnet (``kind`` "subnet", ``name`` the subnet's),
    with the VNet and subnet an endpoint put there lands in."""

    kind: str
    id: str
    subscription: str
    resource_group: str
    name: str
    vnet: str
    subnet: str


@dataclass(frozen=True)
class Places:
    places: tuple[Place, ...]
    unreadable: tuple[Unreadable, ...]


def places(clients: Clients, subscriptions: Iterable[str]) -> Places:
    """Every VM and subnet in ``subscriptions``, read at once (one bounded pool)."""
    subs = tuple(dict.fromkeys(s.lower() for s in subscriptions))
    found = clients.per_subscription(subs, lambda sub: read_or_unreadable(sub, lambda: _read(clients, sub)))
    return Places(
        tuple(p for part in found if isinstance(part, list) for p in part),
        tuple(u for u in found if isinstance(u, Unreadable)),
    )


def _read(clients: Clients, subscription: str) -> list[Place]:
    network = clients.network(subscription)
    subnet_of_nic = {ids.key(nic.id): _primary_subnet(nic) for nic in network.network_interfaces.list_all()}
    out = []
    for vm in clients.compute(subscription).virtual_machines.list_all():
        refs = vm.network_profile.network_interfaces if vm.network_profile else None
        if not refs:
            continue
        nic = next((n.id for n in refs if n.primary), refs[0].id)
        subnet_id = subnet_of_nic.get(ids.key(nic))
        if subnet_id:
            out.append(_place(VM, vm.id, vm.name, subnet_id))
    for vnet in network.virtual_networks.list_all():
        out += [_place(SUBNET, s.id, s.name, s.id) for s in vnet.subnets or []]
    return out


def _primary_subnet(nic: Any) -> str | None:
    configs = nic.ip_configurations or []
    config = next((c for c in configs if c.primary), configs[0] if configs else None)
    return config.subnet.id if config is not None and config.subnet is not None else None


def _place(kind: str, resource_id: str, name: str, subnet_id: str) -> Place:
    return Place(
        kind=kind,
        id=resource_id,
        subscription=(ids.segment(resource_id, "subscriptions") or "").lower(),
        resource_group=ids.segment(resource_id, "resourceGroups") or "",
        name=name,
        vnet=ids.name(ids.parent(subnet_id)) or "",
        subnet=ids.name(subnet_id) or "",
    )
