"""The plain values storage hands out: frozen dataclasses, never sqlite rows.

Callers get typed, immutable snapshots; a record never talks back to the database. The state
vocabularies live here too, as ``Literal`` types for the type checker and frozensets for runtime
checks, so one definition serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

ServiceState = Literal["active", "deleted", "gone"]
GrantAction = Literal["create", "request"]
RequestState = Literal["requested", "pending", "approved", "rejected", "removed", "failed", "gone"]
Decision = Literal["approved", "rejected"]
OperationState = Literal["queued", "running", "succeeded", "failed"]
FinalOperationState = Literal["succeeded", "failed"]
AuditOutcome = Literal["allowed", "denied", "succeeded", "failed"]
SubscriptionEvents = Literal["all", "problems"]
Digest = Literal["daily", "hourly", "off"]
ObservationKind = Literal["connection", "service", "endpoint", "backend", "nat_ip", "probe", "meta"]
EventSeverity = Literal["problem", "info"]

SERVICE_STATES: frozenset[str] = frozenset(get_args(ServiceState))
GRANT_ACTIONS: frozenset[str] = frozenset(get_args(GrantAction))
REQUEST_STATES: frozenset[str] = frozenset(get_args(RequestState))
DECISIONS: frozenset[str] = frozenset(get_args(Decision))
OPERATION_STATES: frozenset[str] = frozenset(get_args(OperationState))
FINAL_OPERATION_STATES: frozenset[str] = frozenset(get_args(FinalOperationState))
AUDIT_OUTCOMES: frozenset[str] = frozenset(get_args(AuditOutcome))
SUBSCRIPTION_EVENTS: frozenset[str] = frozenset(get_args(SubscriptionEvents))
DIGESTS: frozenset[str] = frozenset(get_args(Digest))
OBSERVATION_KINDS: frozenset[str] = frozenset(get_args(ObservationKind))
EVENT_SEVERITIES: frozenset[str] = frozenset(get_args(EventSeverity))

ALL_SERVICES = "*"
"""The ``service`` of a channel subscription that covers every service."""


@dataclass(frozen=True)
class Service:
    """A private link service natlink knows by name; ids and alias compare case-insensitively."""

    name: str
    pls_id: str
    subscription: str
    resource_group: str
    location: str
    alias: str
    owner_channel: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    state: ServiceState
    lb_managed: bool
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Owner:
    """A Slack user who may decide requests for a service."""

    service: str
    user_id: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class Grant:
    """Permission for a user to perform ``action`` within a subscription or one resource group.

    Storage only keeps grants; whether a grant covers an attempt is the policy's call.
    """

    user_id: str
    action: GrantAction
    scope: str
    granted_by: str
    granted_at: datetime

    @property
    def subscription(self) -> str:
        """The subscription part of the scope."""
        return self.scope.split("/", 1)[0]

    @property
    def resource_group(self) -> str | None:
        """The resource group part of the scope, or ``None`` for a whole-subscription grant."""
        parts = self.scope.split("/", 1)
        return parts[1] if len(parts) == 2 else None


OUTSIDE = "outside natlink"
"""The requester recorded for a connection made outside natlink (the portal, a script): nobody in Slack."""


@dataclass(frozen=True)
class LinkRequest:
    """A consumer's request for a private endpoint to a service: the "link"."""

    id: str
    service: str
    requester: str
    consumer_subscription: str
    vnet: str | None
    subnet: str | None
    pe_name: str | None
    pe_id: str | None
    reason: str
    state: RequestState
    connection_id: str | None
    link_identifier: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    card_channel: str | None
    card_ts: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    operation_id: int | None = None
    subnet_id: str | None = None  # the endpoint's subnet, as Azure made it; None before version 7

    @property
    def made_outside(self) -> bool:
        """Whether the connection was made outside natlink, so no person asked and none is told."""
        return self.requester == OUTSIDE


@dataclass(frozen=True)
class Operation:
    """One unit of durable work, recorded before Slack is acknowledged and run by a worker."""

    id: int
    kind: str
    args: dict[str, Any]
    actor: str
    state: OperationState
    step: str | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    worker: str | None
    idempotency_key: str | None
    reply_channel: str | None
    reply_ts: str | None
    response_url: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class StaleSweep:
    """What a stale-operation sweep did: operations put back in the queue, and those given up on."""

    requeued: tuple[Operation, ...]
    failed: tuple[Operation, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit trail: who tried what on which target, and how it went."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: AuditOutcome
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ChannelSubscription:
    """A channel's wish to hear about one service (or ``"*"``: all of them)."""

    service: str
    channel: str
    events: SubscriptionEvents
    digest: Digest
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Lease:
    """A named, expiring right to do something only one natlink instance may do at a time.

    ``acquired_at`` is when ``holder``'s current uninterrupted tenure began (renewals keep it);
    ``renewed_at`` is the latest acquire or renewal; the lease is free once ``expires_at`` passes.
    """

    name: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime

    def live_at(self, moment: datetime) -> bool:
        """Whether the lease still binds at ``moment`` (it lapses exactly at ``expires_at``)."""
        return moment < self.expires_at


@dataclass(frozen=True)
class Observation:
    """What the sweeps last saw of one resource (or one ``meta`` fact), keyed by ``(kind, key)``.

    ``key`` is lower-cased. ``value`` is any JSON value. ``first_seen`` .. ``last_seen`` is one
    uninterrupted presence: a resource that comes back after being marked gone starts afresh.
    ``gone_at`` is set when a sweep that could read the resource's scope no longer found it.
    """

    kind: ObservationKind
    key: str
    value: Any
    first_seen: datetime
    last_seen: datetime
    gone_at: datetime | None

    @property
    def gone(self) -> bool:
        """Whether the resource is marked as disappeared."""
        return self.gone_at is not None


@dataclass(frozen=True)
class ObservedChange:
    """One key whose value differs from what was recorded: ``old`` as stored, ``new`` as now stored."""

    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Changes:
    """What one :func:`storage.observations.apply` found, each part sorted by key.

    ``appeared``: keys never recorded before. ``reappeared``: keys that were marked gone and are
    seen again (``old`` is the value they had when last seen). ``changed``: live keys whose value
    differs. ``disappeared``: live keys not seen (and not kept), now marked gone.
    """

    kind: ObservationKind
    appeared: tuple[Observation, ...] = ()
    reappeared: tuple[ObservedChange, ...] = ()
    changed: tuple[ObservedChange, ...] = ()
    disappeared: tuple[Observation, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the sweep saw exactly what was already recorded."""
        return not (self.appeared or self.reappeared or self.changed or self.disappeared)


@dataclass(frozen=True)
class NewEvent:
    """An event to put in the outbox: what :func:`storage.events.add_many` takes."""

    dedup_key: str
    channel: str
    service: str | None
    kind: str
    severity: EventSeverity
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A channel notification in the outbox; pending until ``posted_at`` is set."""

    id: int
    dedup_key: str
    channel: str
    service: str | None
    kind: str
    severity: EventSeverity
    payload: dict[str, Any]
    created_at: datetime
    posted_at: datetime | None
    message_ts: str | None
    attempts: int
    last_error: str | None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    places: tuple[tuple[str, str], ...] = ()
    """Where Slack holds the message that carried it: ``(channel ID, ts)`` each, the owners' DMs
    when its channel refused natlink."""

    @property
    def posted(self) -> bool:
        """Whether the event has been delivered to its channel."""
        return self.posted_at is not None
