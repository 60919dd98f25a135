"""The ``events`` table: an outbox of channel notifications.

Events are written before anything is posted, under a ``dedup_key`` that says which fact they
report (say ``"conn-status:<connection id>:<new status>:<channel>"``). Adding an existing key adds
nothing, so a sweep re-run after a crash cannot queue a notification twice; and an event stays
:func:`pending` until :func:`mark_posted`, so a restart cannot drop one. The key is unique across
channels: when one fact goes to several channels, put the channel in the key. Keys compare
case-insensitively, since they usually embed ARM ids.

Invariant 5, every event is posted exactly once, is kept here by *claim, then post*. Several
drainers run at once (each scheduler job posts after its work, and a post job drains every few
seconds), so reading what is pending is not enough: two drainers would read, and post, the same
event. A drainer first :func:`claim` s a batch (one conditional ``UPDATE … RETURNING`` under the
write lock, so each event goes to one claimer), posts it, then calls :func:`mark_posted`, or
:func:`release` to count a failure and free the claim for the next pass. A claim older than the
stale limit belongs to a drainer that died mid-post; it may be claimed again.

The one window left is a crash between Slack accepting a message and :func:`mark_posted`
committing: after the stale limit that event is posted again. Record events in the same
transaction as the observations they come from (see :mod:`storage.observations`), claim, post,
then mark them posted straight away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import dump_json, dump_json_value, load_json_object, load_json_value, require_choice
from storage.errors import StateConflictError
from storage.records import EVENT_SEVERITIES, Event, EventSeverity, NewEvent
from storage.transactions import write

TABLE = "events"
DEFAULT_LIMIT = 50
CLAIM_STALE = timedelta(minutes=5)
"""How long a claim holds. A drainer posts a batch in seconds (one message a second per channel,
a few retries after 429s); one that held a claim this long is taken for dead."""


def add(
    db: Database,
    dedup_key: str,
    channel: str,
    service: str | None,
    kind: str,
    severity: EventSeverity,
    payload: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> tuple[Event, bool]:
    """Queue one event; returns it and ``True``, or the event already queued under ``dedup_key``
    and ``False``. Raises :class:`StateConflictError` if that key was used for another channel."""
    item = NewEvent(dedup_key, channel, service, kind, severity, dict(payload or {}))
    ((event, created),) = add_many(db, [item], now=now)
    return event, created


def add_many(
    db: Database, items: Iterable[NewEvent], *, now: datetime | None = None
) -> list[tuple[Event, bool]]:
    """Queue several events in one transaction (all or none); same results as :func:`add`, in order.

    A key repeated within ``items`` is added once; the later copies come back with ``False``.
    """
    at = clock.stamp(now)
    results: list[tuple[Event, bool]] = []
    with write(db):
        for item in items:
            _check(item)
            cursor = db.execute(
                f"INSERT INTO {TABLE} (dedup_key, channel, service, kind, severity, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                [
                    item.dedup_key,
                    item.channel,
                    item.service,
                    item.kind,
                    item.severity,
                    dump_json(item.payload),
                    at,
                ],
            )
            event = _by_key(db, item.dedup_key)
            if event.channel != item.channel:
                raise StateConflictError(
                    f"event key {item.dedup_key!r} is already used for channel {event.channel}, "
                    f"not {item.channel}: put the channel in the key"
                )
            results.append((event, cursor.rowcount == 1))
    return results


def get_event(db: Database, event_id: int) -> Event | None:
    """The event with this id, or ``None``."""
    for row in db.table(TABLE).rows_where("id = ?", [event_id], limit=1):
        return _record(row)
    return None


def pending(
    db: Database,
    channel: str | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    max_attempts: int | None = None,
) -> list[Event]:
    """Events not yet posted (to one channel, if given), oldest first, claimed or not.

    For looking at the outbox; a drainer must :func:`claim` what it posts instead. ``max_attempts``
    leaves out events that have already failed that many times, so one message Slack keeps
    refusing does not hold up the rest; they stay in the table for inspection.
    """
    wheres, args = _pending_filter(max_attempts)
    if channel is not None:
        wheres.append("channel = ?")
        args.append(channel)
    rows = db.table(TABLE).rows_where(" AND ".join(wheres), args, order_by="id", limit=limit)
    return [_record(row) for row in rows]


def claim(
    db: Database,
    claimer: str,
    channel: str | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    max_attempts: int | None = None,
    stale_after: timedelta = CLAIM_STALE,
    now: datetime | None = None,
) -> list[Event]:
    """Take up to ``limit`` unposted events (in one channel, if given) for ``claimer`` to post,
    oldest first.

    Why a claim and not a read: drainers run at once, and whatever two of them read, both post.
    The conditional UPDATE runs under the write lock, so an event is held by one claimer at a
    time; events claimed less than ``stale_after`` ago, or failed ``max_attempts`` times, are
    left out.
    """
    if not claimer:
        raise ValueError("a claim needs a claimer")
    at = clock.resolve(now)
    wheres, args = _claimable(max_attempts, stale_after, at)
    if channel is not None:
        wheres.append("channel = ?")
        args.append(channel)
    sql = (
        f"UPDATE {TABLE} SET claimed_by = ?, claimed_at = ? WHERE id IN "
        f"(SELECT id FROM {TABLE} WHERE {' AND '.join(wheres)} ORDER BY id LIMIT ?) RETURNING *"
    )
    with write(db):
        rows = list(db.query(sql, [claimer, clock.to_text(at), *args, limit]))
    return sorted((_record(row) for row in rows), key=lambda event: event.id)


def channels_to_claim(
    db: Database,
    *,
    max_attempts: int | None = None,
    stale_after: timedelta = CLAIM_STALE,
    now: datetime | None = None,
) -> list[str]:
    """Channels with events :func:`claim` would take now, ordered by their oldest such event."""
    wheres, args = _claimable(max_attempts, stale_after, clock.resolve(now))
    sql = f"SELECT channel FROM {TABLE} WHERE {' AND '.join(wheres)} GROUP BY channel ORDER BY min(id)"
    return [row["channel"] for row in db.query(sql, args)]


def mark_posted(
    db: Database,
    ids: Sequence[int],
    message_ts: str,
    *,
    places: Sequence[tuple[str, str]] = (),
    now: datetime | None = None,
) -> int:
    """Record that one Slack message (``message_ts``) carried these events, and the ``places``
    (channel ID, ts) where Slack holds it; returns how many were newly marked. Events already
    posted keep their first ``message_ts``. The claim stays on the row, as the record of which
    drainer posted it."""
    if not message_ts:
        raise ValueError("mark_posted needs the message's ts")
    at, where = clock.stamp(now), dump_json_value([list(p) for p in places]) if places else None
    with write(db):
        cursor = db.conn.executemany(
            f"UPDATE {TABLE} SET posted_at = ?, message_ts = ?, places = ? WHERE id = ? AND posted_at IS NULL",
            [(at, message_ts, where, event_id) for event_id in ids],
        )
        return cursor.rowcount


def release(db: Database, ids: Sequence[int], claimer: str, error: str) -> int:
    """Give back events ``claimer`` could not post, counting the failed attempt; returns how many.

    They are claimable again at once, so the next pass retries them. Only the claimer's own claims
    are released: a drainer that outlived its claim must not free an event another now posts.
    """
    with write(db):
        cursor = db.conn.executemany(
            f"UPDATE {TABLE} SET attempts = attempts + 1, last_error = ?, claimed_by = NULL, "
            "claimed_at = NULL WHERE id = ? AND posted_at IS NULL AND claimed_by = ?",
            [(error, event_id, claimer) for event_id in ids],
        )
        return cursor.rowcount


def counts(db: Database) -> dict[str, int]:
    """Events ``queued`` (not yet posted) and ``posted``: what /metrics shows."""
    row = db.execute(f"SELECT COUNT(*) - COUNT(posted_at), COUNT(posted_at) FROM {TABLE}").fetchone()
    return {"queued": row[0], "posted": row[1]}


def recent(db: Database, service: str | None = None, *, limit: int = DEFAULT_LIMIT) -> list[Event]:
    """The newest events (about one service, in any letter case, if given), newest first."""
    where, args = (None, []) if service is None else ("service = ?", [service])
    rows = db.table(TABLE).rows_where(where, args, order_by="id DESC", limit=limit)
    return [_record(row) for row in rows]


def last_posted(db: Database, channel: str, kind: str, key: str) -> Event | None:
    """The newest event of ``kind`` about ``key`` (its payload's ``key``) posted in ``channel``."""
    rows = db.table(TABLE).rows_where(
        "channel = ? AND kind = ? AND message_ts IS NOT NULL AND json_extract(payload, '$.key') = ?",
        [channel, kind, key],
        order_by="id DESC",
        limit=1,
    )
    return next((_record(row) for row in rows), None)


def channels_posted(db: Database, kind: str, key: str) -> set[str]:
    """The channels where an event of ``kind`` about ``key`` was posted."""
    rows = db.execute(
        f"SELECT DISTINCT channel FROM {TABLE} WHERE kind = ? AND message_ts IS NOT NULL "
        "AND json_extract(payload, '$.key') = ?",
        [kind, key],
    ).fetchall()
    return {row[0] for row in rows}


def carried_by(db: Database, channel: str, message_ts: str) -> list[Event]:
    """The events one Slack message carried, in the order they were queued."""
    rows = db.table(TABLE).rows_where("channel = ? AND message_ts = ?", [channel, message_ts], order_by="id")
    return [_record(row) for row in rows]


def _pending_filter(max_attempts: int | None) -> tuple[list[str], list[Any]]:
    """The WHERE parts selecting pending events."""
    if max_attempts is None:
        return ["posted_at IS NULL"], []
    return ["posted_at IS NULL", "attempts < ?"], [max_attempts]


def _claimable(max_attempts: int | None, stale_after: timedelta, at: datetime) -> tuple[list[str], list[Any]]:
    """The WHERE parts selecting pending events that nobody holds, or whose claim went stale."""
    wheres, args = _pending_filter(max_attempts)
    wheres.append("(claimed_at IS NULL OR claimed_at <= ?)")
    args.append(clock.to_text(at - stale_after))
    return wheres, args


def _check(item: NewEvent) -> None:
    """Refuse an unusable event before SQLite's constraints do, with a clearer message."""
    require_choice(item.severity, EVENT_SEVERITIES, "severity")
    for name in ("dedup_key", "channel", "kind"):
        if not getattr(item, name):
            raise ValueError(f"an event needs a {name}")


def _by_key(db: Database, dedup_key: str) -> Event:
    """The event stored under this key (it exists: it was just inserted or found)."""
    return _record(next(db.table(TABLE).rows_where("dedup_key = ?", [dedup_key], limit=1)))


def _record(row: dict[str, Any]) -> Event:
    """Row to record: decode JSON and instants."""
    return Event(
        id=row["id"],
        dedup_key=row["dedup_key"],
        channel=row["channel"],
        service=row["service"],
        kind=row["kind"],
        severity=row["severity"],
        payload=load_json_object(row["payload"]),
        created_at=clock.from_text(row["created_at"]),
        posted_at=clock.maybe_from_text(row["posted_at"]),
        message_ts=row["message_ts"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        claimed_by=row["claimed_by"],
        claimed_at=clock.maybe_from_text(row["claimed_at"]),
        places=tuple((str(c), str(t)) for c, t in load_json_value(row.get("places") or "[]")),
    )
