"""natlink's own internal load balancer, as pure edits of SDK models (no Azure calls here).

One Standard internal LB per subnet, ``natlink-lb-<vnet>-<subnet>``, in the VM's resource group.
Every service gets its own frontend, pool, probes and rules on it (``fe-<service>``,
``pool-<service>``, ``probe-<service>-<port>``, ``rule-<service>-<port>``), so services never
collide, two services may expose the same VM (Azure lets a NIC's IP configuration sit in the
pools of only one internal LB), and running expose again finds and reuses what is there.
The LB carries ``managed-by: natlink`` so delete knows it may remove it; a user's LB never does.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from azure.mgmt.network.models import (
    BackendAddressPool,
    FrontendIPConfiguration,
    LoadBalancer,
    LoadBalancerSku,
    LoadBalancingRule,
    NetworkInterface,
    Probe,
    Subnet,
    SubResource,
)

from . import ids
from .limits import NAME_MAX

MANAGED_BY = {"managed-by": "natlink"}


def lb_name(vnet: str, subnet: str) -> str:
    """The natlink LB for a subnet: deterministic, so a second service in the subnet reuses it."""
    raw = re.sub(r"[^A-Za-z0-9_.-]", "-", f"natlink-lb-{vnet}-{subnet}")[:NAME_MAX]
    return raw.rstrip(".-")


def is_natlink_made(resource: object) -> bool:
    """Whether natlink created ``resource`` (and so may delete it): its ``managed-by`` tag."""
    tags = getattr(resource, "tags", None) or {}
    return tags.get("managed-by") == MANAGED_BY["managed-by"]


@dataclass(frozen=True)
class Parts:
    """The names of one service's children on a natlink load balancer."""

    lb_id: str
    service: str

    @property
    def frontend_id(self) -> str:
        return f"{self.lb_id}/frontendIPConfigurations/fe-{self.service}"

    @property
    def pool_id(self) -> str:
        return f"{self.lb_id}/backendAddressPools/pool-{self.service}"

    def probe_id(self, port: int) -> str:
        return f"{self.lb_id}/probes/probe-{self.service}-{port}"

    def rule_name(self, port: int) -> str:
        return f"rule-{self.service}-{port}"


def ports_on(lb: LoadBalancer | None, frontend_id: str) -> tuple[int, ...]:
    """The frontend ports of the rules on ``frontend_id``: what a service exposes today."""
    rules = (lb.load_balancing_rules or []) if lb is not None else []
    return tuple(
        sorted(
            r.frontend_port
            for r in rules
            if r.frontend_ip_configuration and ids.key(r.frontend_ip_configuration.id) == ids.key(frontend_id)
        )
    )


def pool_members(lb: LoadBalancer | None, pool_id: str) -> tuple[str, ...]:
    """The NIC IP configurations ARM lists in a pool (read-only, derived from the NICs)."""
    for pool in (lb.backend_address_pools or []) if lb is not None else []:
        if ids.key(pool.id) == ids.key(pool_id):
            return tuple(c.id for c in pool.backend_ip_configurations or [])
    return ()


def with_service(
    lb: LoadBalancer | None, parts: Parts, location: str, subnet_id: str, ports: tuple[int, ...]
) -> LoadBalancer | None:
    """``lb`` (or a new one) with the service's frontend, pool, probes and rules merged in.

    None when nothing is missing and the LB is healthy: the caller then skips the PUT.
    """
    new = _owned(lb) if lb is not None else _empty(location)
    frontends, pools = list(new.frontend_ip_configurations or []), list(new.backend_address_pools or [])
    probes, rules = list(new.probes or []), list(new.load_balancing_rules or [])
    added = _add(
        frontends,
        FrontendIPConfiguration(
            name=ids.name(parts.frontend_id),
            subnet=Subnet(id=subnet_id),
            private_ip_allocation_method="Dynamic",
        ),
    )
    added |= _add(pools, BackendAddressPool(name=ids.name(parts.pool_id)))
    for port in ports:
        added |= _add(probes, Probe(name=ids.name(parts.probe_id(port)), protocol="Tcp", port=port))
        added |= _add(rules, _rule(parts, port))
    if lb is not None and not added and lb.provisioning_state == "Succeeded":
        return None
    new.frontend_ip_configurations, new.backend_address_pools = frontends, pools
    new.probes, new.load_balancing_rules = probes, rules
    return new


def without_service(lb: LoadBalancer, parts: Parts) -> LoadBalancer:
    """``lb`` less the service's frontend, the rules on it, their probes and the service's pool."""
    new = _owned(lb)
    frontend = ids.key(parts.frontend_id)
    rules = list(new.load_balancing_rules or [])
    ours = [
        r
        for r in rules
        if r.frontend_ip_configuration and ids.key(r.frontend_ip_configuration.id) == frontend
    ]
    probe_ids = {ids.key(r.probe.id) for r in ours if r.probe}
    new.load_balancing_rules = [r for r in rules if r not in ours]
    new.probes = [p for p in new.probes or [] if ids.key(p.id) not in probe_ids]
    new.backend_address_pools = [
        p for p in new.backend_address_pools or [] if ids.key(p.id) != ids.key(parts.pool_id)
    ]
    new.frontend_ip_configurations = [
        f for f in new.frontend_ip_configurations or [] if ids.key(f.id) != frontend
    ]
    return new


def joined(nic: NetworkInterface, config_id: str, pool_id: str) -> NetworkInterface | None:
    """``nic`` with its IP configuration ``config_id`` also in ``pool_id``; None if it already is.

    Existing memberships are kept: pool membership is a list on the NIC in Azure.
    """
    new = copy.deepcopy(nic)
    for config in new.ip_configurations or []:
        if ids.key(config.id) != ids.key(config_id):
            continue
        pools = list(config.load_balancer_backend_address_pools or [])
        if any(ids.key(p.id) == ids.key(pool_id) for p in pools):
            return None
        config.load_balancer_backend_address_pools = [*pools, BackendAddressPool(id=pool_id)]
        return new
    raise ValueError(f"{nic.id} has no IP configuration {config_id}")


def left(nic: NetworkInterface, pool_id: str) -> NetworkInterface | None:
    """``nic`` out of ``pool_id`` in every IP configuration; None if it was in it nowhere."""
    new, changed = copy.deepcopy(nic), False
    for config in new.ip_configurations or []:
        pools = list(config.load_balancer_backend_address_pools or [])
        kept = [p for p in pools if ids.key(p.id) != ids.key(pool_id)]
        if len(kept) != len(pools):
            config.load_balancer_backend_address_pools, changed = kept, True
    return new if changed else None


def _owned(lb: LoadBalancer) -> LoadBalancer:
    """A copy of ``lb`` to PUT back: without the pool members the NICs own.

    Azure lists every NIC-based member of a pool under ``loadBalancerBackendAddresses`` as well
    as ``backendIPConfigurations``, and refuses a PUT that sends those addresses back
    (``DuplicateIpConfigurationReferenceOnBackendAddressPool``, terraform-provider-azurerm#7691,
    #7741): membership is written on the NIC. Addresses given by IP (no NIC) are the LB's own and stay.
    """
    new = copy.deepcopy(lb)
    for pool in new.backend_address_pools or []:
        pool.backend_ip_configurations = None
        addresses = pool.load_balancer_backend_addresses or []
        by_ip = [a for a in addresses if a.network_interface_ip_configuration is None]
        pool.load_balancer_backend_addresses = by_ip or None  # None: the field is not sent at all
    return new


def _empty(location: str) -> LoadBalancer:
    return LoadBalancer(location=location, sku=LoadBalancerSku(name="Standard"), tags=dict(MANAGED_BY))


def _add(items: list, item: object) -> bool:
    """Append ``item`` unless one of that name is there (ARM child names are case-insensitive)."""
    name = getattr(item, "name", "").lower()
    if any((getattr(i, "name", None) or "").lower() == name for i in items):
        return False
    items.append(item)
    return True


def _rule(parts: Parts, port: int) -> LoadBalancingRule:
    return LoadBalancingRule(
        name=parts.rule_name(port),
        protocol="Tcp",
        frontend_port=port,
        backend_port=port,
        frontend_ip_configuration=SubResource(id=parts.frontend_id),
        backend_address_pool=SubResource(id=parts.pool_id),
        probe=SubResource(id=parts.probe_id(port)),
    )
