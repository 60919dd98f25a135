"""App Home: what one person has in natlink, gathered afresh each time they open the Home tab.

Free of Slack, as replies are: parts of mrkdwn lines with every piece of user text escaped; the bot
lays them out (``bot/home.py``). A Home tab holds at most 100 blocks and a person may own hundreds
of services, so each part keeps the most urgent or newest few and names the command that lists
them all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cloud.errors import CloudError
from cloud.model import Snapshot
from storage import events, owners, requests, services
from storage.records import Event, LinkRequest, Service

from . import portal
from .alerts import is_resolved
from .context import Context
from .escapes import escape, free_text
from .replies import requester
from .usecases.request import connection_sentences

SHOWN = 10
"""Lines per part: enough to act on, few enough for a phone; the rest are one command away."""

Snapshots = Callable[[Iterable[str]], Snapshot]
"""Reads Azure's view of some subscriptions: ``cloud.inventory.snapshot`` bound to the clients."""

OPEN = ("requested", "pending", "approved", "failed")
"""The requests a person still has something to see about (removed, rejected and gone ones drop out)."""


@dataclass(frozen=True)
class Part:
    """One heading of the Home tab: its first lines, how many there are, and the command for all."""

    title: str
    lines: tuple[str, ...]
    total: int
    empty: str
    more: str


@dataclass(frozen=True)
class Home:
    """The Home tab of ``user``, as of ``at``."""

    user: str
    parts: tuple[Part, ...]
    at: datetime


def gather(ctx: Context, snapshots: Snapshots | None, now: datetime | None = None) -> Home:
    """The actor's services, the requests waiting for their decision, their endpoints with who sees
    which address (read from Azure now, when ``snapshots`` is given), and the recent alerts about
    any of them."""
    now = now or datetime.now(UTC)
    mine_names = set(owners.services_owned_by(ctx.db, ctx.actor))
    active = services.list_services(ctx.db, state="active")
    owned = [s for s in active if s.name in mine_names]
    home = ctx.config.portal
    ids = {s.name: s.pls_id for s in active}  # for the portal links (issue 12)
    names = {s.name for s in owned}
    waiting = [  # an admin may decide every request; nobody their own unless self-approval is on
        r
        for r in requests.list_pending(ctx.db)
        if (ctx.is_admin or r.service in names)
        and (r.requester != ctx.actor or ctx.config.allow_self_approval)
    ]
    mine = [r for r in requests.list_requests(ctx.db, states=OPEN) if r.requester == ctx.actor]
    mine.sort(key=lambda r: r.created_at, reverse=True)
    watched = names | {r.service for r in mine if r.state == "approved"}
    parts = (
        _services(owned, waiting, home),
        _part(
            "Waiting for your decision",
            [
                _waiting_line(r, portal.named(home, ids.get(r.service), r.service)) for r in waiting
            ],  # oldest first: the longest wait is the most urgent
            "Nothing waits for your decision.",
            "pending" if ctx.is_admin else "pending --mine",
        ),
        _part(
            "Your endpoints",
            _endpoint_lines(ctx, mine[:SHOWN], snapshots, ids),
            "You have requested no endpoint.",
            "map",
            total=len(mine),
        ),
        _part(
            "Recent alerts",
            _alert_lines(ctx, watched),
            "No alerts about your services or endpoints.",
            "status",
        ),
    )
    return Home(ctx.actor, parts, now)


def _part(title: str, lines: list[str], empty: str, more: str, total: int | None = None) -> Part:
    return Part(title, tuple(lines[:SHOWN]), len(lines) if total is None else total, empty, more)


def _services(owned: list[Service], waiting: list[LinkRequest], home: str | None) -> Part:
    """Newest first, each with how many requests wait on it; each links to the portal."""
    counts = Counter(r.service for r in waiting)
    newest = sorted(owned, key=lambda s: s.created_at, reverse=True)
    lines = [
        f"*{portal.named(home, s.pls_id, s.name)}* — ports {', '.join(str(p) for p in s.details.get('ports', [])) or '?'} — "
        f"`{escape(s.alias)}`" + (f" — {counts[s.name]} waiting" if counts[s.name] else "")
        for s in newest
    ]
    return _part("Your services", lines, "You own no service.", "list --mine")


def _waiting_line(r: LinkRequest, service: str) -> str:
    """A request waiting for a decision; ``service`` is its service's name as mrkdwn (a link)."""
    reason = f" — {free_text(r.reason)}" if r.reason else ""
    return f"`{r.id}` *{service}* from {requester(r)} since {r.created_at:%Y-%m-%d %H:%M} UTC{reason}"


def _endpoint_lines(
    ctx: Context, shown: list[LinkRequest], snapshots: Snapshots | None, ids: dict[str, str]
) -> list[str]:
    """Each endpoint, and for an approved one who sees which address; one Azure read for all. The
    service (``ids``: service name to resource ID), the endpoint, its subnet and what the mapping
    names link to the portal."""
    home = ctx.config.portal
    mapped = [r for r in shown if r.state == "approved" and r.connection_id]
    snapshot, problem = None, ""
    if mapped and snapshots is not None:
        subscriptions = {r.consumer_subscription for r in mapped}
        subscriptions |= {s.subscription for r in mapped if (s := services.get_service(ctx.db, r.service))}
        try:
            snapshot = snapshots(subscriptions)
        except CloudError as error:
            problem = f"Azure could not be read now ({escape(error.code)}); `/natlink map` tries again."
    lines = []
    for r in shown:
        where = portal.named(home, r.subnet_id, f"{r.vnet or '?'} / {r.subnet or '?'}")
        line = (
            f"*{portal.named(home, ids.get(r.service), r.service)}* {r.state} — endpoint "
            f"{portal.named(home, r.pe_id, r.pe_name or '?')} in {where} — `{r.id}`"
        )
        if r in mapped:
            found = connection_sentences(snapshot, r, portal_home=home) if snapshot else ()
            sentences = found or ((problem,) if problem else ("no mapping read yet",))
            line += "".join(f"\n    ↳ {s}" for s in sentences)
        lines.append(line)
    return lines


def _alert_lines(ctx: Context, watched: set[str]) -> list[str]:
    """Problems the sweep found about these services, newest first, each once (an alert goes to
    every channel that asked for it) and marked resolved once its recovery was posted."""
    found: dict[tuple[str, str, str], Event] = {}
    for name in watched:
        for event in events.recent(ctx.db, name, limit=SHOWN * 3):
            if event.severity == "problem" and "line" in event.payload:
                found.setdefault(
                    (event.kind, event.payload.get("key", ""), event.payload.get("since", "")), event
                )
    newest = sorted(found.values(), key=lambda e: e.id, reverse=True)
    return [
        f"{':white_check_mark: resolved —' if is_resolved(ctx.db, e) else ':warning:'} {e.payload['line']}"
        f" — since {str(e.payload.get('since', '?'))[:16].replace('T', ' ')} UTC"
        for e in newest
    ]
