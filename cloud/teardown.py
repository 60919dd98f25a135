"""Delete a service, and the parts of natlink's LB that only it used.

A service with Pending or Approved connections is not deleted unless forced: deleting it cuts
people off. Forced, the connections are rejected first, so each consumer sees why. natlink's LB
(tagged ``managed-by: natlink``) loses the service's frontend, pool, probes and rules, and is
deleted when no other service is left on it; a user's own LB (``--lb``) is never touched.

The subnet's privateLinkServiceNetworkPolicies is NOT re-enabled: other private link services
may use the same subnet, and Azure refuses the change while any NAT IP is there anyway.
"""

from __future__ import annotations

from azure.mgmt.network.models import LoadBalancer, PrivateEndpointConnection

from . import ids, lb
from .clients import Clients
from .decide import decision_description
from .errors import CloudError
from .lookup import get_or_none
from .services import service_path
from .steps import Progress, Steps, wait
from .tokens import parse_token

OPEN = {"pending", "approved"}


def delete_service(
    clients: Clients, service_id: str, force: bool = False, progress: Progress | None = None
) -> None:
    """Delete the private link service ``service_id``; a service already gone is not an error."""
    sub, group, name = service_path(service_id)
    network = clients.network(sub)
    steps = Steps(f"delete service {name}", progress)
    with steps.step("read the current state", service_id):
        pls = get_or_none(network.private_link_services.get, group, name)
    if pls is None:
        return
    open_ = [c for c in pls.private_endpoint_connections or [] if (_status(c) or "").lower() in OPEN]
    if open_ and not force:
        listed = ", ".join(f"{c.name} ({_status(c)}, endpoint {c.private_endpoint.id})" for c in open_)
        raise CloudError(
            "ServiceHasConnections",
            f"Service {name} still has {len(open_)} open connection(s): {listed}.",
            service_id,
            "Reject or remove them first, or delete with force to reject them all.",
        )
    for conn in open_:
        with steps.step(f"reject connection {conn.name}", conn.id):
            state = conn.private_link_service_connection_state
            token = parse_token(state.description)
            state.status = "Rejected"
            state.description = decision_description(token, f"service {name} is being deleted")
            network.private_link_services.update_private_endpoint_connection(group, name, conn.name, conn)
            steps.done(f"connection {conn.name}: rejected")
    with steps.step(f"private link service {name}", service_id):
        wait(clients, network.private_link_services.begin_delete(group, name), f"private link service {name}")
        steps.done(f"private link service {name}: deleted")
    for frontend in pls.load_balancer_frontend_ip_configurations or []:
        _clean_lb(clients, lb.Parts(ids.parent(frontend.id), name), frontend.id, steps)


def _status(conn: PrivateEndpointConnection) -> str | None:
    state = conn.private_link_service_connection_state
    return state.status if state else None


def _clean_lb(clients: Clients, parts: lb.Parts, frontend_id: str, steps: Steps) -> None:
    """Remove the service's parts from natlink's LB, and the LB when nothing else is on it."""
    sub, group, lb_name = ids.network_path(parts.lb_id)
    network = clients.network(sub)
    with steps.step(f"load balancer {lb_name}", parts.lb_id):
        current = get_or_none(network.load_balancers.get, group, lb_name)
        if (
            current is None
            or not lb.is_natlink_made(current)
            or ids.key(frontend_id) != ids.key(parts.frontend_id)
        ):
            return
        for config_id in lb.pool_members(current, parts.pool_id):
            _leave_pool(clients, ids.parent(config_id), parts.pool_id, steps)
        _shrink(clients, current, parts, steps)


def _leave_pool(clients: Clients, nic_id: str, pool_id: str, steps: Steps) -> None:
    sub, group, nic_name = ids.network_path(nic_id)
    network = clients.network(sub)
    with steps.step(f"network interface {nic_name}", nic_id):
        wanted = lb.left(network.network_interfaces.get(group, nic_name), pool_id)
        if wanted is not None:
            wait(
                clients, network.network_interfaces.begin_create_or_update(group, nic_name, wanted), nic_name
            )
        steps.done(f"network interface {nic_name}: out of backend pool {ids.name(pool_id)}")


def _shrink(clients: Clients, current: LoadBalancer, parts: lb.Parts, steps: Steps) -> None:
    """PUT the LB without the service's parts, or delete it when they were all it had."""
    sub, group, lb_name = ids.network_path(parts.lb_id)
    network = clients.network(sub)
    remaining = lb.without_service(current, parts)
    if remaining.frontend_ip_configurations:
        wait(clients, network.load_balancers.begin_create_or_update(group, lb_name, remaining), lb_name)
        left = len(remaining.frontend_ip_configurations)
        steps.done(f"load balancer {lb_name}: service removed, kept for {left} other frontend(s)")
    else:
        wait(clients, network.load_balancers.begin_delete(group, lb_name), lb_name)
        steps.done(f"load balancer {lb_name}: deleted")
