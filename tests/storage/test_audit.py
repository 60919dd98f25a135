"""Audit: append-only, newest first, filterable by target."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from storage import audit
from tests.storage.conftest import T0, at


def test_record_stores_every_field(db: Database) -> None:
    entry = audit.record(
        db,
        actor="UMALLORY",
        action="approve",
        target="r-7k2m9x",
        outcome="denied",
        reason="not an owner of web",
        details={"service": "web"},
        now=T0,
    )
    assert (entry.actor, entry.action, entry.target, entry.outcome) == (
        "UMALLORY",
        "approve",
        "r-7k2m9x",
        "denied",
    )
    assert (entry.reason, entry.details, entry.at) == ("not an owner of web", {"service": "web"}, T0)


def test_list_is_newest_first_and_filters_by_target(db: Database) -> None:
    audit.record(db, actor="U1", action="create", target="web", outcome="allowed", now=at(1))
    audit.record(db, actor="U1", action="create", target="web", outcome="succeeded", now=at(2))
    audit.record(db, actor="U2", action="request", target="r-aaaaaa", outcome="allowed", now=at(3))
    assert [(e.target, e.at) for e in audit.list_entries(db)] == [
        ("r-aaaaaa", at(3)),
        ("web", at(2)),
        ("web", at(1)),
    ]
    assert [e.outcome for e in audit.list_entries(db, target="web")] == ["succeeded", "allowed"]
    assert len(audit.list_entries(db, limit=1)) == 1


def test_same_instant_keeps_insertion_order(db: Database) -> None:
    for n in range(3):
        audit.record(db, actor=f"U{n}", action="x", target="t", outcome="allowed", now=T0)
    assert [e.actor for e in audit.list_entries(db)] == ["U2", "U1", "U0"]


def test_no_update_or_delete_functions_exist() -> None:
    public = {name for name in vars(audit) if not name.startswith("_") and callable(getattr(audit, name))}
    assert not {name for name in public if any(w in name for w in ("update", "delete", "remove", "clear"))}


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit SET outcome = 'allowed'", "DELETE FROM audit", "DELETE FROM audit WHERE id = 1"],
)
def test_the_schema_rejects_rewriting_history(db: Database, statement: str) -> None:
    audit.record(db, actor="U1", action="x", target="t", outcome="failed")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(statement)
    assert [e.outcome for e in audit.list_entries(db)] == ["failed"]


def test_unknown_outcome_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        audit.record(db, actor="U1", action="x", target="t", outcome="maybe")  # type: ignore[arg-type]
