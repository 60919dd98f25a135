"""What is wrong with a service: the one judgement that ``/natlink status``, the digest and the sweep share.

Pure: no Azure calls, so a sweep is read once and judged as often as needed. The sweep judges
what it stored of the previous sweep with the same functions it judges Azure's answer with
(``backend_state`` takes the VM name and power state, not a record), so a change is reported
exactly when the judgement changes. What natlink could not read is unknown, never down.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from . import ids
from .limits import NAT_IPS_MAX
from .model import NOT_A_VM, Backend, Service

RUNNING = "running"
PROBE_FAILING_BELOW = 50.0
"""``DipAvailability`` percent under which most of a minute's probes failed (see ``probe_failing``)."""
NAT_PRESSURE_PERCENT = 80.0
"""``PLSNatPortsUsage`` percent from which a NAT IP is short of SNAT ports (see ``nat_pressure``)."""


class Level(StrEnum):
    """A service's health: ``unknown`` when no backend is known to run but some could not be read."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"


class BackendState(StrEnum):
    """One backend: ``stopped`` is a VM not running or a pool NIC attached to no VM; ``unknown`` is a
    VM whose power state could not be read."""

    RUNNING = "running"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ServiceHealth:
    """One service's level and the reason a person reads, naming the VMs or the missing pool member."""

    service_id: str
    service_name: str
    level: Level
    reason: str
    healthy: int
    backends: int


@dataclass(frozen=True)
class NatHeadroom:
    """How many more NAT IPs a service can take before Azure's limit; more IPs, more SNAT ports."""

    service_id: str
    service_name: str
    nat_ips: int
    available: int


def service_health(service: Service) -> ServiceHealth:
    """Down when provisioning failed or no backend runs; degraded when some do; unknown when none is
    known to run but some power states could not be read."""
    backends = unique_backends(service.backends)
    states = {b.nic_id: backend_state(b.vm_name, b.power_state) for b in backends}
    running = [b for b in backends if states[b.nic_id] is BackendState.RUNNING]
    unknown = [b for b in backends if states[b.nic_id] is BackendState.UNKNOWN]
    stopped = [b for b in backends if states[b.nic_id] is BackendState.STOPPED]

    def result(level: Level, reason: str) -> ServiceHealth:
        return ServiceHealth(service.id, service.name, level, reason, len(running), len(backends))

    if provisioning_failed(service.provisioning_state):
        return result(Level.DOWN, f"{service.name} failed to provision")
    if not service.forwards:
        return result(Level.DOWN, "no load-balancing or inbound NAT rule on the service's frontend")
    if not backends:
        nat = any(f.nat for f in service.forwards)
        return result(Level.DOWN, "no NIC in the backend pool" + (" or on its NAT rules" if nat else ""))
    reason = "; ".join([*map(_stopped, stopped), *map(_unreadable, unknown)])
    if not running:
        return result(Level.DOWN if not unknown else Level.UNKNOWN, reason)
    if stopped or unknown:
        return result(Level.DEGRADED, reason)
    return result(Level.OK, f"{len(running)} of {len(backends)} backends running{_unprobed(service)}")


def _unprobed(service: Service) -> str:
    """Inbound NAT rules have no health probe (azure-docs load-balancer/inbound-nat-rules.md): say
    that their backends are judged by power state alone, so nobody reads 'OK' as 'probed'."""
    rules = list(dict.fromkeys(f.via for f in service.forwards if f.via))
    if not rules:
        return ""
    return f"; {', '.join(rules)}: no health probe, judged by the VM's power state"


def backend_state(vm_name: str | None, power_state: str | None) -> BackendState:
    """Running, stopped (any other power state, or no VM behind the NIC), or unknown (unread).

    An address of an IP-based pool (power state :data:`NOT_A_VM`) has no VM to be stopped: it counts
    as running, and its load balancer's health probe (``DipAvailability``) alone judges it."""
    if power_state == NOT_A_VM:
        return BackendState.RUNNING
    if vm_name is not None and power_state is None:
        return BackendState.UNKNOWN
    return BackendState.RUNNING if _same(power_state, RUNNING) else BackendState.STOPPED


def unique_backends(backends: Iterable[Backend]) -> list[Backend]:
    """One backend per NIC: a NIC behind several load-balancing rules appears once per rule."""
    return list({ids.key(b.nic_id): b for b in backends}.values())


def provisioning_failed(state: str | None) -> bool:
    """Azure left the resource in ``Failed``: it may not forward traffic until it is updated again."""
    return _same(state, "Failed")


def probe_failing(percent: float | None) -> bool:
    """Whether a backend fails its load balancer's health probe (``DipAvailability``, in percent).

    The value is the average over the latest minute of probes from several load balancer
    instances, so a single lost probe already reads below 100 %; below 50 % most probes failed and
    the load balancer stops sending the backend new flows. An unknown value is not failing.
    """
    return percent is not None and percent < PROBE_FAILING_BELOW


def nat_pressure(percent: float) -> bool:
    """Whether a NAT IP uses so many of its SNAT ports (``PLSNatPortsUsage``) that new flows may fail."""
    return percent >= NAT_PRESSURE_PERCENT


def headroom(service: Service) -> NatHeadroom:
    """NAT IPs used and how many more Azure allows on this service."""
    used = len(service.nat_ips)
    return NatHeadroom(service.id, service.name, used, max(NAT_IPS_MAX - used, 0))


def _stopped(backend: Backend) -> str:
    if backend.vm_name is None:
        return f"NIC {ids.name(backend.nic_id)} in the backend pool is attached to no VM"
    return f"{backend.vm_name} is {backend.power_state}"


def _unreadable(backend: Backend) -> str:
    return f"power state of {backend.vm_name} unknown"


def _same(a: str | None, b: str) -> bool:
    return (a or "").lower() == b.lower()
