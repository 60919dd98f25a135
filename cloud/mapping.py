"""Who sees which address: the double NAT of each connection, read from a snapshot.

Only what was read is shown: a private endpoint in a subscription natlink cannot read has no
address here (``consumer_visible`` is False), rather than one guessed from the service side.
"""

from __future__ import annotations

from . import ids
from .model import Backend, Connection, Endpoint, Forward, Mapping, Service, Snapshot


def mappings(snapshot: Snapshot) -> list[Mapping]:
    """One mapping per connection, service port and backend, in service order."""
    endpoints = {ids.key(e.id): e for e in snapshot.endpoints}
    return [
        mapping
        for service in snapshot.services
        for connection in service.connections
        for mapping in _for_connection(
            service, connection, endpoints.get(ids.key(connection.private_endpoint_id))
        )
    ]


def _for_connection(service: Service, connection: Connection, endpoint: Endpoint | None) -> list[Mapping]:
    """One row per way the frontend forwards (a load-balancing rule's port, a NAT rule's port) and
    each backend it reaches; a forward with no backend, or a service with none, still has its row."""
    if not service.forwards:
        return [_mapping(service, connection, endpoint, None, None)]
    rows = []
    for forward in service.forwards:
        backends = [b for b in service.backends if _reaches(forward, b)] or [None]
        rows += [_mapping(service, connection, endpoint, forward, b) for b in backends]
    return rows


def _reaches(forward: Forward, backend: Backend) -> bool:
    return (backend.frontend_port, backend.port, backend.via) == (
        forward.frontend_port,
        forward.backend_port,
        forward.via,
    )


def _mapping(
    service: Service,
    connection: Connection,
    endpoint: Endpoint | None,
    forward: Forward | None,
    backend: Backend | None,
) -> Mapping:
    """The consumer's source is filled only when exactly one VM shares the endpoint's subnet."""
    sole = endpoint.subnet_vms[0] if endpoint is not None and len(endpoint.subnet_vms) == 1 else None
    return Mapping(
        service=service.name,
        connection=connection.name,
        status=connection.status,
        consumer_visible=endpoint is not None,
        consumer_source_ip=sole.ip if sole else None,
        consumer_vm=sole.name if sole else None,
        pe_ip=endpoint.ip if endpoint is not None else None,
        port=forward.frontend_port if forward else None,
        nat_ips=service.nat_ips,
        frontend_ip=service.frontend_ip,
        backend_ip=backend.ip if backend else None,
        backend_port=forward.backend_port if forward else None,
        backend_vm=backend.vm_name if backend else None,
        load_balancer=service.load_balancer,
        via=forward.via if forward else None,
        service_id=service.id,
        endpoint_id=endpoint.id if endpoint is not None else None,
        consumer_vm_id=sole.id if sole else None,
        backend_vm_id=backend.vm_id if backend else None,
        load_balancer_id=service.load_balancer_ids[0] if len(service.load_balancer_ids) == 1 else None,
    )
