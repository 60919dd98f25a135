"""The digest: one message per subscribed channel with each service's health, its mapping table,
what the backend sees as the source, and the requests still waiting with their age.

It is queued in the outbox under a key naming the channel and the period, so a digest is posted
once per period however often the job runs (a restart catching up a missed 09:00 included).
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from cloud import inventory
from cloud.clients import Clients
from cloud.health import service_health
from cloud.mapping import mappings
from storage import channel_subscriptions, events, requests, services
from storage.records import NewEvent, Service

from . import describe
from .context import Config
from .escapes import escape
from .replies import requester
from .usecases.verify import map_note
from .values import STAR


def period(frequency: str, now: datetime) -> str:
    return now.strftime("%Y-%m-%d" if frequency == "daily" else "%Y-%m-%dT%H")


def queue_digests(db: Database, config: Config, clients: Clients, frequency: str, now: datetime) -> int:
    """Queue this period's digest for every channel that asked for ``frequency`` (daily | hourly)."""
    wanted = [s for s in channel_subscriptions.list_subscriptions(db) if s.digest == frequency]
    if not wanted:
        return 0
    snapshot = inventory.snapshot(clients, config.subscriptions)
    live = {s.id.lower(): s for s in snapshot.services}
    rows = mappings(snapshot)
    active = services.list_services(db, state="active")
    queued = 0
    for channel in sorted({s.channel for s in wanted}):
        names = {s.service for s in wanted if s.channel == channel}
        covered = [s for s in active if STAR in names or s.name in names]
        lines = [line for service in covered for line in _service_lines(db, service, live, rows, now)]
        title = f"natlink {frequency} digest, {period(frequency, now)}"
        event = NewEvent(
            f"digest:{frequency}:{channel}:{period(frequency, now)}",
            channel,
            None,
            "digest",
            "info",
            {"title": title, "lines": lines or ["No services to report on."]},
        )
        queued += events.add_many(db, [event], now=now)[0][1]
    return queued


def _service_lines(db: Database, service: Service, live: dict, rows: list, now: datetime) -> list[str]:  # type: ignore[type-arg]
    found = live.get(service.pls_id.lower())
    if found is None:
        return [f"*{escape(service.name)}*: down — not found in Azure"]
    health = service_health(found)
    lines = [f"*{escape(service.name)}*: {health.level} — {escape(health.reason)}"]
    lines += [
        f"  {describe.mapping_row(m)}{map_note(db, m, now)}"
        for m in rows
        if m.service.lower() == service.name.lower()
    ]
    lines.append(f"  backends see the source as {', '.join(found.nat_ips) or '?'}")
    for request in requests.list_pending(db, service=service.name):
        age = now - request.created_at
        lines.append(
            f"  waiting: `{request.id}` from {requester(request)} for {int(age.total_seconds() // 3600)} h"
        )
    return lines
