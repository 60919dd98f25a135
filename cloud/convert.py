"""ARM resources of one sweep → natlink records, without calling Azure.

The converter reads the resources' REST JSON: the dicts a list call returns, or an SDK model
(azure-mgmt-network's models are mappings over that same JSON, so ``get`` works on both and
callers holding SDK objects pass them as they are). Keys Azure adds later are ignored.

Everything is looked up in :class:`Resources` by lower-cased ID, so one sweep of list calls is
enough and conversion is a pure function that tests can feed Azure's own example payloads.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import ids
from .model import NOT_A_VM, Backend, BackendKind, Connection, Endpoint, Forward, Service, SubnetVm
from .tokens import parse_token

Json = Mapping[str, Any]
_EMPTY: Json = {}


def _props(resource: Json | None) -> Json:
    """A resource's ``properties`` (ARM nests almost everything there)."""
    return (resource.get("properties") if resource else None) or _EMPTY


def _id(ref: Json | None) -> str | None:
    """The ``id`` of a sub-resource reference such as ``{"id": ...}``."""
    return ref.get("id") if ref else None


def _list(value: Json, key: str) -> list[Any]:
    return value.get(key) or []


@dataclass(frozen=True, slots=True)
class _Member:
    """A NIC's IP configuration in a backend pool (``config_id``), or an IP-based pool address
    (``config_id`` and ``nic_id`` are then both the address's ID)."""

    nic_id: str
    vm_id: str | None
    ip: str | None
    kind: str = BackendKind.VM
    config_id: str = ""


@dataclass(frozen=True)
class Resources:
    """Everything listed in one sweep, indexed by lower-cased ID."""

    nic_addresses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    frontend_ips: dict[str, str | None] = field(default_factory=dict)
    rules: dict[str, list[Json]] = field(default_factory=dict)
    nat_rules: dict[str, list[Json]] = field(default_factory=dict)
    nat_ports: dict[tuple[str, str], int] = field(default_factory=dict)
    configs: dict[str, _Member] = field(default_factory=dict)
    endpoints: dict[str, Json] = field(default_factory=dict)
    power: dict[str, str] = field(default_factory=dict)
    pool_members: dict[str, list[_Member]] = field(default_factory=dict)
    subnet_vms: dict[str, tuple[SubnetVm, ...]] = field(default_factory=dict)
    vm_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def index(
        cls,
        nics: Iterable[Json] = (),
        load_balancers: Iterable[Json] = (),
        endpoints: Iterable[Json] = (),
        power: dict[str, str] | None = None,
        vm_names: dict[str, str] | None = None,
    ) -> Resources:
        """Index NICs, load balancers and endpoints (REST JSON or SDK models) once per sweep.

        Each subnet's VMs are collected here, once, so converting an endpoint costs the same
        however many NICs share its subnet. ``nics`` may include scale set instances' NICs (read
        through the scale set's own NIC list); ``vm_names`` names VMs whose name is not the last
        segment of their ID (scale set instances). An IP-based pool's addresses are members too.
        Each pool address lists the frontend port Azure gave it on each version 2 inbound NAT rule
        (``inboundNatRulesPortMapping``), so one LB list call is enough for those too.
        """
        names = {ids.key(k): v for k, v in (vm_names or {}).items()}
        rules: dict[str, list[Json]] = defaultdict(list)
        nat_rules: dict[str, list[Json]] = defaultdict(list)
        frontend_ips: dict[str, str | None] = {}
        pools: dict[str, list[_Member]] = defaultdict(list)
        nat_ports: dict[tuple[str, str], int] = {}
        for lb in load_balancers:  # once: the sweep hands them over as it drops them
            lb_props = _props(lb)
            for collection, by_frontend in (("loadBalancingRules", rules), ("inboundNatRules", nat_rules)):
                for rule in _list(lb_props, collection):
                    frontend = _id(_props(rule).get("frontendIPConfiguration"))
                    if frontend is not None:
                        by_frontend[ids.key(frontend)].append(rule)
            for f in _list(lb_props, "frontendIPConfigurations"):
                frontend_ips[ids.key(f.get("id"))] = _props(f).get("privateIPAddress")
            for pool in _list(lb_props, "backendAddressPools"):
                for address in _list(_props(pool), "loadBalancerBackendAddresses"):
                    props = _props(address)
                    nat_ports |= _nat_ports(lb, pool, address)
                    if props.get("ipAddress") and not props.get("networkInterfaceIPConfiguration"):
                        member_id = f"{pool.get('id')}/loadBalancerBackendAddresses/{address.get('name')}"
                        pools[ids.key(pool.get("id"))].append(
                            _Member(member_id, None, props["ipAddress"], BackendKind.IP, member_id)
                        )
        subnets: dict[str, list[SubnetVm]] = defaultdict(list)
        addresses: dict[str, tuple[str, ...]] = {}
        members: dict[str, _Member] = {}
        for nic in nics:
            nic_id, nic_props = nic.get("id"), _props(nic)
            vm_id = _id(nic_props.get("virtualMachine"))
            configs = _list(nic_props, "ipConfigurations")
            addresses[ids.key(nic_id)] = _addresses(configs)
            for config in configs:
                props = _props(config)
                ip = props.get("privateIPAddress")
                kind = BackendKind.SCALE_SET if is_scale_set_vm(vm_id) else BackendKind.VM
                member = _Member(nic_id, vm_id, ip, kind, config.get("id") or "")
                members[ids.key(member.config_id)] = member
                for pool in _list(props, "loadBalancerBackendAddressPools"):
                    pools[ids.key(pool.get("id"))].append(member)
                subnet = props.get("subnet")
                if subnet is not None and vm_id and ip:
                    subnets[ids.key(subnet.get("id"))].append(SubnetVm(_vm_name(vm_id, names), ip, vm_id))
        return cls(
            nic_addresses=addresses,
            frontend_ips=frontend_ips,
            rules=dict(rules),
            nat_rules=dict(nat_rules),
            nat_ports=nat_ports,
            configs=members,
            endpoints={ids.key(pe.get("id")): pe for pe in endpoints},
            pool_members=dict(pools),
            subnet_vms={k: tuple(v) for k, v in subnets.items()},
            vm_names=names,
        ).with_power(power or {})

    def with_power(self, power: dict[str, str]) -> Resources:
        """The index with ``power`` (VM ID -> power state) as the VMs' power states."""
        return replace(self, power={ids.key(k): v for k, v in power.items()})

    def nic_ips(self, nic_ids: Iterable[str | None]) -> tuple[str, ...]:
        """The private addresses of those NICs that were listed, primary configuration first."""
        return tuple(ip for i in nic_ids for ip in self.nic_addresses.get(ids.key(i), ()))


def _nat_ports(lb: Json, pool: Json, address: Json) -> dict[tuple[str, str], int]:
    """``(rule key, member key) -> frontend port`` of one pool address's version 2 NAT rule ports
    (loadBalancer.json ``NatRulePortMapping``, read-only); the member is its IP configuration, or for
    an IP-based address the address's own ID (as :class:`_Member` names it)."""
    props = _props(address)
    member = _id(props.get("networkInterfaceIPConfiguration")) or (
        f"{pool.get('id')}/loadBalancerBackendAddresses/{address.get('name')}"
    )
    return {
        (ids.key(f"{lb.get('id')}/inboundNatRules/{m.get('inboundNatRuleName')}"), ids.key(member)): port
        for m in _list(props, "inboundNatRulesPortMapping")
        if isinstance(port := m.get("frontendPort"), int)
    }


def nic_addresses(nic: Json) -> tuple[str, ...]:
    """A NIC's private IPs, primary first; a prefix allocation (``a.b.c.d/28``) yields its address."""
    return _addresses(_list(_props(nic), "ipConfigurations"))


def _addresses(configs: list[Json]) -> tuple[str, ...]:
    props = sorted((_props(c) for c in configs), key=lambda p: not p.get("primary"))
    return tuple(p["privateIPAddress"].split("/")[0] for p in props if p.get("privateIPAddress"))


def power_state(statuses: Iterable[object]) -> str | None:
    """``running`` from the ``PowerState/running`` code in a VM's instance view (JSON or SDK)."""
    for status in statuses:
        code = (status.get("code") if isinstance(status, Mapping) else getattr(status, "code", None)) or ""
        if code.startswith("PowerState/"):
            return code.removeprefix("PowerState/")
    return None


def service(pls: Json, resources: Resources) -> Service:
    props, pls_id = _props(pls), pls.get("id")
    frontends = [f.get("id") for f in _list(props, "loadBalancerFrontendIpConfigurations")]
    frontend_ids = [ids.key(f) for f in frontends]
    rules = [_props(rule) for f in frontend_ids for rule in resources.rules.get(f, [])]
    nat_rules = [rule for f in frontend_ids for rule in resources.nat_rules.get(f, [])]
    backends = [
        *(b for r in rules for b in _backends(r, resources)),
        *(b for r in nat_rules for b in _nat_backends(r, resources)),
    ]
    forwards = _forwards(rules, nat_rules, backends)
    return Service(
        id=pls_id,
        name=pls.get("name"),
        subscription=_shared(ids.segment(pls_id, "subscriptions")),
        resource_group=_shared(ids.segment(pls_id, "resourceGroups")),
        location=_shared(pls.get("location")),
        alias=props.get("alias"),
        nat_ips=_nat_ips(props, resources),
        frontend_ip=next(
            (resources.frontend_ips[f] for f in frontend_ids if resources.frontend_ips.get(f)), None
        ),
        backends=tuple(backends),
        visibility=tuple(_list(props.get("visibility") or _EMPTY, "subscriptions")),
        auto_approval=tuple(_list(props.get("autoApproval") or _EMPTY, "subscriptions")),
        proxy_protocol=bool(props.get("enableProxyProtocol")),
        provisioning_state=props.get("provisioningState"),
        connections=tuple(
            connection(c, pls_id, resources) for c in _list(props, "privateEndpointConnections")
        ),
        load_balancer_ids=tuple(dict.fromkeys(ids.parent(f) for f in frontend_ids if f)),
        forwards=forwards,
        load_balancer=next((ids.name(ids.parent(f)) for f in frontends if f), None),
    )


def _forwards(rules: list[Json], nat_rules: list[Json], backends: list[Backend]) -> tuple[Forward, ...]:
    """Each load-balancing rule, each version 1 NAT rule, and each member's port of a version 2 NAT
    rule (one frontend port per pool member)."""
    found = [Forward(r.get("frontendPort"), r.get("backendPort")) for r in rules]
    for rule in nat_rules:
        props, via = _props(rule), _via(rule)
        if _is_v2(props):
            found += [Forward(b.frontend_port, b.port, via) for b in backends if b.via == via]
        else:
            found.append(Forward(props.get("frontendPort"), props.get("backendPort"), via))
    return tuple(dict.fromkeys(found))


def _via(nat_rule: Json) -> str:
    return f"NAT rule {nat_rule.get('name')}"


def _is_v2(nat_rule_props: Json) -> bool:
    """A version 2 inbound NAT rule targets a backend pool, with a frontend port range."""
    return nat_rule_props.get("backendAddressPool") is not None


def _nat_backends(rule: Json, resources: Resources) -> list[Backend]:
    """A version 1 rule's one IP configuration (Azure fills ``backendIPConfiguration`` from the NIC
    that names the rule); a version 2 rule's pool members, each on the frontend port Azure gave it."""
    props, via = _props(rule), _via(rule)
    port = props.get("backendPort")
    if _is_v2(props):
        pool = ids.key(_id(props.get("backendAddressPool")))
        return [
            _backend(
                m,
                port,
                resources,
                resources.nat_ports.get((ids.key(rule.get("id")), ids.key(m.config_id))),
                via,
            )
            for m in resources.pool_members.get(pool, [])
        ]
    config = _id(props.get("backendIPConfiguration"))
    if config is None:
        return []
    member = resources.configs.get(ids.key(config)) or _Member(
        ids.parent(config), None, None, config_id=config
    )
    return [_backend(member, port, resources, props.get("frontendPort"), via)]


def connection(conn: Json, service_id: str, resources: Resources) -> Connection:
    """The token comes from the state's description, else from the endpoint's request message:
    the provider's decision overwrites the description, the consumer's message stays."""
    props = _props(conn)
    state = props.get("privateLinkServiceConnectionState") or _EMPTY
    pe_id = _id(props.get("privateEndpoint"))
    description = state.get("description")
    return Connection(
        id=conn.get("id"),
        name=conn.get("name"),
        service_id=service_id,
        status=_shared(state.get("status")),
        description=description,
        link_identifier=props.get("linkIdentifier"),
        private_endpoint_id=pe_id,
        endpoint_subscription=_shared(ids.segment(pe_id, "subscriptions")),
        token=parse_token(description) or endpoint_token(resources.endpoints.get(ids.key(pe_id))),
    )


def endpoint(pe: Json, resources: Resources) -> Endpoint:
    """The endpoint's address comes from its NIC, or from a static ipConfiguration when the NIC
    was not listed."""
    props, pe_id = _props(pe), pe.get("id")
    links = _links(props)
    subnet_id = _id(props.get("subnet"))
    nic_ids = [n.get("id") for n in _list(props, "networkInterfaces")]
    static = tuple(ip for c in _list(props, "ipConfigurations") if (ip := _props(c).get("privateIPAddress")))
    return Endpoint(
        id=pe_id,
        name=pe.get("name"),
        subscription=_shared(ids.segment(pe_id, "subscriptions")),
        ip=(resources.nic_ips(nic_ids) or static or (None,))[0],
        subnet_id=_shared(subnet_id),
        vnet_name=_shared(ids.segment(subnet_id, "virtualNetworks")),
        status=_shared(_status(links[0]) if links else None),
        target=_shared(links[0].get("privateLinkServiceId") if links else None),
        subnet_vms=resources.subnet_vms.get(ids.key(subnet_id), ()),
    )


def _shared(text: str | None) -> str | None:
    """One copy of a string many records repeat (a subscription, a subnet's or a service's ID, a
    status): parsed JSON gives each occurrence its own, and a sweep of 10,000 services kept
    ~110,000 copies of 50 subscription IDs alone."""
    return sys.intern(text) if text else text


def _links(pe_props: Json) -> list[Json]:
    """The properties of an endpoint's connections to services, manual ones first."""
    return [
        _props(link)
        for key in ("manualPrivateLinkServiceConnections", "privateLinkServiceConnections")
        for link in _list(pe_props, key)
    ]


def _status(link_props: Json) -> str | None:
    return (link_props.get("privateLinkServiceConnectionState") or _EMPTY).get("status")


def endpoint_token(pe: Json | None) -> str | None:
    """The natlink token in the endpoint's own request message, which no decision overwrites."""
    tokens = (parse_token(link.get("requestMessage")) for link in _links(_props(pe))) if pe else ()
    return next((t for t in tokens if t), None)


def _nat_ips(pls_props: Json, resources: Resources) -> tuple[str, ...]:
    """A dynamic NAT IP shows only on the service's NIC; a static one also on its ipConfiguration."""
    from_nics = resources.nic_ips(n.get("id") for n in _list(pls_props, "networkInterfaces"))
    return from_nics or tuple(
        ip for c in _list(pls_props, "ipConfigurations") if (ip := _props(c).get("privateIPAddress"))
    )


def _backends(rule_props: Json, resources: Resources) -> list[Backend]:
    pools = [rule_props.get("backendAddressPool"), *_list(rule_props, "backendAddressPools")]
    pool_ids = dict.fromkeys(ids.key(p.get("id")) for p in pools if p is not None)
    port, front = rule_props.get("backendPort"), rule_props.get("frontendPort")
    return [
        _backend(member, port, resources, front)
        for pool_id in pool_ids
        for member in resources.pool_members.get(pool_id, [])
    ]


def _backend(
    member: _Member, port: int, resources: Resources, frontend_port: int | None, via: str | None = None
) -> Backend:
    return Backend(
        vm_name=_vm_name(member.vm_id, resources.vm_names) if member.vm_id else None,
        vm_id=member.vm_id,
        nic_id=member.nic_id,
        ip=member.ip,
        port=port,
        power_state=(
            NOT_A_VM
            if member.kind == BackendKind.IP
            else resources.power.get(ids.key(member.vm_id))
            if member.vm_id
            else None
        ),
        kind=member.kind,
        frontend_port=frontend_port,
        via=via,
    )


def is_scale_set_vm(resource_id: str | None) -> bool:
    """Whether an ID is a scale set instance's or lies under one (its NIC, its IP configuration)."""
    return scale_set_of(resource_id) is not None


def scale_set_of(resource_id: str | None) -> tuple[str, str, str] | None:
    """``(subscription, resource group, scale set)`` of an ID under ``virtualMachineScaleSets/...``."""
    if "virtualmachinescalesets" not in (resource_id or "").lower():
        return None  # the common case, decided without splitting the ID (every NIC is asked)
    vmss = ids.segment(resource_id, "virtualMachineScaleSets")
    sub, group = ids.segment(resource_id, "subscriptions"), ids.segment(resource_id, "resourceGroups")
    return (sub, group, vmss) if vmss and sub and group else None


def _vm_name(vm_id: str, names: Mapping[str, str] | None = None) -> str:
    """A VM's name; a scale set instance's is what the instance list said, else ``<vmss>_<id>``
    (the name Azure gives instances of a Uniform scale set)."""
    if names and (known := names.get(ids.key(vm_id))):
        return known
    vmss = ids.segment(vm_id, "virtualMachineScaleSets")
    return f"{vmss}_{ids.name(vm_id)}" if vmss else ids.name(vm_id) or ""
