"""The records ``cloud`` returns: plain, frozen and free of SDK types.

Callers render, store and compare these without importing ``azure``; tuples keep them hashable
and immutable. ``None`` always means "not known from what natlink could read", never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

NOT_A_VM = "unknown, not a VM"
"""The power state of an IP-based pool member: an address, not a VM; only its probe judges it."""


class BackendKind:
    """What a pool member is: a VM's NIC, a scale set instance's NIC, or a bare IP address."""

    VM = "vm"
    SCALE_SET = "scale set instance"
    IP = "ip address"


@dataclass(frozen=True, slots=True)
class Backend:
    """A backend of the service's load balancer, as the backend pool reaches it: a VM's NIC, a scale
    set instance's NIC (``vm_name`` is the instance's, ``<vmss>_<instance id>``), or an address of
    an IP-based pool (``nic_id`` is the pool address's ID, ``vm_name`` is None and ``power_state``
    is :data:`NOT_A_VM`)."""

    vm_name: str | None
    nic_id: str
    ip: str | None
    port: int
    power_state: str | None
    kind: str = BackendKind.VM
    frontend_port: int | None = None
    via: str | None = None  # "NAT rule RDP" for an inbound NAT rule; None for a load-balancing rule
    vm_id: str | None = None  # the VM (or scale set instance) behind the NIC, for its portal link


@dataclass(frozen=True, slots=True)
class Forward:
    """One way the service's frontend forwards: a load-balancing rule, or an inbound NAT rule
    (``via`` names it). A NAT rule has no health probe: its backends are judged by power state.
    ``frontend_port`` is None only for a version 2 NAT rule member whose port Azure did not give."""

    frontend_port: int | None
    backend_port: int
    via: str | None = None

    @property
    def nat(self) -> bool:
        return self.via is not None


@dataclass(frozen=True, slots=True)
class Connection:
    """A private endpoint's connection as the provider sees it on the private link service."""

    id: str
    name: str
    service_id: str
    status: str | None
    description: str | None
    link_identifier: str | None
    private_endpoint_id: str | None
    endpoint_subscription: str | None
    token: str | None


@dataclass(frozen=True, slots=True)
class Service:
    """A private link service with the addresses of both its NAT and its load balancer side."""

    id: str
    name: str
    subscription: str | None
    resource_group: str | None
    location: str | None
    alias: str | None
    nat_ips: tuple[str, ...]
    frontend_ip: str | None
    backends: tuple[Backend, ...]
    visibility: tuple[str, ...]
    auto_approval: tuple[str, ...]
    proxy_protocol: bool
    provisioning_state: str | None
    connections: tuple[Connection, ...]
    load_balancer_ids: tuple[str, ...] = ()  # lower-cased; where its backends' health probes live
    forwards: tuple[Forward, ...] = ()  # each load-balancing rule's and NAT rule's ports
    load_balancer: str | None = None  # the name of the load balancer whose frontend it sits on

    @property
    def ports(self) -> tuple[tuple[int, int], ...]:
        """``(frontend, backend)`` port pairs the frontend forwards, each once; a NAT rule port Azure
        did not give is left out."""
        pairs = [(f.frontend_port, f.backend_port) for f in self.forwards if f.frontend_port is not None]
        return tuple(dict.fromkeys(pairs))


@dataclass(frozen=True, slots=True)
class SubnetVm:
    """A VM with an address in the same subnet as a private endpoint."""

    name: str
    ip: str
    id: str | None = None  # the VM's resource ID, for its portal link


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A consumer's private endpoint; ``ip`` is the address the consumer connects to."""

    id: str
    name: str
    subscription: str | None
    ip: str | None
    subnet_id: str | None
    vnet_name: str | None
    status: str | None
    target: str | None
    subnet_vms: tuple[SubnetVm, ...]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A subscription natlink could not list, and why, so a partial map says it is partial."""

    subscription: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Mapping:
    """Who sees which address across the double NAT for one connection, port and backend.

    ``consumer_source_ip``/``consumer_vm`` are filled only when exactly one VM shares the private
    endpoint's subnet: the true source cannot be read from Azure, so this is a hint from data.
    """

    service: str
    connection: str
    status: str | None
    consumer_visible: bool
    consumer_source_ip: str | None
    consumer_vm: str | None
    pe_ip: str | None
    port: int | None
    nat_ips: tuple[str, ...]
    frontend_ip: str | None
    backend_ip: str | None
    backend_port: int | None
    backend_vm: str | None = None
    load_balancer: str | None = None
    via: str | None = None  # "NAT rule RDP" when an inbound NAT rule forwards it
    # resource IDs of what the row names, so each name links to the Azure portal (commands/portal.py)
    service_id: str | None = None
    endpoint_id: str | None = None
    consumer_vm_id: str | None = None
    backend_vm_id: str | None = None
    load_balancer_id: str | None = None

    @property
    def consumer_destination(self) -> str | None:
        """What the consumer connects to: the endpoint's address and the service port ("?" when no
        rule says which port), or None when the endpoint's address could not be read."""
        if self.pe_ip is None:
            return None
        return f"{self.pe_ip}:{self.port if self.port is not None else '?'}"

    @property
    def backend_source(self) -> tuple[str, ...]:
        """What the backend sees as the source: one of the service's NAT IPs, never the consumer."""
        return self.nat_ips


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    subscriptions: tuple[str, ...]
    services: tuple[Service, ...]
    endpoints: tuple[Endpoint, ...]
    unreadable: tuple[Unreadable, ...]


@dataclass(frozen=True, slots=True)
class VmInfo:
    """A VM found by name, with where its primary NIC sits: what expose and request build on."""

    id: str
    name: str
    subscription: str
    resource_group: str
    location: str
    nic_id: str
    ip_configuration: str
    ip: str | None
    subnet_id: str
    vnet_name: str
    vnet_id: str
    power_state: str | None
