"""The ``leases`` table: named, expiring locks, so only one natlink instance runs scheduled jobs.

The same row also marks work that must happen once per window whoever asks, in any thread or
process (:func:`once`): a card posted for a replayed or double-clicked command, an Azure sweep.

:func:`acquire` is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING`` under
``BEGIN IMMEDIATE``: the row is taken when absent, when expired, or when already held by the same
holder (a renewal), and otherwise left alone, so across threads and processes at most one holder
has a live lease at any instant. Names and holders are natlink's own strings and compare exactly.

A holder should renew well within ``ttl`` (say every ``ttl / 3``) and stop its jobs as soon as a
renewal returns ``None``. Instances compare wall clocks, so ``ttl`` must dwarf any clock skew.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.records import Lease
from storage.transactions import write

TABLE = "leases"

_ACQUIRE_SQL = f"""
INSERT INTO {TABLE} (name, holder, acquired_at, renewed_at, expires_at)
VALUES (:name, :holder, :now, :now, :expires)
ON CONFLICT (name) DO UPDATE SET
    acquired_at = CASE
        WHEN {TABLE}.holder = excluded.holder AND {TABLE}.expires_at > excluded.renewed_at
        THEN {TABLE}.acquired_at ELSE excluded.acquired_at END,
    holder = excluded.holder,
    renewed_at = excluded.renewed_at,
    expires_at = excluded.expires_at
WHERE {TABLE}.holder = excluded.holder OR {TABLE}.expires_at <= excluded.renewed_at
RETURNING *
"""


def acquire(
    db: Database, name: str, holder: str, ttl: timedelta, *, now: datetime | None = None
) -> Lease | None:
    """Take or renew lease ``name`` for ``holder`` until ``now + ttl``; ``None`` if another holds it.

    The lease is taken when nobody holds it or the holder's lease has expired; when ``holder``
    already holds it the expiry is pushed out and ``acquired_at`` is kept (an expired lease taken
    back by the same holder counts as a new tenure: something may have happened in the gap).
    """
    if not name or not holder:
        raise ValueError("a lease needs a name and a holder")
    if ttl <= timedelta(0):
        raise ValueError(f"a lease needs a positive ttl, not {ttl}")
    moment = clock.resolve(now)
    params = {
        "name": name,
        "holder": holder,
        "now": clock.to_text(moment),
        "expires": clock.to_text(moment + ttl),
    }
    with write(db):
        rows = list(db.query(_ACQUIRE_SQL, params))
    return _record(rows[0]) if rows else None


def once(db: Database, name: str, ttl: timedelta, *, now: datetime | None = None) -> Lease | None:
    """Take ``name`` until ``now + ttl`` for a holder of its own; ``None`` while an earlier take is live.

    :func:`acquire` renews for the same holder, so a repeat by the same person would pass; here
    every call is a new holder, so exactly one caller in ``ttl`` wins, across threads and processes.
    The winner may :func:`release` it with the returned lease's ``holder``.
    """
    return acquire(db, name, f"once:{uuid.uuid4().hex}", ttl, now=now)


def release(db: Database, name: str, holder: str) -> bool:
    """Give up ``holder``'s lease (live or expired); ``False`` if ``holder`` does not hold it.

    Another holder's lease is never touched, so a holder that lost its lease cannot free the
    winner's by releasing late.
    """
    with write(db):
        cursor = db.execute(f"DELETE FROM {TABLE} WHERE name = ? AND holder = ?", [name, holder])
        return cursor.rowcount == 1


def current(db: Database, name: str, *, now: datetime | None = None) -> Lease | None:
    """The live lease called ``name`` at ``now``, or ``None`` when it is free (or expired)."""
    at = clock.stamp(now)
    for row in db.table(TABLE).rows_where("name = ? AND expires_at > ?", [name, at], limit=1):
        return _record(row)
    return None


def _record(row: dict[str, Any]) -> Lease:
    """Row to record: decode instants."""
    return Lease(
        name=row["name"],
        holder=row["holder"],
        acquired_at=clock.from_text(row["acquired_at"]),
        renewed_at=clock.from_text(row["renewed_at"]),
        expires_at=clock.from_text(row["expires_at"]),
    )
