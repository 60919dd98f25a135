"""Enforcement: gather the facts, ask the pure policy, and write every denial and decision to the audit."""

from __future__ import annotations

from storage import audit, grants, owners

from .context import Context
from .escapes import plain
from .policy import Actor, Decision, Facts, Resource, decide
from .values import Scope

READ = "read"


def facts(ctx: Context, service: str | None) -> Facts:
    """What storage and settings know about the actor and the service."""
    return Facts(
        admins=ctx.config.admins,
        owners=frozenset(o.user_id for o in owners.list_owners(ctx.db, service)) if service else frozenset(),
        grants=frozenset(
            (g.action, Scope(g.subscription, g.resource_group)) for g in grants.grants_for(ctx.db, ctx.actor)
        ),
        allow_self_approval=ctx.config.allow_self_approval,
    )


def authorize(ctx: Context, action: str, resource: Resource, *, audit_allowed: bool = True) -> Decision:
    """Decide, and audit every denial and every allowed change (reads that are allowed are not audited).

    ``audit_allowed=False`` is for callers that audit the change themselves once it is really made,
    such as a decision, where a second click must not read as a second approval.
    """
    decision = decide(Actor(ctx.actor, ctx.is_admin), action, resource, facts(ctx, resource.service))
    if not decision.allowed or (action != READ and audit_allowed):
        audit.record(
            ctx.db,
            actor=ctx.actor,
            action=action,
            target=target(resource),
            outcome="allowed" if decision.allowed else "denied",
            reason=plain(decision.reason),
        )
    return decision


def target(resource: Resource) -> str:
    """The audit's target: the service when there is one, else the Azure scope, else '-'."""
    return resource.service or (str(resource.scope) if resource.scope else "-")


def may_hold(ctx: Context, action: str) -> Decision:
    """Before Azure says where the target lives: admins, or anyone holding some grant for ``action``.

    The full check, against the subscription and resource group found, runs with the operation.
    """
    held = any(a == action for a, _ in facts(ctx, None).grants)
    if ctx.is_admin or held:
        return Decision(True, "you hold a grant for this action")
    decision = Decision(
        False, f"you hold no *{action}* grant; an admin can give you one with `/natlink grant`"
    )
    audit.record(
        ctx.db, actor=ctx.actor, action=action, target="-", outcome="denied", reason=plain(decision.reason)
    )
    return decision
