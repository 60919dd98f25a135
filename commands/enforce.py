"""Enforcement, in one place for every verb: gather the facts, ask the pure policy, audit.

Two phases. ``enforce`` runs before anything is queued, on what natlink's records know (the
service, the request, the actor's grants). ``enforce_located`` runs in the worker for verbs whose
target only Azure can place (the subscription of a VM, the resource group of a load balancer):
the row's ``locate`` finds it, and the same policy judges it again with the scope filled in.
Every denial is audited, and every allowed change (reads are not), unless the verb audits the
change itself once it is really made.
"""

from __future__ import annotations

from collections.abc import Iterable

from cloud.clients import Clients
from storage import audit, grants, owners, services
from storage.records import Service

from .context import Context
from .declare import Verb
from .escapes import plain
from .policy import Actor, Decision, Facts, Resource, decide, visible
from .replies import Refusal
from .usecase import Located, Payload
from .values import STAR, Scope

READ = "read"
READS = frozenset({READ, "page"})
"""Actions that change nothing (a listing's page is a read again): only their denials are audited."""


def facts(ctx: Context, service: str | None) -> Facts:
    """What storage and settings know about the actor and the service."""
    found = services.get_service(ctx.db, service) if service else None
    return Facts(
        admins=ctx.config.admins,
        service_exists=found is not None,
        service_active=found is None or found.state == "active",
        visibility=visibility(found) if found else None,
        owners=frozenset(o.user_id for o in owners.list_owners(ctx.db, service)) if service else frozenset(),
        grants=frozenset(
            (g.action, Scope(g.subscription, g.resource_group)) for g in grants.grants_for(ctx.db, ctx.actor)
        ),
        allow_self_approval=ctx.config.allow_self_approval,
    )


def visibility(service: Service) -> frozenset[str] | None:
    """The subscriptions that may find ``service`` by alias, as ``Facts.visibility`` holds them: what
    ``create`` set, and the service's own subscription (Azure's rule too); None if not known or ``*``."""
    known = service.details.get("visibility")
    if known is None or STAR in known:
        return None
    return frozenset(s.lower() for s in (*known, service.subscription))


def offered_to(service: Service, subscriptions: Iterable[str]) -> bool:
    """Whether one of ``subscriptions`` (``request_subscriptions``) may find ``service``: what the
    request form offers and ``list`` shows, by the rule the request policy judges with
    (``policy.visible``): a visibility natlink does not know, as an adopted service's, refuses no
    one, since natlink would let the request through and Azure is the judge."""
    known = visibility(service)
    return any(visible(known, subscription) for subscription in subscriptions)


def request_subscriptions(ctx: Context) -> tuple[str, ...]:
    """The subscriptions (lower-case) the actor may request from: an admin all natlink's, anyone
    else those their ``request`` grants name. Lookups for the actor look only there."""
    if ctx.is_admin:
        chosen = list(ctx.config.subscriptions)
    else:
        chosen = [g.subscription for g in grants.grants_for(ctx.db, ctx.actor) if g.action == "request"]
    return tuple(dict.fromkeys(s.lower() for s in chosen))


def enforce(ctx: Context, verb: Verb, payload: Payload) -> Refusal | None:
    """The first phase: may the actor run this command at all? None when allowed."""
    found = verb.resource(ctx, payload)
    if isinstance(found, Refusal):
        return found
    decision = authorize(ctx, verb.action_for(payload), found, audit_allowed=verb.audit_allowed)
    return None if decision.allowed else Refusal(decision.reason)


def enforce_located(ctx: Context, clients: Clients, verb: Verb, payload: Payload) -> Located | Refusal:
    """The second phase, in the worker: where Azure places the target, and may the actor act there."""
    assert verb.locate is not None
    located = verb.locate(ctx, clients, payload)
    if isinstance(located, Refusal):
        return located
    decision = authorize(ctx, verb.action_for(payload), located.resource)
    return located if decision.allowed else Refusal(decision.reason)


def authorize(ctx: Context, action: str, resource: Resource, *, audit_allowed: bool = True) -> Decision:
    """Decide, and audit every denial and every allowed change.

    An allowed first-phase check whose target Azure has not placed yet is not audited: the
    second phase decides for real and audits then.
    """
    decision = decide(Actor(ctx.actor, ctx.is_admin), action, resource, facts(ctx, resource.service))
    changes = action not in READS and audit_allowed and resource.located
    if not decision.allowed or changes:
        audit.record(
            ctx.db,
            actor=ctx.actor,
            action=action,
            target=_target(resource),
            outcome="allowed" if decision.allowed else "denied",
            reason=plain(decision.reason),
        )
    return decision


def _target(resource: Resource) -> str:
    """The audit's target: the service when there is one, else the Azure scope, else '-'."""
    return resource.service or (str(resource.scope) if resource.scope else "-")
