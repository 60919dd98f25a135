"""The ``audit`` table: an append-only trail of who tried what, on which target, and the outcome.

There is deliberately no update or delete function, and the schema's triggers reject UPDATE and
DELETE on the table, so even a stray statement cannot rewrite history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import dump_json, load_json_object, require_choice
from storage.records import AUDIT_OUTCOMES, AuditEntry, AuditOutcome
from storage.transactions import write

TABLE = "audit"
DEFAULT_LIMIT = 50


def record(
    db: Database,
    *,
    actor: str,
    action: str,
    target: str,
    outcome: AuditOutcome,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry and return it as stored."""
    require_choice(outcome, AUDIT_OUTCOMES, "outcome")
    with write(db):
        table = db.table(TABLE).insert(
            {
                "at": clock.stamp(now),
                "actor": actor,
                "action": action,
                "target": target,
                "outcome": outcome,
                "reason": reason,
                "details": dump_json(details or {}),
            }
        )
        assert table.last_rowid is not None
        return _by_id(db, table.last_rowid)


def list_entries(db: Database, *, target: str | None = None, limit: int = DEFAULT_LIMIT) -> list[AuditEntry]:
    """The newest ``limit`` entries (for one target, if given), newest first."""
    where, args = (None, []) if target is None else ("target = ?", [target])
    rows = db.table(TABLE).rows_where(where, args, order_by="at DESC, id DESC", limit=limit)
    return [_record(row) for row in rows]


def _by_id(db: Database, entry_id: int) -> AuditEntry:
    """One entry by id (it was just written, so it exists)."""
    return _record(next(db.table(TABLE).rows_where("id = ?", [entry_id], limit=1)))


def _record(row: dict[str, Any]) -> AuditEntry:
    """Row to record: decode JSON and instants."""
    return AuditEntry(
        id=row["id"],
        at=clock.from_text(row["at"]),
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        outcome=row["outcome"],
        reason=row["reason"],
        details=load_json_object(row["details"]),
    )
