"""Verbs that change natlink's own records at once: owners, grants, channel subscriptions, share."""

from __future__ import annotations

from storage import channel_subscriptions, grants, owners
from storage.records import Service

from .authorize import authorize
from .context import Context
from .escapes import escape
from .policy import Resource
from .replies import Refusal, Reply, ShareCard
from .values import STAR, Channel, Scope, User


def _refused(reason: str) -> Refusal:
    return Refusal(reason)


def change_owners(ctx: Context, service: Service, op: str, users: tuple[User, ...]) -> Reply | Refusal:
    decision = authorize(ctx, f"owners.{op}", Resource(service=service.name))
    if not decision.allowed:
        return _refused(decision.reason)
    if not users:
        return Refusal(
            f"name the people to {op}, as @mentions.", usage=f"/natlink owners {service.name} {op} @user"
        )
    for person in users:
        if op == "add":
            owners.add_owner(ctx.db, service.name, person.id, added_by=ctx.actor)
        else:
            owners.remove_owner(ctx.db, service.name, person.id)
    names = ", ".join(p.mention for p in users)
    verb = "added to" if op == "add" else "removed from"
    return Reply(
        f"Owners of {service.name}", (f"{names} {verb} the owners of *{escape(service.name)}*.",), public=True
    )


def change_grant(ctx: Context, verb: str, person: User, action: str, scope: Scope) -> Reply | Refusal:
    decision = authorize(
        ctx, verb, Resource(subscription=scope.subscription, resource_group=scope.resource_group)
    )
    if not decision.allowed:
        return _refused(decision.reason)
    if verb == "grant":
        grants.add_grant(ctx.db, person.id, action, str(scope), granted_by=ctx.actor)  # type: ignore[arg-type]
        line = f"{person.mention} may now *{action}* in `{escape(str(scope))}`."
    else:
        removed = grants.remove_grant(ctx.db, person.id, action, str(scope))  # type: ignore[arg-type]
        line = (
            f"{person.mention} may no longer *{action}* in `{escape(str(scope))}`."
            if removed
            else f"{person.mention} held no *{action}* grant on `{escape(str(scope))}`; nothing changed."
        )
    return Reply("Grants", (line,))


def subscribe(ctx: Context, service: str, channel: Channel, events: str, digest: str) -> Reply | Refusal:
    decision = authorize(ctx, "subscribe", Resource(service=None if service == STAR else service))
    if not decision.allowed:
        return _refused(decision.reason)
    existing = {
        s.channel for s in channel_subscriptions.list_for_channel(ctx.db, channel.id) if s.service == service
    }
    if existing:
        channel_subscriptions.update_subscription(ctx.db, service, channel.id, events=events, digest=digest)  # type: ignore[arg-type]
    else:
        channel_subscriptions.add_subscription(
            ctx.db,
            service,
            channel.id,
            created_by=ctx.actor,
            events=events,
            digest=digest,  # type: ignore[arg-type]
        )
    what = "every service" if service == STAR else f"*{escape(service)}*"
    return Reply(
        "Subscribed",
        (f"{channel.mention} now hears about {what}: events *{events}*, digest *{digest}*.",),
        public=True,
    )


def unsubscribe(ctx: Context, service: str, channel: Channel) -> Reply | Refusal:
    decision = authorize(ctx, "unsubscribe", Resource(service=None if service == STAR else service))
    if not decision.allowed:
        return _refused(decision.reason)
    removed = channel_subscriptions.remove_subscription(ctx.db, service, channel.id)
    what = "every service" if service == STAR else f"*{escape(service)}*"
    line = (
        f"{channel.mention} no longer hears about {what}."
        if removed
        else f"{channel.mention} was not subscribed to {what}."
    )
    return Reply("Unsubscribed", (line,))


def share(ctx: Context, service: Service, channel: Channel | None) -> ShareCard | Refusal:
    decision = authorize(ctx, "share", Resource(service=service.name))
    if not decision.allowed:
        return _refused(decision.reason)
    where = channel.id if channel else ctx.channel
    if where is None:
        return Refusal("say which channel to share it in.", usage=f"/natlink share {service.name} #channel")
    return ShareCard(service, where)
