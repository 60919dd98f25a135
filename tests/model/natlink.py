"""natlink's own view: its services, requests, operations, audit and outbox, read from its database.

The file is opened read-only (``mode=ro``), so the model never writes what natlink believes; a WAL
reader sees the last committed state while the bot runs.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

OUTSIDE = "outside natlink"  # the requester natlink records for a connection made in the portal


@dataclass(frozen=True)
class Request:
    id: str
    service: str
    requester: str
    state: str
    pe_id: str | None
    pe_name: str | None
    connection_id: str | None
    expires_at: float | None
    created_at: float
    updated_at: float
    card_channel: str | None
    card_ts: str | None

    @property
    def token(self) -> str:
        return f"natlink:{self.id}"

    @property
    def outside(self) -> bool:
        return self.requester == OUTSIDE


@dataclass(frozen=True)
class Service:
    name: str
    pls_id: str
    alias: str
    state: str
    updated_at: float


@dataclass(frozen=True)
class Operation:
    id: int
    kind: str
    state: str
    args: str
    error: str | None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    actor: str
    action: str
    target: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class View:
    services: dict[str, Service]  # by lower-cased name
    requests: tuple[Request, ...]
    operations: tuple[Operation, ...]
    audit: tuple[AuditRow, ...]

    def request(self, request_id: str) -> Request | None:
        return next((r for r in self.requests if r.id == request_id), None)

    def active(self) -> dict[str, Service]:
        return {k: s for k, s in self.services.items() if s.state == "active"}


def instant(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def rows(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    with closing(connect(path)) as db:
        return db.execute(sql, args).fetchall()


def busy(path: Path) -> tuple[int, int]:
    """Operations queued or running, and outbox events still to post (as the poster counts them)."""
    if not path.exists():
        return 0, 0
    with closing(connect(path)) as db:
        ops = db.execute("SELECT count(*) FROM operations WHERE state IN ('queued', 'running')").fetchone()[0]
        events = db.execute(
            "SELECT count(*) FROM events WHERE posted_at IS NULL AND attempts < 5"
        ).fetchone()[0]
    return int(ops), int(events)


def meta(path: Path, name: str) -> str | None:
    found = rows(path, "SELECT value FROM observations WHERE kind = 'meta' AND key = ?", (name,))
    return found[0]["value"] if found else None


def read(path: Path) -> View:
    with closing(connect(path)) as db:
        services = {
            r["name"].lower(): Service(
                r["name"], r["pls_id"], r["alias"], r["state"], instant(r["updated_at"]) or 0
            )
            for r in db.execute("SELECT * FROM services")
        }
        requests = tuple(
            Request(
                id=r["id"],
                service=r["service"],
                requester=r["requester"],
                state=r["state"],
                pe_id=r["pe_id"],
                pe_name=r["pe_name"],
                connection_id=r["connection_id"],
                expires_at=instant(r["expires_at"]),
                created_at=instant(r["created_at"]) or 0,
                updated_at=instant(r["updated_at"]) or 0,
                card_channel=r["card_channel"],
                card_ts=r["card_ts"],
            )
            for r in db.execute("SELECT * FROM requests ORDER BY created_at, rowid")
        )
        operations = tuple(
            Operation(r["id"], r["kind"], r["state"], r["args"], r["error"])
            for r in db.execute("SELECT * FROM operations ORDER BY id")
        )
        audit = tuple(
            AuditRow(
                r["id"],
                instant(r["at"]) or 0,
                r["actor"],
                r["action"],
                r["target"],
                r["outcome"],
                r["reason"],
            )
            for r in db.execute("SELECT * FROM audit ORDER BY id")
        )
    return View(services, requests, operations, audit)
