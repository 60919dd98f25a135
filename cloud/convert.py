"""SDK objects of one sweep → natlink records, without calling Azure.

Everything is looked up in :class:`Resources` by lower-cased ID, so one sweep of list calls is
enough and conversion is a pure function that tests can feed Azure's own example payloads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from azure.mgmt.network.models import (
    LoadBalancer,
    LoadBalancingRule,
    NetworkInterface,
    NetworkInterfaceIPConfiguration,
    PrivateEndpoint,
    PrivateEndpointConnection,
    PrivateLinkService,
    PrivateLinkServiceConnection,
)

from . import ids
from .model import Backend, Connection, Endpoint, Service, SubnetVm
from .tokens import parse_token

Member = tuple[NetworkInterface, NetworkInterfaceIPConfiguration]


@dataclass(frozen=True)
class Resources:
    """Everything listed in one sweep, indexed by lower-cased ID."""

    nics: dict[str, NetworkInterface] = field(default_factory=dict)
    frontend_ips: dict[str, str | None] = field(default_factory=dict)
    rules: dict[str, list[LoadBalancingRule]] = field(default_factory=dict)
    endpoints: dict[str, PrivateEndpoint] = field(default_factory=dict)
    power: dict[str, str] = field(default_factory=dict)
    pool_members: dict[str, list[Member]] = field(default_factory=dict)
    subnet_members: dict[str, list[Member]] = field(default_factory=dict)

    @classmethod
    def index(
        cls,
        nics: Iterable[NetworkInterface] = (),
        load_balancers: Iterable[LoadBalancer] = (),
        endpoints: Iterable[PrivateEndpoint] = (),
        power: dict[str, str] | None = None,
    ) -> Resources:
        nic_list, lbs = list(nics), list(load_balancers)
        rules: dict[str, list[LoadBalancingRule]] = defaultdict(list)
        for rule in (r for lb in lbs for r in lb.load_balancing_rules or []):
            if rule.frontend_ip_configuration is not None:
                rules[ids.key(rule.frontend_ip_configuration.id)].append(rule)
        pools: dict[str, list[Member]] = defaultdict(list)
        subnets: dict[str, list[Member]] = defaultdict(list)
        for nic in nic_list:
            for config in nic.ip_configurations or []:
                for pool in config.load_balancer_backend_address_pools or []:
                    pools[ids.key(pool.id)].append((nic, config))
                if config.subnet is not None:
                    subnets[ids.key(config.subnet.id)].append((nic, config))
        return cls(
            nics={ids.key(n.id): n for n in nic_list},
            frontend_ips={
                ids.key(f.id): f.private_ip_address for lb in lbs for f in lb.frontend_ip_configurations or []
            },
            rules=dict(rules),
            endpoints={ids.key(pe.id): pe for pe in endpoints},
            power={ids.key(k): v for k, v in (power or {}).items()},
            pool_members=dict(pools),
            subnet_members=dict(subnets),
        )

    def nic_ips(self, nic_ids: Iterable[str | None]) -> tuple[str, ...]:
        """The private addresses of those NICs that were listed, primary configuration first."""
        found = [self.nics[ids.key(i)] for i in nic_ids if ids.key(i) in self.nics]
        return tuple(ip for nic in found for ip in nic_addresses(nic))


def nic_addresses(nic: NetworkInterface) -> tuple[str, ...]:
    """A NIC's private IPs, primary first; a prefix allocation (``a.b.c.d/28``) yields its address."""
    configs = sorted(nic.ip_configurations or [], key=lambda c: not c.primary)
    return tuple(c.private_ip_address.split("/")[0] for c in configs if c.private_ip_address)


def power_state(statuses: Iterable[object]) -> str | None:
    """``running`` from the ``PowerState/running`` code in a VM's instance view."""
    for status in statuses:
        code = getattr(status, "code", None) or ""
        if code.startswith("PowerState/"):
            return code.removeprefix("PowerState/")
    return None


def service(pls: PrivateLinkService, resources: Resources) -> Service:
    frontend_ids = [ids.key(f.id) for f in pls.load_balancer_frontend_ip_configurations or []]
    rules = [rule for f in frontend_ids for rule in resources.rules.get(f, [])]
    return Service(
        id=pls.id,
        name=pls.name,
        subscription=ids.segment(pls.id, "subscriptions"),
        resource_group=ids.segment(pls.id, "resourceGroups"),
        location=pls.location,
        alias=pls.alias,
        nat_ips=_nat_ips(pls, resources),
        frontend_ip=next(
            (resources.frontend_ips[f] for f in frontend_ids if resources.frontend_ips.get(f)), None
        ),
        ports=tuple(dict.fromkeys((r.frontend_port, r.backend_port) for r in rules)),
        backends=tuple(b for r in rules for b in _backends(r, resources)),
        visibility=tuple(pls.visibility.subscriptions or []) if pls.visibility else (),
        auto_approval=tuple(pls.auto_approval.subscriptions or []) if pls.auto_approval else (),
        proxy_protocol=bool(pls.enable_proxy_protocol),
        provisioning_state=pls.provisioning_state,
        connections=tuple(connection(c, pls.id, resources) for c in pls.private_endpoint_connections or []),
    )


def connection(conn: PrivateEndpointConnection, service_id: str, resources: Resources) -> Connection:
    """The token comes from the state's description, else from the endpoint's request message:
    the provider's decision overwrites the description, the consumer's message stays."""
    state = conn.private_link_service_connection_state
    pe_id = conn.private_endpoint.id if conn.private_endpoint else None
    description = state.description if state else None
    return Connection(
        id=conn.id,
        name=conn.name,
        service_id=service_id,
        status=state.status if state else None,
        description=description,
        link_identifier=conn.link_identifier,
        private_endpoint_id=pe_id,
        endpoint_subscription=ids.segment(pe_id, "subscriptions"),
        token=parse_token(description) or endpoint_token(resources.endpoints.get(ids.key(pe_id))),
    )


def endpoint(pe: PrivateEndpoint, resources: Resources) -> Endpoint:
    """The endpoint's address comes from its NIC, or from a static ipConfiguration when the NIC
    was not listed."""
    links = _links(pe)
    subnet_id = pe.subnet.id if pe.subnet else None
    nic_ids = [n.id for n in pe.network_interfaces or []]
    static = tuple(c.private_ip_address for c in pe.ip_configurations or [] if c.private_ip_address)
    return Endpoint(
        id=pe.id,
        name=pe.name,
        subscription=ids.segment(pe.id, "subscriptions"),
        ip=(resources.nic_ips(nic_ids) or static or (None,))[0],
        subnet_id=subnet_id,
        vnet_name=ids.segment(subnet_id, "virtualNetworks"),
        status=_status(links[0]) if links else None,
        target=links[0].private_link_service_id if links else None,
        subnet_vms=tuple(
            SubnetVm(ids.name(nic.virtual_machine.id) or "", config.private_ip_address)
            for nic, config in resources.subnet_members.get(ids.key(subnet_id), [])
            if nic.virtual_machine and config.private_ip_address
        ),
    )


def _links(pe: PrivateEndpoint) -> list[PrivateLinkServiceConnection]:
    return [*(pe.manual_private_link_service_connections or []), *(pe.private_link_service_connections or [])]


def _status(link: PrivateLinkServiceConnection) -> str | None:
    state = link.private_link_service_connection_state
    return state.status if state else None


def endpoint_token(pe: PrivateEndpoint | None) -> str | None:
    """The natlink token in the endpoint's own request message, which no decision overwrites."""
    tokens = (parse_token(link.request_message) for link in _links(pe)) if pe else ()
    return next((t for t in tokens if t), None)


def _nat_ips(pls: PrivateLinkService, resources: Resources) -> tuple[str, ...]:
    """A dynamic NAT IP shows only on the service's NIC; a static one also on its ipConfiguration."""
    from_nics = resources.nic_ips(n.id for n in pls.network_interfaces or [])
    return from_nics or tuple(
        c.private_ip_address for c in pls.ip_configurations or [] if c.private_ip_address
    )


def _backends(rule: LoadBalancingRule, resources: Resources) -> list[Backend]:
    pools = [rule.backend_address_pool, *(rule.backend_address_pools or [])]
    pool_ids = dict.fromkeys(ids.key(p.id) for p in pools if p is not None)
    return [
        Backend(
            vm_name=ids.name(nic.virtual_machine.id) if nic.virtual_machine else None,
            nic_id=nic.id,
            ip=config.private_ip_address,
            port=rule.backend_port,
            power_state=resources.power.get(ids.key(nic.virtual_machine.id)) if nic.virtual_machine else None,
        )
        for pool_id in pool_ids
        for nic, config in resources.pool_members.get(pool_id, [])
    ]
