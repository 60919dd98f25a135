"""What is wrong, read from one snapshot: the facts the scheduler posts and ``/natlink status`` shows.

Pure: no Azure calls, so a sweep is read once and judged as often as needed. Azure keeps no
history that natlink needs here (when a connection first appeared, what natlink last recorded),
so the caller passes what it stored; without it a fact says "unknown" rather than guess. A
subscription natlink could not read never makes something look gone: that is reported as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from . import ids
from .limits import NAT_IPS_MAX
from .model import Backend, Connection, Endpoint, Service, Snapshot

RUNNING = "running"


class Level(StrEnum):
    """A service's health: ``unknown`` when no backend is known to run but some could not be read."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
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
class Pending:
    """A connection waiting for the owner; ``since``/``age`` are None when natlink never saw it appear."""

    service_id: str
    service_name: str
    connection_id: str
    connection_name: str
    private_endpoint_id: str | None
    since: datetime | None
    age: timedelta | None

    @property
    def message(self) -> str:
        waited = f"for {_duration(self.age)}" if self.age is not None else "for an unknown time"
        return (
            f"{self.connection_name} on {self.service_name} has been Pending {waited}: approve or reject it."
        )


@dataclass(frozen=True)
class OutsideChange:
    """A connection whose Azure status differs from what natlink last recorded (portal, CLI, consumer)."""

    service_id: str
    service_name: str
    connection_id: str
    connection_name: str
    expected: str
    actual: str | None

    @property
    def message(self) -> str:
        return (
            f"{self.connection_name} on {self.service_name} is {self.actual}, natlink recorded "
            f"{self.expected}: it was changed outside natlink."
        )


@dataclass(frozen=True)
class Removed:
    """A connection natlink recorded that its service no longer has (endpoint or service deleted)."""

    service_id: str
    service_name: str
    connection_id: str
    connection_name: str
    expected: str
    service_exists: bool

    @property
    def message(self) -> str:
        where = "was removed from" if self.service_exists else "is gone with its service"
        return (
            f"{self.connection_name} (recorded {self.expected}) {where} {self.service_name}: "
            "drop it from natlink's records."
        )


@dataclass(frozen=True)
class FailedProvisioning:
    """A resource Azure left in ``Failed``: it may not forward traffic until it is updated again."""

    resource_id: str
    resource_name: str
    kind: str

    @property
    def message(self) -> str:
        return (
            f"{self.kind} {self.resource_name} failed to provision: update it again (re-run expose) "
            "or delete it."
        )


@dataclass(frozen=True)
class NatHeadroom:
    """How many more NAT IPs a service can take before Azure's limit; more IPs, more SNAT ports."""

    service_id: str
    service_name: str
    nat_ips: int
    available: int

    @property
    def message(self) -> str:
        return f"{self.service_name} has {self.nat_ips} of {NAT_IPS_MAX} NAT IPs; {self.available} more possible."


@dataclass(frozen=True)
class OrphanEndpoint:
    """A Disconnected private endpoint no service in the snapshot has a connection for.

    ``target_state`` is ``gone`` (its service is not where natlink can read), ``present`` (the
    service exists but dropped the connection) or ``unknown`` (the service's subscription, or for
    an alias some swept subscription, could not be read).
    """

    endpoint_id: str
    endpoint_name: str
    target: str | None
    target_state: str

    @property
    def message(self) -> str:
        what = {
            "gone": "its private link service is gone",
            "present": "its private link service removed the connection",
            "unknown": "natlink cannot read whether its private link service still exists",
        }[self.target_state]
        return (
            f"Private endpoint {self.endpoint_name} is Disconnected and {what}: delete it or request again."
        )


@dataclass(frozen=True)
class OrphanConnection:
    """A connection whose private endpoint is in a subscription natlink read, yet was not found there."""

    service_id: str
    service_name: str
    connection_id: str
    connection_name: str
    private_endpoint_id: str
    status: str | None

    @property
    def message(self) -> str:
        return (
            f"{self.connection_name} on {self.service_name} points at a private endpoint that no longer "
            "exists: remove the connection."
        )


@dataclass(frozen=True)
class Health:
    """Every fact of one snapshot, a list per kind; ``services`` holds one entry per service."""

    taken_at: datetime
    services: tuple[ServiceHealth, ...]
    pending: tuple[Pending, ...]
    outside_changes: tuple[OutsideChange, ...]
    removed: tuple[Removed, ...]
    failed: tuple[FailedProvisioning, ...]
    headroom: tuple[NatHeadroom, ...]
    orphan_endpoints: tuple[OrphanEndpoint, ...]
    orphan_connections: tuple[OrphanConnection, ...]

    def service(self, service_id: str) -> ServiceHealth | None:
        """The health of one service by ID, in any case."""
        return next((s for s in self.services if ids.key(s.service_id) == ids.key(service_id)), None)


def facts(
    snapshot: Snapshot,
    now: datetime | None = None,
    *,
    first_seen: Mapping[str, datetime] | None = None,
    expected: Mapping[str, str] | None = None,
) -> Health:
    """Judge ``snapshot``.

    ``first_seen`` and ``expected`` are keyed by lower-cased connection ID and come from natlink's
    store: when each connection was first seen, and the status natlink last recorded. ``now``
    defaults to the snapshot's time, so ages are those at the sweep.
    """
    at = now or snapshot.taken_at
    return Health(
        taken_at=snapshot.taken_at,
        services=tuple(service_health(s) for s in snapshot.services),
        pending=tuple(pending(snapshot, at, first_seen or {})),
        outside_changes=tuple(outside_changes(snapshot, expected or {})),
        removed=tuple(removed(snapshot, expected or {})),
        failed=tuple(failed(snapshot)),
        headroom=tuple(headroom(s) for s in snapshot.services),
        orphan_endpoints=tuple(orphan_endpoints(snapshot)),
        orphan_connections=tuple(orphan_connections(snapshot)),
    )


def service_health(service: Service) -> ServiceHealth:
    """Down when provisioning failed or no backend runs; degraded when some do; unknown when none is
    known to run but some power states could not be read."""
    backends = _unique(service.backends)
    running = [b for b in backends if b.power_state == RUNNING]
    unknown = [b for b in backends if b.power_state is None and b.vm_name is not None]
    stopped = [b for b in backends if b not in running and b not in unknown]

    def result(level: Level, reason: str) -> ServiceHealth:
        return ServiceHealth(service.id, service.name, level, reason, len(running), len(backends))

    if _is_failed(service.provisioning_state):
        return result(Level.DOWN, f"{service.name} failed to provision")
    if not service.ports:
        return result(Level.DOWN, "no load-balancing rule on the service's frontend")
    if not backends:
        return result(Level.DOWN, "no NIC in the backend pool")
    reason = "; ".join([*map(_stopped, stopped), *map(_unreadable, unknown)])
    if not running:
        return result(Level.DOWN if not unknown else Level.UNKNOWN, reason)
    if stopped or unknown:
        return result(Level.DEGRADED, reason)
    return result(Level.OK, f"{len(running)} of {len(backends)} backends running")


def pending(snapshot: Snapshot, now: datetime, first_seen: Mapping[str, datetime]) -> list[Pending]:
    """Pending connections with their age when natlink recorded when it first saw them."""
    facts_ = []
    for service, conn in _connections(snapshot):
        if _same(conn.status, "Pending"):
            since = first_seen.get(ids.key(conn.id))
            age = max(now - since, timedelta(0)) if since is not None else None
            facts_.append(
                Pending(service.id, service.name, conn.id, conn.name, conn.private_endpoint_id, since, age)
            )
    return facts_


def outside_changes(snapshot: Snapshot, expected: Mapping[str, str]) -> list[OutsideChange]:
    """Connections natlink recorded whose status Azure now reports differently."""
    return [
        OutsideChange(service.id, service.name, conn.id, conn.name, expected[ids.key(conn.id)], conn.status)
        for service, conn in _connections(snapshot)
        if ids.key(conn.id) in expected and not _same(conn.status, expected[ids.key(conn.id)])
    ]


def removed(snapshot: Snapshot, expected: Mapping[str, str]) -> list[Removed]:
    """Recorded connections missing from their service; skipped when that service's subscription was
    not read, since absence there proves nothing."""
    present = {ids.key(conn.id) for _, conn in _connections(snapshot)}
    services = {ids.key(s.id): s for s in snapshot.services}
    readable = _readable(snapshot)
    facts_ = []
    for key, status in expected.items():
        if ids.key(key) in present or ids.key(ids.segment(key, "subscriptions")) not in readable:
            continue
        service = services.get(ids.key(ids.parent(key)))
        service_id = service.id if service else ids.parent(key)
        service_name = service.name if service else ids.name(service_id) or service_id
        facts_.append(
            Removed(service_id, service_name, key, ids.name(key) or key, status, service is not None)
        )
    return facts_


def failed(snapshot: Snapshot) -> list[FailedProvisioning]:
    """Services Azure left in Failed. Endpoints and connections carry no provisioning state in the
    model, so only services are judged."""
    return [
        FailedProvisioning(s.id, s.name, "private link service")
        for s in snapshot.services
        if _is_failed(s.provisioning_state)
    ]


def headroom(service: Service) -> NatHeadroom:
    """NAT IPs used and how many more Azure allows on this service."""
    used = len(service.nat_ips)
    return NatHeadroom(service.id, service.name, used, max(NAT_IPS_MAX - used, 0))


def orphan_endpoints(snapshot: Snapshot) -> list[OrphanEndpoint]:
    """Disconnected endpoints without a connection on any service natlink read."""
    connected = {ids.key(conn.private_endpoint_id) for _, conn in _connections(snapshot)}
    return [
        OrphanEndpoint(e.id, e.name, e.target, _target_state(snapshot, e))
        for e in snapshot.endpoints
        if _same(e.status, "Disconnected") and ids.key(e.id) not in connected
    ]


def orphan_connections(snapshot: Snapshot) -> list[OrphanConnection]:
    """Connections whose endpoint's subscription was read but which was not found in it."""
    endpoints = {ids.key(e.id) for e in snapshot.endpoints}
    readable = _readable(snapshot)
    return [
        OrphanConnection(service.id, service.name, conn.id, conn.name, conn.private_endpoint_id, conn.status)
        for service, conn in _connections(snapshot)
        if conn.private_endpoint_id
        and ids.key(conn.endpoint_subscription) in readable
        and ids.key(conn.private_endpoint_id) not in endpoints
    ]


def _target_state(snapshot: Snapshot, endpoint: Endpoint) -> str:
    """An ID target is judged by its subscription; an alias names no subscription, so it is gone only
    when every swept subscription was read."""
    target = endpoint.target or ""
    by_id = {ids.key(s.id) for s in snapshot.services}
    by_alias = {(s.alias or "").lower() for s in snapshot.services}
    if ids.key(target) in by_id or target.lower() in by_alias:
        return "present"
    subscription = ids.segment(target, "subscriptions")
    if subscription is not None:
        return "gone" if ids.key(subscription) in _readable(snapshot) else "unknown"
    return "unknown" if snapshot.unreadable or not target else "gone"


def _readable(snapshot: Snapshot) -> set[str]:
    """Subscriptions swept and answered: only there does absence mean gone."""
    refused = {ids.key(u.subscription) for u in snapshot.unreadable}
    return {ids.key(s) for s in snapshot.subscriptions} - refused


def _connections(snapshot: Snapshot) -> Iterable[tuple[Service, Connection]]:
    return ((s, c) for s in snapshot.services for c in s.connections)


def _unique(backends: Iterable[Backend]) -> list[Backend]:
    """One backend per NIC: a NIC behind several load-balancing rules appears once per rule."""
    return list({ids.key(b.nic_id): b for b in backends}.values())


def _stopped(backend: Backend) -> str:
    if backend.vm_name is None:
        return f"NIC {ids.name(backend.nic_id)} in the backend pool is attached to no VM"
    return f"{backend.vm_name} is {backend.power_state}"


def _unreadable(backend: Backend) -> str:
    return f"power state of {backend.vm_name} unknown"


def _is_failed(state: str | None) -> bool:
    return _same(state, "Failed")


def _same(a: str | None, b: str) -> bool:
    return (a or "").lower() == b.lower()


def _duration(age: timedelta) -> str:
    """``3d 4h``, ``2h 5m`` or ``7m``: the two largest units a person needs."""
    minutes = int(age.total_seconds()) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"
