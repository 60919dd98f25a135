"""The ``verifications`` table: the latest ``verify`` of each connection, with what it proved.

One row per request (a request is one connection for life), replaced by each new verification:
``status``, ``map`` and the digest show how old the proof is, not a history of proofs (the audit
keeps who ran each one). Each of the three checks reads ``proven``, ``failed`` or ``not checked``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import dump_json, load_json_object
from storage.transactions import write

TABLE = "verifications"
VERDICTS = ("proven", "failed", "not checked")

_SCHEMA = (
    f"""
    CREATE TABLE {TABLE} (
        request_id TEXT PRIMARY KEY,
        service TEXT NOT NULL COLLATE NOCASE,
        connection TEXT COLLATE NOCASE,
        verified_at TEXT NOT NULL,
        verified_by TEXT NOT NULL,
        reach TEXT NOT NULL CHECK (reach IN ('proven', 'failed', 'not checked')),
        arrival TEXT NOT NULL CHECK (arrival IN ('proven', 'failed', 'not checked')),
        source TEXT NOT NULL CHECK (source IN ('proven', 'failed', 'not checked')),
        summary TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{{}}'
    )
    """,
    f"CREATE INDEX verifications_by_service ON {TABLE} (service, connection)",
)


def verifications_table(db: Database) -> None:
    """Migration: the latest verification of each connection (issue 11)."""
    for statement in _SCHEMA:
        db.execute(statement)


@dataclass(frozen=True)
class Verification:
    """What the latest ``verify`` of one request's connection proved, and when."""

    request_id: str
    service: str
    connection: str | None
    verified_at: datetime
    verified_by: str
    reach: str
    arrival: str
    source: str
    summary: str
    details: dict[str, Any]


def record(
    db: Database,
    *,
    request_id: str,
    service: str,
    connection: str | None,
    verified_by: str,
    reach: str,
    arrival: str,
    source: str,
    summary: str = "",
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Verification:
    """Keep this verification as the request's latest, replacing the one before."""
    for verdict in (reach, arrival, source):
        if verdict not in VERDICTS:
            raise ValueError(f"a verdict is one of {', '.join(VERDICTS)}, not {verdict!r}")
    row = {
        "request_id": request_id,
        "service": service,
        "connection": connection,
        "verified_at": clock.stamp(now),
        "verified_by": verified_by,
        "reach": reach,
        "arrival": arrival,
        "source": source,
        "summary": summary,
        "details": dump_json(details or {}),
    }
    with write(db):
        db.table(TABLE).upsert(row, pk="request_id")
    return _record(row)


def latest(db: Database, request_id: str) -> Verification | None:
    """The request's latest verification, or None when it was never verified."""
    for row in db.table(TABLE).rows_where("request_id = ?", [request_id], limit=1):
        return _record(row)
    return None


def for_service(db: Database, service: str) -> list[Verification]:
    """The latest verification of each of the service's connections, newest first."""
    rows = db.table(TABLE).rows_where("service = ?", [service], order_by="verified_at DESC")
    return [_record(row) for row in rows]


def _record(row: dict[str, Any]) -> Verification:
    return Verification(
        request_id=row["request_id"],
        service=row["service"],
        connection=row["connection"],
        verified_at=clock.from_text(row["verified_at"]),
        verified_by=row["verified_by"],
        reach=row["reach"],
        arrival=row["arrival"],
        source=row["source"],
        summary=row["summary"],
        details=load_json_object(row["details"]),
    )
