"""Azure's truth: services, connections, endpoints and load balancers, read with the real SDK.

Everything is read from the sandbox ARM through ``azure-mgmt-network`` exactly as any client would
(list calls per subscription), and reduced to plain frozen records keyed by lower-cased ARM IDs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from azure.mgmt.network import NetworkManagementClient

from cloud.tokens import parse_token


def key(arm_id: str | None) -> str:
    """ARM compares IDs case-insensitively."""
    return (arm_id or "").lower()


@dataclass(frozen=True)
class Connection:
    """One private endpoint connection, as its private link service holds it."""

    id: str
    pls_id: str
    pls_name: str
    pe_id: str
    status: str
    description: str
    token: str | None  # the natlink token in the endpoint's request message, else in the description
    pe_ip: str | None

    @property
    def approved(self) -> bool:
        return self.status == "Approved"


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    alias: str
    natlink_made: bool
    frontends: tuple[str, ...]
    provisioning: str


@dataclass(frozen=True)
class Balancer:
    id: str
    name: str
    natlink_made: bool
    children: tuple[str, ...]  # names of frontends, pools, probes and rules


@dataclass(frozen=True)
class Truth:
    services: dict[str, Service]  # by key(id)
    connections: tuple[Connection, ...]
    endpoints: dict[str, str | None]  # key(pe id) -> token of its request message
    balancers: tuple[Balancer, ...]

    def with_token(self, token: str) -> list[Connection]:
        return [c for c in self.connections if c.token == token]

    def by_id(self, connection_id: str | None) -> Connection | None:
        return next((c for c in self.connections if key(c.id) == key(connection_id)), None)

    def fingerprint(self) -> tuple[object, ...]:
        """What the address map is a function of (with natlink's own list of services)."""
        return tuple(sorted((key(c.id), c.status, key(c.pls_id), c.pe_ip or "") for c in self.connections))


def _status(state: object) -> str:
    return str(getattr(state, "status", None) or "?")


def read(clients: Iterable[NetworkManagementClient]) -> Truth:
    """One consistent-enough reading: ARM serves one world under one lock, nothing else writes meanwhile."""
    services: dict[str, Service] = {}
    raw_connections = []
    endpoint_tokens: dict[str, str | None] = {}
    nic_ips: dict[str, str] = {}
    endpoint_nics: dict[str, str] = {}
    balancers = []
    for network in clients:
        for nic in network.network_interfaces.list_all():
            configs = nic.ip_configurations or []
            if configs and configs[0].private_ip_address:
                nic_ips[key(nic.id)] = configs[0].private_ip_address
        for pe in network.private_endpoints.list_by_subscription():
            links = [
                *(pe.manual_private_link_service_connections or []),
                *(pe.private_link_service_connections or []),
            ]
            tokens = [parse_token(link.request_message) for link in links]
            endpoint_tokens[key(pe.id)] = next((t for t in tokens if t), None)
            if pe.network_interfaces:
                endpoint_nics[key(pe.id)] = key(pe.network_interfaces[0].id)
        for pls in network.private_link_services.list_by_subscription():
            tags = pls.tags or {}
            services[key(pls.id)] = Service(
                id=pls.id,
                name=pls.name,
                alias=pls.alias or "",
                natlink_made=tags.get("managed-by") == "natlink",
                frontends=tuple(key(f.id) for f in pls.load_balancer_frontend_ip_configurations or []),
                provisioning=str(pls.provisioning_state),
            )
            for conn in pls.private_endpoint_connections or []:
                raw_connections.append((pls, conn))
        for lb in network.load_balancers.list_all():
            children = [
                *(f.name for f in lb.frontend_ip_configurations or []),
                *(p.name for p in lb.backend_address_pools or []),
                *(p.name for p in lb.probes or []),
                *(r.name for r in lb.load_balancing_rules or []),
            ]
            balancers.append(
                Balancer(
                    lb.id,
                    lb.name,
                    (lb.tags or {}).get("managed-by") == "natlink",
                    tuple(c or "" for c in children),
                )
            )
    connections = []
    for pls, conn in raw_connections:
        state = conn.private_link_service_connection_state
        pe_id = conn.private_endpoint.id if conn.private_endpoint else ""
        description = str(getattr(state, "description", None) or "")
        connections.append(
            Connection(
                id=conn.id,
                pls_id=pls.id,
                pls_name=pls.name,
                pe_id=pe_id,
                status=_status(state),
                description=description,
                token=endpoint_tokens.get(key(pe_id)) or parse_token(description),
                pe_ip=nic_ips.get(endpoint_nics.get(key(pe_id), "")),
            )
        )
    return Truth(services, tuple(connections), endpoint_tokens, tuple(balancers))
