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

SERVICE_STATES: frozenset[str] = frozenset(get_args(ServiceState))
GRANT_ACTIONS: frozenset[str] = frozenset(get_args(GrantAction))
REQUEST_STATES: frozenset[str] = frozenset(get_args(RequestState))
DECISIONS: frozenset[str] = frozenset(get_args(Decision))
OPERATION_STATES: frozenset[str] = frozenset(get_args(OperationState))
FINAL_OPERATION_STATES: frozenset[str] = frozenset(get_args(FinalOperationState))
AUDIT_OUTCOMES: frozenset[str] = frozenset(get_args(AuditOutcome))
SUBSCRIPTION_EVENTS: frozenset[str] = frozenset(get_args(SubscriptionEvents))
DIGESTS: frozenset[str] = frozenset(get_args(Digest))

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
