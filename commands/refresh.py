"""One Azure sweep for many ``status --refresh``, and at most one sweep per person every few seconds.

A refresh reads every subscription (a sweep and a snapshot, two dozen ARM calls on the seed
world), and anyone may ask for one, so twenty at once cost twenty sweeps and a person could keep
ARM busy (and throttled) for everyone. Refreshes therefore share:

* a refresh that arrives while another is reading Azure waits for it and uses its result;
* one that arrives within ``SHARE_SECONDS`` of a sweep uses that sweep and says its age;
* otherwise it sweeps, unless the same person started a sweep in the last ``PER_PERSON_SECONDS``:
  then it is answered from the latest sweep, with a line that says so.

The coordination is in the database, which every worker thread and every natlink process
shares: the sweep itself is a lease (``storage.leases``), the per-person limit a once-per-window
mark, and what the latest refresh saw is kept with natlink's own facts (``observations.set_meta``)
so that a refresh answered by another process can still show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlite_utils import Database

from storage import leases, observations

from .context import Context

SHARE_SECONDS = 2
"""A refresh this soon after a sweep began uses that sweep instead of reading Azure again: long
enough to gather a burst of clicks, short enough that a person who just changed something in the
portal gets a fresh read."""
PER_PERSON_SECONDS = 10
"""A person starts at most one sweep in this time (six a minute at most: about 150 ARM calls on the
seed world); their other refreshes show the latest one and say when to retry."""
WAIT_SECONDS = 120
"""How long a refresh waits for someone else's sweep before answering with what it has."""
LEASE_SECONDS = 300
"""Longer than any sweep: a process that died while sweeping frees the lease after this."""
POLL_SECONDS = 0.1

SWEEP = "refresh:sweep"
VIEW = "refresh:view"


@dataclass(frozen=True)
class View:
    """What one refresh saw: a status line per private link service (lower-cased ID), and notes
    such as the subscriptions it could not read."""

    taken_at: datetime
    lines: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


How = Literal["swept", "shared", "recent", "limited", "busy"]
"""This call read Azure; it waited for another's sweep; a sweep had just ended; the person swept
within ``PER_PERSON_SECONDS``; another's sweep outlasted ``WAIT_SECONDS``."""


@dataclass(frozen=True)
class Refreshed:
    """The view to answer from (None when natlink has none yet) and how it was come by."""

    view: View | None
    how: How


Read = Callable[[datetime], View]
"""Read Azure now, for a sweep that begins at the given instant."""


def refresh(ctx: Context, read: Read) -> Refreshed:
    """The view to answer a refresh from: read now by this call, shared with others' sweep, or the
    latest one when the person may not sweep again yet (see the module)."""
    seen = latest(ctx.db)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        view = latest(ctx.db)
        if _usable(view, seen):
            return Refreshed(view, "recent" if view == seen else "shared")
        if leases.current(ctx.db, SWEEP) is None:
            lease = leases.once(ctx.db, SWEEP, timedelta(seconds=LEASE_SECONDS))
            if lease is not None:
                return _lead(ctx, read, seen, lease.holder)
        if time.monotonic() > deadline:
            return Refreshed(view, "busy")
        time.sleep(POLL_SECONDS)


def _usable(view: View | None, seen: View | None) -> bool:
    """Recent enough to share, or finished while this refresh waited (however long the sweep took)."""
    return view is not None and (view != seen or _age(view) < SHARE_SECONDS)


def _lead(ctx: Context, read: Read, seen: View | None, holder: str) -> Refreshed:
    """Holding the sweep lease: share a sweep that ended meanwhile, or sweep if the person may."""
    try:
        view = latest(ctx.db)
        if _usable(view, seen):
            return Refreshed(view, "recent" if view == seen else "shared")
        if leases.once(ctx.db, _person(ctx), timedelta(seconds=PER_PERSON_SECONDS)) is None:
            return Refreshed(view, "limited")
        fresh = read(datetime.now(UTC))
        _keep(ctx.db, fresh)
        return Refreshed(fresh, "swept")
    finally:
        leases.release(ctx.db, SWEEP, holder)


def latest(db: Database) -> View | None:
    """The view the latest refresh kept, by any process."""
    value: dict[str, Any] | None = observations.meta(db, VIEW)
    if not value:
        return None
    return View(datetime.fromisoformat(value["taken_at"]), dict(value["lines"]), tuple(value["notes"]))


def _keep(db: Database, view: View) -> None:
    value = {"taken_at": view.taken_at.isoformat(), "lines": view.lines, "notes": list(view.notes)}
    observations.set_meta(db, VIEW, value)


def _age(view: View) -> float:
    return (datetime.now(UTC) - view.taken_at).total_seconds()


def note(ctx: Context, refreshed: Refreshed) -> str:
    """The line that tells the person how old the answer is, and why it was not read just now."""
    view, limit = refreshed.view, f"at most once every {PER_PERSON_SECONDS} s"
    if view is None and refreshed.how == "limited":
        wait = _person_wait(ctx)
        return f"_No sweep to show: natlink reads Azure for each person {limit}; refresh again in {wait} s._"
    if view is None:
        return "_No sweep to show yet: another refresh is reading Azure; ask again in a minute._"
    age = f"{int(_age(view))} s ago"
    match refreshed.how:
        case "swept":
            return "_Latest sweep just now: this refresh read Azure._"
        case "shared":
            return f"_Latest sweep {age}: it was running when you asked, so this refresh shares it._"
        case "recent":
            return f"_Latest sweep {age}: refreshes within {SHARE_SECONDS} s of a sweep share it._"
        case "limited":
            return (
                f"_Latest sweep {age}, not refreshed: natlink reads Azure for each person {limit}; "
                f"refresh again in {_person_wait(ctx)} s._"
            )
    return f"_Latest sweep {age}: another refresh is still reading Azure; ask again in a minute._"


def _person(ctx: Context) -> str:
    """The mark a person's sweep leaves for ``PER_PERSON_SECONDS``."""
    return f"refresh:person:{ctx.actor}"


def _person_wait(ctx: Context) -> int:
    """Whole seconds until the person may start a sweep again."""
    mark = leases.current(ctx.db, _person(ctx))
    if mark is None:
        return 0
    return max(int((mark.expires_at - datetime.now(UTC)).total_seconds()) + 1, 1)
