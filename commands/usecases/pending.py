"""``pending``: requests waiting for a decision, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import clock, owners, requests, services
from storage.records import LinkRequest

from .. import portal
from ..context import Context
from ..escapes import free_text
from ..replies import Reply, requester
from ..usecase import Paged

COLUMNS = ("request", "service", "requester", "waiting", "reason", "portal")


def answer(ctx: Context, payload: Paged, now: datetime | None = None) -> Reply:
    """The actor's own services' requests and their own requests (admins: all)."""
    now = now or datetime.now(UTC)
    mine = set(owners.services_owned_by(ctx.db, ctx.actor))
    covered = {s.name: s.pls_id for s in payload.narrow(ctx, services.list_services(ctx.db))}
    waiting = [
        r
        for r in requests.list_pending(ctx.db)
        if r.service in covered
        and ((ctx.is_admin and not payload.mine) or r.service in mine or r.requester == ctx.actor)
    ]
    lines = tuple(
        f"`{r.id}` *{portal.link(ctx.config.portal, covered[r.service], r.service)}* from {requester(r)} — "
        f"waiting {_age(now - r.created_at)}{' — ' + free_text(r.reason) if r.reason else ''}"
        for r in waiting
    )
    return Reply(
        "Pending requests",
        lines,
        empty="Nothing is waiting for a decision.",
        turn=payload.turn,
        more=payload.more("pending"),
        keys=tuple(_key(r) for r in waiting),
        listing=payload.listing("pending", ctx.actor),
        table=(COLUMNS, *(_row(ctx, r, covered[r.service], now) for r in waiting)) if payload.csv else (),
    )


def _key(request: LinkRequest) -> str:
    """A request's place, oldest first (``list_pending``'s order): when it was made (the stored
    fixed-width text, which sorts as time does), then its id."""
    return f"{clock.to_text(request.created_at)} {request.id}"


def _row(ctx: Context, request: LinkRequest, service_id: str, now: datetime) -> tuple[str, ...]:
    return (
        request.id,
        request.service,
        request.requester,
        _age(now - request.created_at),
        request.reason or "",
        portal.url(ctx.config.portal, service_id),
    )


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
