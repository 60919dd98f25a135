"""``list``: the services the actor may request, with their aliases and owners."""

from __future__ import annotations

from storage import grants, owners, services
from storage.records import Service

from ..context import Context
from ..escapes import escape
from ..replies import Reply
from ..usecase import NoArgs
from ..values import STAR


def answer(ctx: Context, payload: NoArgs) -> Reply:
    """Visible to a subscription the actor holds a request grant on (admins: all)."""
    held = frozenset(
        g.subscription.lower() for g in grants.grants_for(ctx.db, ctx.actor) if g.action == "request"
    )
    visible = [s for s in services.list_services(ctx.db, state="active") if ctx.is_admin or _visible(s, held)]
    return Reply(
        "Services you may request",
        tuple(_line(ctx, s) for s in visible),
        empty="No service is visible to a subscription you may request from. Ask an admin for a grant.",
    )


def _visible(service: Service, subscriptions: frozenset[str]) -> bool:
    allowed = {s.lower() for s in service.details.get("visibility", [])}
    return STAR in allowed or bool(allowed & subscriptions) or service.subscription.lower() in subscriptions


def _line(ctx: Context, service: Service) -> str:
    ports = ", ".join(str(p) for p in service.details.get("ports", [])) or "?"
    who = ", ".join(f"<@{o.user_id}>" for o in owners.list_owners(ctx.db, service.name)) or "no owners"
    return f"*{escape(service.name)}* — ports {ports} — `{escape(service.alias)}` — owners {who}"
