"""The verbs that only read natlink's own records: help, list, pending, owners list, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import audit, owners, requests, services
from storage.records import Service

from .context import Context
from .escapes import escape
from .help import help_text
from .replies import Refusal, Reply
from .values import STAR


def help_reply(verb: str | None) -> Reply:
    return Reply(f"/natlink help {verb or ''}".strip(), tuple(help_text(verb).splitlines()))


def list_reply(ctx: Context, request_scopes: frozenset[str]) -> Reply:
    """Services the actor may request: visible to a subscription they hold a request grant on (admins: all)."""
    visible = [
        s
        for s in services.list_services(ctx.db, state="active")
        if ctx.is_admin or _visible(s, request_scopes)
    ]
    return Reply(
        "Services you may request",
        tuple(_service_line(ctx, s) for s in visible),
        empty="No service is visible to a subscription you may request from. Ask an admin for a grant.",
    )


def _visible(service: Service, subscriptions: frozenset[str]) -> bool:
    allowed = {s.lower() for s in service.details.get("visibility", [])}
    return STAR in allowed or bool(allowed & subscriptions) or service.subscription.lower() in subscriptions


def _service_line(ctx: Context, service: Service) -> str:
    ports = ", ".join(str(p) for p in service.details.get("ports", [])) or "?"
    who = ", ".join(f"<@{o.user_id}>" for o in owners.list_owners(ctx.db, service.name)) or "no owners"
    return f"*{escape(service.name)}* — ports {ports} — `{escape(service.alias)}` — owners {who}"


def pending_reply(ctx: Context, now: datetime | None = None) -> Reply:
    """Requests waiting for a decision, oldest first: the actor's own services' (admins: all)."""
    now = now or datetime.now(UTC)
    mine = set(owners.services_owned_by(ctx.db, ctx.actor))
    waiting = [
        r
        for r in requests.list_pending(ctx.db)
        if ctx.is_admin or r.service in mine or r.requester == ctx.actor
    ]
    lines = tuple(
        f"`{r.id}` *{escape(r.service)}* from <@{r.requester}> — waiting {_age(now - r.created_at)}"
        f"{' — ' + escape(r.reason) if r.reason else ''}"
        for r in waiting
    )
    return Reply("Pending requests", lines, empty="Nothing is waiting for a decision.")


def owners_reply(ctx: Context, service: Service) -> Reply:
    listed = owners.list_owners(ctx.db, service.name)
    return Reply(
        f"Owners of {service.name}",
        tuple(f"<@{o.user_id}> (added by <@{o.added_by}>)" for o in listed),
        empty="This service has no owners; an admin can add some.",
    )


def audit_reply(ctx: Context, service: str | None, limit: int) -> Reply:
    entries = audit.list_entries(ctx.db, target=service, limit=limit)
    lines = tuple(
        f"{e.at:%Y-%m-%d %H:%M} <@{e.actor}> {escape(e.action)} {escape(e.target)}: *{e.outcome}*"
        f"{' — ' + escape(e.reason) if e.reason else ''}"
        for e in entries
    )
    return Reply(f"Audit{' of ' + service if service else ''}", lines, empty="Nothing recorded yet.")


def unknown_service(name: str) -> Refusal:
    return Refusal(
        f"natlink knows no service called *{escape(name)}*.", hint="`/natlink list` shows the services."
    )


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
