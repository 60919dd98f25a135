"""``list``: the services the actor may request, with their aliases and owners."""

from __future__ import annotations

from storage import owners, services
from storage.records import Service

from .. import portal
from ..context import Context
from ..enforce import offered_to, request_subscriptions
from ..escapes import escape
from ..replies import Reply
from ..usecase import Paged

COLUMNS = ("service", "ports", "alias", "owners", "subscription", "resource_group", "portal")


def answer(ctx: Context, payload: Paged) -> Reply:
    """Visible to a subscription the actor holds a request grant on (admins: all), as the request
    form offers them (``enforce.offered_to``); ``--mine``: the actor's own services."""
    held = request_subscriptions(ctx)
    visible = [
        s
        for s in payload.narrow(ctx, services.list_services(ctx.db, state="active"))
        if payload.mine or ctx.is_admin or offered_to(s, held)
    ]
    owned = {s.name: [o.user_id for o in owners.list_owners(ctx.db, s.name)] for s in visible}
    return Reply(
        "Your services" if payload.mine else "Services you may request",
        tuple(_line(ctx, s, owned[s.name]) for s in visible),
        empty="You own no service."
        if payload.mine
        else "No service is visible to a subscription you may request from. Ask an admin for a grant.",
        turn=payload.turn,
        more=payload.more("list"),
        keys=tuple(s.name for s in visible),  # list_services: ordered by name
        listing=payload.listing("list", ctx.actor),
        table=(COLUMNS, *(_row(ctx, s, owned[s.name]) for s in visible)) if payload.csv else (),
    )


def _ports(service: Service) -> str:
    return ", ".join(str(p) for p in service.details.get("ports", [])) or "?"


def _line(ctx: Context, service: Service, owned_by: list[str]) -> str:
    who = ", ".join(f"<@{o}>" for o in owned_by) or "no owners"
    name = portal.link(ctx.config.portal, service.pls_id, service.name)
    return f"*{name}* — ports {_ports(service)} — `{escape(service.alias)}` — owners {who}"


def _row(ctx: Context, service: Service, owned_by: list[str]) -> tuple[str, ...]:
    return (
        service.name,
        _ports(service),
        service.alias,
        " ".join(owned_by),
        service.subscription,
        service.resource_group,
        portal.url(ctx.config.portal, service.pls_id),
    )
