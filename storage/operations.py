"""The ``operations`` table: a durable work queue, written before Slack is acknowledged.

The listener enqueues and acks within Slack's 3 seconds; workers in any thread or process claim
operations one at a time. Claiming is a single ``UPDATE ... WHERE id = (SELECT ...) AND
state = 'queued' RETURNING`` under ``BEGIN IMMEDIATE``, so no operation is ever claimed twice.
A Slack retry carries the same idempotency key and gets the existing operation back. After a
crash, :func:`unfinished` lists what was in flight and :func:`requeue_or_fail_stale` decides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import dump_json, load_json, load_json_object, require_choice
from storage.errors import NotFoundError, StateConflictError
from storage.records import FINAL_OPERATION_STATES, FinalOperationState, Operation, StaleSweep
from storage.transactions import write

TABLE = "operations"

STALE_ERROR = "abandoned: no progress from its worker before the stale deadline"


def enqueue(
    db: Database,
    kind: str,
    *,
    actor: str,
    args: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    reply_channel: str | None = None,
    reply_ts: str | None = None,
    response_url: str | None = None,
    now: datetime | None = None,
) -> tuple[Operation, bool]:
    """Queue an operation; returns it and ``True``, or, when ``idempotency_key`` was seen before,
    the existing operation and ``False`` (a replayed Slack delivery must not run twice).

    A failed operation never blocks its retry: its key is retired (suffixed with its id, so the
    trail stays readable) and the new operation takes it.
    """
    if not kind:
        raise ValueError("an operation needs a kind")
    at = clock.stamp(now)
    with write(db):
        if idempotency_key is not None:
            existing = _by_key(db, idempotency_key)
            if existing is not None and existing.state != "failed":
                return existing, False
            if existing is not None:
                _retire_key(db, existing)
        table = db.table(TABLE).insert(
            {
                "kind": kind,
                "args": dump_json(args or {}),
                "actor": actor,
                "state": "queued",
                "attempts": 0,
                "idempotency_key": idempotency_key,
                "reply_channel": reply_channel,
                "reply_ts": reply_ts,
                "response_url": response_url,
                "created_at": at,
                "updated_at": at,
            }
        )
        assert table.last_rowid is not None
        return _require(db, table.last_rowid), True


def get_operation(db: Database, op_id: int) -> Operation | None:
    """The operation with this id, or ``None``."""
    for row in db.table(TABLE).rows_where("id = ?", [op_id], limit=1):
        return _record(row)
    return None


def claim_next(db: Database, worker: str, *, now: datetime | None = None) -> Operation | None:
    """Atomically take the oldest queued operation for ``worker`` and mark it running.

    Returns ``None`` when the queue is empty. Safe across threads and processes: the conditional
    UPDATE runs under the write lock, so each queued operation goes to exactly one caller.
    """
    at = clock.stamp(now)
    sql = (
        f"UPDATE {TABLE} SET state = 'running', worker = :worker, attempts = attempts + 1, "
        "started_at = :at, updated_at = :at, step = NULL, error = NULL "
        f"WHERE id = (SELECT id FROM {TABLE} WHERE state = 'queued' ORDER BY id LIMIT 1) "
        "AND state = 'queued' RETURNING *"
    )
    with write(db):
        rows = list(db.query(sql, {"worker": worker, "at": at}))
    return _record(rows[0]) if rows else None


def update_step(db: Database, op_id: int, step: str, *, now: datetime | None = None) -> Operation:
    """Record progress on a running operation; doubles as the worker's heartbeat."""
    return _transition(db, op_id, {"step": step}, now)


def set_reply(db: Database, op_id: int, channel: str, ts: str, *, now: datetime | None = None) -> Operation:
    """Remember the message that reports on this operation, so it can be updated in place."""
    with write(db):
        _require(db, op_id)
        db.table(TABLE).update(
            op_id, {"reply_channel": channel, "reply_ts": ts, "updated_at": clock.stamp(now)}
        )
        return _require(db, op_id)


def finish(
    db: Database,
    op_id: int,
    state: FinalOperationState,
    *,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> Operation:
    """End a running operation as ``succeeded`` or ``failed``.

    Raises :class:`StateConflictError` if it is not running (for instance it was declared stale
    and requeued meanwhile), so a late worker cannot overwrite a newer attempt's outcome.
    """
    require_choice(state, FINAL_OPERATION_STATES, "state")
    at = clock.stamp(now)
    values = {"state": state, "result": dump_json(result), "error": error, "finished_at": at}
    return _transition(db, op_id, values, now)


def unfinished(db: Database) -> list[Operation]:
    """Operations queued or running, oldest first: what a restarted process must look at."""
    rows = db.table(TABLE).rows_where("state IN ('queued', 'running')", order_by="id")
    return [_record(row) for row in rows]


def requeue_or_fail_stale(
    db: Database,
    *,
    older_than: timedelta,
    max_attempts: int,
    now: datetime | None = None,
) -> StaleSweep:
    """Deal with running operations whose worker has been silent for ``older_than``.

    Those with attempts left go back to ``queued``; the rest fail with :data:`STALE_ERROR`.
    Operations are not always safe to repeat, so callers choose ``max_attempts`` per their kind
    (1 means "never retry, just fail").
    """
    moment = clock.resolve(now)
    at = clock.to_text(moment)
    cutoff = clock.to_text(moment - older_than)
    with write(db):
        stale = [
            _record(row)
            for row in db.table(TABLE).rows_where(
                "state = 'running' AND updated_at < ?", [cutoff], order_by="id"
            )
        ]
        requeued: list[Operation] = []
        failed: list[Operation] = []
        for op in stale:
            if op.attempts < max_attempts:
                db.table(TABLE).update(op.id, {"state": "queued", "worker": None, "updated_at": at})
                requeued.append(_require(db, op.id))
            else:
                values = {"state": "failed", "error": STALE_ERROR, "finished_at": at, "updated_at": at}
                db.table(TABLE).update(op.id, values)
                failed.append(_require(db, op.id))
        return StaleSweep(requeued=tuple(requeued), failed=tuple(failed))


def counts(db: Database) -> dict[tuple[str, str], int]:
    """How many operations there are in each ``(state, kind)``: what /metrics shows."""
    rows = db.execute(f"SELECT state, kind, COUNT(*) FROM {TABLE} GROUP BY state, kind").fetchall()
    return {(state, kind): count for state, kind, count in rows}


def list_operations(db: Database, *, limit: int = 50) -> list[Operation]:
    """The most recent operations, newest first, for status views."""
    rows = db.table(TABLE).rows_where(order_by="id DESC", limit=limit)
    return [_record(row) for row in rows]


def _transition(db: Database, op_id: int, values: dict[str, Any], now: datetime | None) -> Operation:
    """Update a running operation, refusing if it is not running."""
    with write(db):
        current = _require(db, op_id)
        if current.state != "running":
            raise StateConflictError(f"operation {op_id} is {current.state}, not running")
        db.table(TABLE).update(op_id, {**values, "updated_at": clock.stamp(now)})
        return _require(db, op_id)


def _retire_key(db: Database, failed: Operation) -> None:
    db.table(TABLE).update(failed.id, {"idempotency_key": f"{failed.idempotency_key}#failed-{failed.id}"})


def _by_key(db: Database, key: str) -> Operation | None:
    """The operation enqueued with this idempotency key, or ``None``."""
    for row in db.table(TABLE).rows_where("idempotency_key = ?", [key], limit=1):
        return _record(row)
    return None


def _require(db: Database, op_id: int) -> Operation:
    """The operation, or ``NotFoundError``."""
    found = get_operation(db, op_id)
    if found is None:
        raise NotFoundError(f"no operation {op_id}")
    return found


def _record(row: dict[str, Any]) -> Operation:
    """Row to record: decode JSON and instants."""
    return Operation(
        id=row["id"],
        kind=row["kind"],
        args=load_json_object(row["args"]),
        actor=row["actor"],
        state=row["state"],
        step=row["step"],
        result=load_json(row["result"]),
        error=row["error"],
        attempts=row["attempts"],
        worker=row["worker"],
        idempotency_key=row["idempotency_key"],
        reply_channel=row["reply_channel"],
        reply_ts=row["reply_ts"],
        response_url=row["response_url"],
        created_at=clock.from_text(row["created_at"]),
        updated_at=clock.from_text(row["updated_at"]),
        started_at=clock.maybe_from_text(row["started_at"]),
        finished_at=clock.maybe_from_text(row["finished_at"]),
    )
