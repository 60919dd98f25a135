"""Read one private link service back as a :class:`Service` record, with its NAT and LB sides.

After a change natlink answers with what Azure now holds, not with what it asked for, so the
bot shows the real alias and addresses. A few GETs (service, its LB, its NICs) rather than a
sweep: the change concerns one service.
"""

from __future__ import annotations

from azure.core.exceptions import AzureError
from azure.mgmt.network.models import LoadBalancer, NetworkInterface, PrivateLinkService

from . import convert, ids, lookup, vms
from .clients import Clients
from .errors import CloudError
from .lookup import get_or_none
from .model import Service


def service_path(service_id: str) -> tuple[str, str, str]:
    """``(subscription, resource group, name)`` of a service ID, or ``InvalidServiceId``."""
    try:
        return ids.network_path(service_id)
    except ValueError:
        # InvalidServiceId: natlink's own code
        raise CloudError("InvalidServiceId", f"{service_id!r} is not a private link service ID.") from None


def get_pls(clients: Clients, service_id: str) -> PrivateLinkService:
    """The private link service, or ``ServiceNotFound``."""
    sub, group, name = service_path(service_id)
    try:
        pls = get_or_none(clients.network(sub).private_link_services.get, group, name)
    except AzureError as exc:
        raise CloudError.from_azure(exc, service_id) from exc
    if pls is None:
        raise CloudError(
            # ServiceNotFound: natlink's own code
            "ServiceNotFound",
            f"No private link service {service_id}.",
            service_id,
            "It may have been deleted outside natlink.",
        )
    return pls


def read_service(clients: Clients, service_id: str) -> Service:
    """The service as Azure holds it now: NAT IPs from its NIC, frontend, ports and backends."""
    pls = get_pls(clients, service_id)
    try:
        lbs = [
            lookup.load_balancer(clients, ids.parent(f.id))
            for f in pls.load_balancer_frontend_ip_configurations or []
        ]
        nat_nics = [_nic(clients, n.id) for n in pls.network_interfaces or []]
        frontends = {ids.key(f.id) for f in pls.load_balancer_frontend_ip_configurations or []}
        nic_ids = {ids.key(nic): nic for lb in lbs if lb for nic in _backend_nics(lb, frontends)}
        backend_nics = [_nic(clients, nic_id) for nic_id in nic_ids.values()]
        power = {vm: _power(clients, vm) for vm in _vms(backend_nics)}
    except AzureError as exc:
        raise CloudError.from_azure(exc, service_id) from exc
    resources = convert.Resources.index(
        nics=[n for n in [*nat_nics, *backend_nics] if n is not None],
        load_balancers=[lb for lb in lbs if lb is not None],
        power={vm: state for vm, state in power.items() if state},
    )
    return convert.service(pls, resources)


def _backend_nics(lb: LoadBalancer, frontends: set[str]) -> list[str]:
    """The NICs that the rules on ``frontends`` send to (not every pool of a shared LB): the pools of
    load-balancing rules and version 2 NAT rules, and each version 1 NAT rule's own NIC."""
    on_frontends = [
        r
        for r in [*(lb.load_balancing_rules or []), *(lb.inbound_nat_rules or [])]
        if r.frontend_ip_configuration and ids.key(r.frontend_ip_configuration.id) in frontends
    ]
    pools = {ids.key(r.backend_address_pool.id) for r in on_frontends if r.backend_address_pool}
    singles = [
        ids.parent(c.id) for r in on_frontends if (c := getattr(r, "backend_ip_configuration", None)) and c.id
    ]
    return [
        *(
            ids.parent(config.id)
            for pool in lb.backend_address_pools or []
            if ids.key(pool.id) in pools
            for config in pool.backend_ip_configurations or []
        ),
        *singles,
    ]


def _vms(nics: list[NetworkInterface | None]) -> set[str]:
    return {
        nic.virtual_machine.id
        for nic in nics
        if nic is not None and nic.virtual_machine and nic.virtual_machine.id
    }


def _power(clients: Clients, vm_id: str) -> str | None:
    """A backend VM's power state, from its instance view: a stopped VM is the commonest outage."""
    if convert.is_scale_set_vm(vm_id):
        return vms.scale_set_power(clients, vm_id)
    sub, group, name = ids.network_path(vm_id)
    view = get_or_none(clients.compute(sub).virtual_machines.instance_view, group, name)
    return convert.power_state(view.statuses or []) if view is not None else None


def _nic(clients: Clients, nic_id: str) -> NetworkInterface | None:
    if convert.is_scale_set_vm(nic_id):  # an instance's NIC: only the scale set's NIC API serves it
        return vms.scale_set_nic(clients, nic_id)
    sub, group, name = ids.network_path(nic_id)
    return get_or_none(clients.network(sub).network_interfaces.get, group, name)
