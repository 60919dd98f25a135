"""Who sees which address: the double NAT of each connection, read from a snapshot.

Only what was read is shown: a private endpoint in a subscription natlink cannot read has no
address here (``consumer_visible`` is False), rather than one guessed from the service side.
"""

from __future__ import annotations

from . import ids
from .model import Backend, Connection, Endpoint, Mapping, Service, Snapshot


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
    ports: list[tuple[int | None, int | None]] = list(service.ports) or [(None, None)]
    rows = []
    for frontend_port, backend_port in ports:
        backends = [b for b in service.backends if b.port == backend_port] or [None]
        rows += [_mapping(service, connection, endpoint, frontend_port, backend_port, b) for b in backends]
    return rows


def _mapping(
    service: Service,
    connection: Connection,
    endpoint: Endpoint | None,
    port: int | None,
    backend_port: int | None,
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
        port=port,
        nat_ips=service.nat_ips,
        frontend_ip=service.frontend_ip,
        backend_ip=backend.ip if backend else None,
        backend_port=backend_port,
        backend_vm=backend.vm_name if backend else None,
    )
