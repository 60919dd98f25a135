"""``status`` and ``map``: health and the address map, read from Azure now.

Both judge what they read with the same pure functions the scheduler's sweep uses
(``cloud.health``), so a person and a channel are never told two different things.
``status --refresh`` also sweeps first; refreshes share sweeps and are limited per person
(:mod:`commands.refresh`), so its lines come from the view the shared sweep kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cloud import inventory
from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.health import service_health
from cloud.mapping import mappings
from cloud.model import Mapping, Snapshot
from cloud.model import Service as LiveService
from cloud.services import read_service
from storage import services
from storage.records import Service

from .. import describe, portal, refresh, sweep
from ..context import Context
from ..escapes import escape, unescape
from ..replies import Outcome, Reply
from ..usecase import Job, Paged, Progress
from .verify import map_note, service_note


@dataclass(frozen=True)
class Status(Paged):
    TARGET = "service"
    service: str | None = None
    refresh: bool = False


@dataclass(frozen=True)
class Map(Paged):
    TARGET = "service"
    service: str | None = None


def run(job: Job[Status, None]) -> Outcome:
    ctx, clients, name, paged = job.ctx, job.clients, job.payload.service, job.payload
    more = paged.more("status", name)
    if job.payload.refresh and not paged.csv:  # a CSV is read from Azure now, row by row, without a sweep
        refreshed = refresh.refresh(ctx, lambda at: _sweep_now(ctx, clients, at, job.progress))
        return Outcome(
            replace(
                _refreshed_reply(ctx, _stored(ctx, name, paged), refreshed),
                turn=paged.turn,
                more=more,
                listing=paged.listing("status", ctx.actor),
            )
        )
    stored = _stored(ctx, name, paged)
    unreadable: tuple[str, ...] = ()
    if name:  # one service: read it alone (a few GETs), not every subscription
        live = {s.pls_id.lower(): _read_or_none(clients, s.pls_id) for s in stored}
    else:
        snapshot = inventory.snapshot(clients, ctx.config.subscriptions)
        live = {s.id.lower(): s for s in snapshot.services}
        unreadable = _unreadable(snapshot)
    home = ctx.config.portal
    lines = tuple(
        _status_line(s, live.get(s.pls_id.lower()), home) + service_note(ctx.db, s.name) for s in stored
    )
    table = (
        (("service", "status", "portal"), *(_status_row(s, live.get(s.pls_id.lower()), home) for s in stored))
        if paged.csv
        else ()
    )
    return Outcome(
        Reply(
            "Status",
            (*lines, *unreadable, _sweep_age(ctx)) if lines else (),
            empty="natlink manages no services yet.",
            turn=paged.turn,
            more=more,
            keys=tuple(s.name for s in stored) if lines else (),
            listing=paged.listing("status", ctx.actor),
            table=table,
        )
    )


def _status_row(stored: Service, live: LiveService | None, home: str) -> tuple[str, ...]:
    """A service's status as CSV cells: its line without mrkdwn, and its portal page."""
    line = _status_line(stored, live, None).replace("*", "")
    return (
        stored.name,
        unescape(line.split(" ", 1)[1] if " " in line else line),
        portal.url(home, stored.pls_id),
    )


def _sweep_now(ctx: Context, clients: Clients, at: datetime, progress: Progress) -> refresh.View:
    """Sweep (the scheduler's findings become current too), then keep each service's status line."""
    progress("sweep Azure first")
    sweep.sweep(ctx.db, ctx.config, clients, now=at)
    snapshot = inventory.snapshot(clients, ctx.config.subscriptions)
    known = {s.pls_id.lower(): s for s in services.list_services(ctx.db)}
    lines = {
        key: _status_line(known[key], live, ctx.config.portal)
        for live in snapshot.services
        if (key := live.id.lower()) in known
    }
    return refresh.View(at, lines, _unreadable(snapshot))


def _refreshed_reply(ctx: Context, stored: list[Service], refreshed: refresh.Refreshed) -> Reply:
    """The status lines as the shared sweep saw them, and how old that sweep is."""
    if not stored:
        return Reply("Status", (), empty="natlink manages no services yet.")
    view = refreshed.view
    lines = (
        (*(_line_in(ctx, view, s) + service_note(ctx.db, s.name) for s in stored), *view.notes)
        if view
        else ()
    )
    return Reply(
        "Status", (*lines, refresh.note(ctx, refreshed)), keys=tuple(s.name for s in stored) if view else ()
    )


def _line_in(ctx: Context, view: refresh.View, stored: Service) -> str:
    """A service's line from the view; one created after that sweep began is not called missing."""
    line = view.lines.get(stored.pls_id.lower())
    if line is not None:
        return line
    if stored.created_at > view.taken_at:
        name = escape(stored.name)
        return f"*{name}*: created after this sweep; `/natlink status {name}` reads it now."
    return _status_line(stored, None, ctx.config.portal)


def _unreadable(snapshot: Snapshot) -> tuple[str, ...]:
    return tuple(
        f"Could not read subscription `{u.subscription}`: {escape(u.code)}" for u in snapshot.unreadable
    )


def run_map(job: Job[Map, None]) -> Outcome:
    ctx, paged = job.ctx, job.payload
    wanted = {s.name.lower() for s in _stored(ctx, paged.service, paged)}
    snapshot = inventory.snapshot(job.clients, ctx.config.subscriptions)
    found = [m for m in mappings(snapshot) if m.service.lower() in wanted]
    rows = [describe.mapping_row(m, ctx.config.portal) + map_note(ctx.db, m) for m in found]
    more = paged.more("map", paged.service)
    table = (MAP_COLUMNS, *(_map_row(ctx.config.portal, m) for m in found)) if paged.csv else ()
    return Outcome(
        Reply(
            "Address map",
            tuple(rows),
            empty="No connections to map yet.",
            turn=paged.turn,
            more=more,
            keys=tuple(_map_key(m) for m in found),
            listing=paged.listing("map", ctx.actor),
            table=table,
        )
    )


def _map_key(m: Mapping) -> str:
    """A connection's row's place in the map: its service, connection, port and backend."""
    port = "" if m.port is None else f"{m.port:05d}"
    parts = (m.service, m.connection, port, m.via, m.frontend_ip, m.backend_ip, m.backend_vm)
    return " ".join((p or "").lower() for p in parts)


MAP_COLUMNS = (
    "service", "status", "consumer_vm", "consumer_ip", "connects_to", "nat_ips", "load_balancer",
    "frontend", "backend_vm", "backend", "service_portal", "endpoint_portal", "consumer_vm_portal",
    "load_balancer_portal", "backend_vm_portal",
)  # fmt: skip


def _map_row(home: str, m: Mapping) -> tuple[str, ...]:
    """One connection's row of the map as CSV cells: the double NAT in columns, and the portal page
    of every resource it names (the map in Slack links only the service and the endpoint)."""
    return (
        m.service,
        m.status or "",
        m.consumer_vm or "",
        m.consumer_source_ip or "",
        describe.destination(m),
        " ".join(m.nat_ips),
        m.load_balancer or "",
        f"{m.frontend_ip or '?'}:{m.port if m.port is not None else '?'}",
        m.backend_vm or "",
        f"{m.backend_ip or '?'}:{m.backend_port or '?'}",
        *(
            portal.url(home, resource_id) if resource_id else ""
            for resource_id in (
                m.service_id,
                m.endpoint_id,
                m.consumer_vm_id,
                m.load_balancer_id,
                m.backend_vm_id,
            )
        ),
    )


def _read_or_none(clients: Clients, service_id: str) -> LiveService | None:
    try:
        return read_service(clients, service_id)
    except CloudError as error:
        # ServiceNotFound is natlink's own (cloud/decide.py); ResourceNotFound and NotFound are ARM's 404s
        # (azure-docs common-deployment-errors.md).
        if error.code in ("ServiceNotFound", "ResourceNotFound", "NotFound"):
            return None
        raise


def _status_line(stored: Service, live: LiveService | None, home: str | None) -> str:
    """A service's health in one line; with ``home`` its name links to the portal."""
    name = portal.named(home, stored.pls_id, stored.name)
    if live is None:
        return f"*{name}*: down — not found in Azure (deleted outside natlink?)"
    health = service_health(live)
    counts: dict[str, int] = {}
    for connection in live.connections:
        status = (connection.status or "?").lower()
        counts[status] = counts.get(status, 0) + 1
    connections = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
    return (
        f"*{name}* {health.level}: {escape(health.reason)}; NAT {', '.join(live.nat_ips) or '?'}; "
        f"connections {connections}"
    )


def _sweep_age(ctx: Context) -> str:
    """How fresh the scheduler's view is: its alerts come from the latest sweep."""
    last = sweep.last_sweep(ctx.db)
    if last is None:
        return "_The scheduler has not swept yet; `/natlink status --refresh` sweeps now._"
    minutes = int((datetime.now(UTC) - last).total_seconds() // 60)
    return f"_Latest sweep {minutes} min ago; `--refresh` sweeps now._"


def _stored(ctx: Context, name: str | None, paged: Paged) -> list[Service]:
    if name:
        found = services.get_service(ctx.db, name)
        return [found] if found else []
    return paged.narrow(ctx, services.list_services(ctx.db, state="active"))
