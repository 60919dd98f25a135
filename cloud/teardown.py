"""Delete a service, and the parts of natlink's LB that only it used, convergently.

A service with Pending or Approved connections is not deleted unless forced: deleting it cuts
people off. Forced, the connections are rejected first, so each consumer sees why. natlink's LB
(tagged ``managed-by: natlink``) loses the service's frontend, pool, probes and rules, and is
deleted when no other service is left on it; a user's own LB (``--lb``) is never touched.

Azure can refuse any step after the private link service is gone (a NIC leaving the pool, the LB
PUT or DELETE). So the LB parts are found from the service's name on natlink's LBs in its
resource group, not from the PLS: a rerun after any partial failure finds and removes what is
left. Azure is read back at the end; only a clean read returns, so a caller may then forget the
service.

The subnet's privateLinkServiceNetworkPolicies is NOT re-enabled: other private link services
may use the same subnet, and Azure refuses the change while any NAT IP is there anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import LoadBalancer, PrivateEndpointConnection, PrivateLinkService

from . import ids, lb, permissions
from .clients import Clients
from .decide import decision_description, read_back_connection
from .errors import CloudError
from .lookup import get_or_none
from .services import service_path
from .steps import Progress, Steps, wait
from .tokens import parse_token

OPEN = {"pending", "approved"}


@dataclass(frozen=True)
class Rejected:
    """A connection a forced delete rejected, as Azure answered the write: enough to find its request."""

    connection_id: str
    endpoint_id: str | None
    token: str | None


OnRejected = Callable[[Rejected], None]


def delete_service(
    clients: Clients,
    service_id: str,
    force: bool = False,
    progress: Progress | None = None,
    *,
    natlink_lb: bool = True,
    on_rejected: OnRejected | None = None,
) -> None:
    """Delete the private link service ``service_id`` and what natlink built for it; rerun to finish.

    ``natlink_lb`` is False for a service exposed on a user's LB (``--lb``): then only the private
    link service goes. Even when True, only LBs tagged ``managed-by: natlink`` are changed.
    Returns only once Azure, read back, holds nothing natlink made for the service. Each connection
    a forced delete rejects is handed to ``on_rejected`` at once: a later step may fail, and the
    caller must not go on calling that access open.
    """
    sub, group, name = service_path(service_id)
    network = clients.network(sub)
    steps = Steps(f"delete service {name}", progress)
    with steps.step("read the current state", service_id):
        pls = get_or_none(network.private_link_services.get, group, name)
    permissions.require(clients, f"delete {name}", [_needs(service_id, force, natlink_lb)])
    if pls is not None:
        _delete_pls(clients, pls, force, steps, on_rejected or (lambda _: None))
    if natlink_lb:
        with steps.step("find natlink's load balancer parts", service_id):
            holding = _natlink_lbs_holding(network, group, name)
        for found in holding:
            _clean_lb(clients, found, lb.Parts(found.id, name), steps)
    _read_back(network, group, name, natlink_lb, steps)


def _needs(service_id: str, force: bool, natlink_lb: bool) -> permissions.Need:
    """The delete's writes, judged at the service's resource group, where natlink's LB lives too
    (the VM's NIC may sit in another group; ARM still judges that write itself)."""
    actions = ["Microsoft.Network/privateLinkServices/delete"]
    if force:
        actions.append("Microsoft.Network/privateLinkServices/privateEndpointConnections/write")
    if natlink_lb:
        actions += ["Microsoft.Network/loadBalancers/write", "Microsoft.Network/loadBalancers/delete"]
    return permissions.Need(permissions.group_of(service_id), tuple(actions))


def _delete_pls(
    clients: Clients, pls: PrivateLinkService, force: bool, steps: Steps, on_rejected: OnRejected
) -> None:
    """Reject the open connections (only when forced), then delete the private link service."""
    sub, group, name = service_path(pls.id)
    network = clients.network(sub)
    open_ = [c for c in pls.private_endpoint_connections or [] if (_status(c) or "").lower() in OPEN]
    if open_ and not force:
        listed = ", ".join(f"{c.name} ({_status(c)}, endpoint {c.private_endpoint.id})" for c in open_)
        raise CloudError(
            # ServiceHasConnections: natlink's own code
            "ServiceHasConnections",
            f"Service {name} still has {len(open_)} open connection(s): {listed}.",
            pls.id,
            "Reject or remove them first, or delete with force to reject them all.",
        )
    for conn in open_:
        with steps.step(f"reject connection {conn.name}", conn.id):
            state = conn.private_link_service_connection_state
            token = parse_token(state.description)
            state.status = "Rejected"
            state.description = decision_description(token, f"service {name} is being deleted")
            network.private_link_services.update_private_endpoint_connection(group, name, conn.name, conn)
            answer = read_back_connection(clients, pls.id, conn.name, "Rejected")
            endpoint = answer.private_endpoint.id if answer.private_endpoint else None
            on_rejected(Rejected(conn.id, endpoint, token))
            steps.done(f"connection {conn.name}: rejected")
    with steps.step(f"private link service {name}", pls.id):
        wait(
            clients,
            lambda: network.private_link_services.begin_delete(group, name),
            f"private link service {name}",
        )
        steps.done(f"private link service {name}: deleted")


def _status(conn: PrivateEndpointConnection) -> str | None:
    state = conn.private_link_service_connection_state
    return state.status if state else None


def _natlink_lbs_holding(network: NetworkManagementClient, group: str, service: str) -> list[LoadBalancer]:
    """natlink's LBs in the group that still hold a part named for ``service``.

    The natlink LB lives in the VM's resource group, as the service does; a group that is gone
    holds nothing.
    """
    try:
        found = list(network.load_balancers.list(group))
    except ResourceNotFoundError:
        return []
    return [b for b in found if lb.is_natlink_made(b) and _parts_of(b, lb.Parts(b.id, service))]


def _parts_of(balancer: LoadBalancer, parts: lb.Parts) -> list[str]:
    """The names of ``parts``'s children still on ``balancer``: its frontend, pool, probes, rules."""
    frontend, pool = ids.key(parts.frontend_id), ids.key(parts.pool_id)
    named = re.compile(rf"(probe|rule)-{re.escape(parts.service)}-\d+", re.I)
    return [
        *(f.name for f in balancer.frontend_ip_configurations or [] if ids.key(f.id) == frontend),
        *(p.name for p in balancer.backend_address_pools or [] if ids.key(p.id) == pool),
        *(p.name for p in balancer.probes or [] if named.fullmatch(p.name or "")),
        *(
            r.name
            for r in balancer.load_balancing_rules or []
            if _on(r, frontend) or named.fullmatch(r.name or "")
        ),
    ]


def _on(rule: object, frontend_key: str) -> bool:
    config = getattr(rule, "frontend_ip_configuration", None)
    return config is not None and ids.key(config.id) == frontend_key


def _clean_lb(clients: Clients, current: LoadBalancer, parts: lb.Parts, steps: Steps) -> None:
    """Take the service's NICs out of its pool, then its parts off the LB (or the whole LB, if
    nothing else was on it): Azure refuses to remove a pool that NICs are still in."""
    for config_id in lb.pool_members(current, parts.pool_id):
        _leave_pool(clients, ids.parent(config_id), parts.pool_id, steps)
    lb_name = ids.name(parts.lb_id)
    with steps.step(f"load balancer {lb_name}", parts.lb_id):
        _shrink(clients, current, parts, steps)


def _leave_pool(clients: Clients, nic_id: str, pool_id: str, steps: Steps) -> None:
    sub, group, nic_name = ids.network_path(nic_id)
    network = clients.network(sub)
    with steps.step(f"network interface {nic_name}", nic_id):
        wanted = lb.left(network.network_interfaces.get(group, nic_name), pool_id)
        if wanted is not None:
            wait(
                clients,
                lambda: network.network_interfaces.begin_create_or_update(group, nic_name, wanted),
                nic_name,
            )
        steps.done(f"network interface {nic_name}: out of backend pool {ids.name(pool_id)}")


def _shrink(clients: Clients, current: LoadBalancer, parts: lb.Parts, steps: Steps) -> None:
    """PUT the LB without the service's parts, or delete it when they were all it had."""
    sub, group, lb_name = ids.network_path(parts.lb_id)
    network = clients.network(sub)
    remaining = _without(current, parts)
    if remaining.frontend_ip_configurations:
        wait(
            clients, lambda: network.load_balancers.begin_create_or_update(group, lb_name, remaining), lb_name
        )
        left = len(remaining.frontend_ip_configurations)
        steps.done(f"load balancer {lb_name}: service removed, kept for {left} other frontend(s)")
    else:
        wait(clients, lambda: network.load_balancers.begin_delete(group, lb_name), lb_name)
        steps.done(f"load balancer {lb_name}: deleted")


def _without(current: LoadBalancer, parts: lb.Parts) -> LoadBalancer:
    """:func:`lb.without_service`, also dropping probes and rules named for the service that nothing
    else removed (an LB edited by hand may have lost the rule that tied a probe to the frontend)."""
    remaining = lb.without_service(current, parts)
    stray = set(_parts_of(remaining, parts))
    remaining.probes = [p for p in remaining.probes or [] if p.name not in stray]
    remaining.load_balancing_rules = [r for r in remaining.load_balancing_rules or [] if r.name not in stray]
    return remaining


def _read_back(
    network: NetworkManagementClient, group: str, name: str, natlink_lb: bool, steps: Steps
) -> None:
    """Read Azure again: anything natlink made for the service still there is a failure, not a success."""
    with steps.step("read Azure back"):
        left = (
            [f"private link service {name}"]
            if get_or_none(network.private_link_services.get, group, name)
            else []
        )
        for found in _natlink_lbs_holding(network, group, name) if natlink_lb else []:
            left.append(
                f"{', '.join(_parts_of(found, lb.Parts(found.id, name)))} on load balancer {found.name}"
            )
        if left:
            raise CloudError(
                # DeleteIncomplete: natlink's own code
                "DeleteIncomplete",
                f"Azure still holds what natlink made for {name}: {'; '.join(left)}.",
                hint="Run the delete again: it removes what is left.",
            )
    steps.done(f"read back: nothing natlink made for {name} is left in Azure")
