"""Opening the database: connection settings, migrations, upgrades and refusal of newer schemas."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import migrations, requests
from storage.database import open_database
from storage.errors import SchemaTooNewError
from storage.migrations import LATEST_VERSION, MIGRATIONS, initial_schema, migrate, schema_version
from tests.storage.conftest import SUB, T0, add_web_service

TABLES = {
    "services",
    "owners",
    "grants",
    "requests",
    "operations",
    "audit",
    "channel_subscriptions",
    "leases",
    "observations",
    "events",
}


def test_wal_foreign_keys_and_busy_timeout_are_on(db: Database) -> None:
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_wal_persists_for_plain_connections(db: Database, db_path: Path) -> None:
    plain = sqlite3.connect(db_path)
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        plain.close()


def test_empty_database_gets_every_table_and_the_latest_version(db: Database) -> None:
    assert set(db.table_names()) >= TABLES
    assert schema_version(db) == LATEST_VERSION == len(MIGRATIONS)
    rows = list(db.table(migrations.VERSION_TABLE).rows)
    assert [(r["version"], r["name"]) for r in rows] == [
        (1, "initial_schema"),
        (2, "scheduler_tables"),
        (3, "integrity_columns"),
        (4, "verifications_table"),
        (5, "service_origin"),
        (6, "event_places"),
        (7, "request_subnet_ids"),
    ]


def test_reopening_applies_nothing_again(db_path: Path) -> None:
    for _ in range(3):
        open_database(db_path).close()
    db = open_database(db_path)
    assert db.table(migrations.VERSION_TABLE).count == LATEST_VERSION
    db.close()


def test_older_database_is_upgraded_in_order(db_path: Path) -> None:
    db = Database(sqlite3.connect(db_path))
    assert migrate(db, [initial_schema]) == 1

    def add_notes(database: Database) -> None:
        database.execute("ALTER TABLE services ADD COLUMN notes TEXT")

    assert migrate(db, [initial_schema, add_notes]) == 2
    assert "notes" in db.table("services").columns_dict
    assert [r["name"] for r in db.table(migrations.VERSION_TABLE).rows] == ["initial_schema", "add_notes"]
    db.close()


def test_version_6_requests_gain_an_empty_subnet_id_that_later_endpoints_fill(db_path: Path) -> None:
    """Version 7 adds the subnet ID of a request's endpoint (its card links it to the portal): a
    request from before has none, and shows its names as text; a new endpoint's is kept."""
    old = Database(sqlite3.connect(db_path))
    assert migrate(old, MIGRATIONS[:6]) == 6
    add_web_service(old)
    requests.create_request(
        old, request_id="r-old", service="Web", requester="U1", consumer_subscription=SUB, now=T0
    )
    requests.attach_endpoint(old, "r-old", pe_id="/pe/old", vnet="vnet-a", subnet="default", now=T0)
    old.close()

    db = open_database(db_path)
    assert schema_version(db) == LATEST_VERSION
    before = requests.get_request(db, "r-old")
    assert (before.vnet, before.subnet, before.subnet_id) == ("vnet-a", "default", None)
    subnet_id = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a/subnets/default"
    requests.create_request(db, request_id="r-new", service="Web", requester="U1", consumer_subscription=SUB)
    after = requests.attach_endpoint(db, "r-new", pe_id="/pe/new", subnet_id=subnet_id)
    assert after.subnet_id == subnet_id == requests.get_request(db, "r-new").subnet_id
    assert requests.attach_endpoint(db, "r-new", link_identifier="42").subnet_id == subnet_id, "None keeps it"
    db.close()


def test_failing_migration_is_rolled_back_and_stays_pending(db_path: Path) -> None:
    db = Database(sqlite3.connect(db_path))
    migrate(db, [initial_schema])

    def half_done(database: Database) -> None:
        database.execute("CREATE TABLE scratch (x)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        migrate(db, [initial_schema, half_done])
    assert schema_version(db) == 1
    assert "scratch" not in db.table_names()
    db.close()


def test_database_from_a_newer_natlink_is_refused_untouched(db_path: Path) -> None:
    open_database(db_path).close()
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future', 'x')",
            [LATEST_VERSION + 1],
        )
    raw.close()
    with pytest.raises(SchemaTooNewError, match="newer than this natlink supports") as info:
        open_database(db_path)
    assert (info.value.found, info.value.supported) == (LATEST_VERSION + 1, LATEST_VERSION)


def test_concurrent_first_opens_migrate_exactly_once(db_path: Path) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def opener() -> None:
        try:
            barrier.wait()
            open_database(db_path).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = open_database(db_path)
    assert db.table(migrations.VERSION_TABLE).count == LATEST_VERSION
    db.close()


def test_version_1_database_with_data_upgrades_to_the_scheduler_tables(db_path: Path) -> None:
    old = Database(sqlite3.connect(db_path))
    assert migrate(old, [initial_schema]) == 1
    old.table("audit").insert(
        {
            "at": "2026-01-01T00:00:00.000000+00:00",
            "actor": "U1",
            "action": "x",
            "target": "t",
            "outcome": "allowed",
        }
    )
    old.close()

    db = open_database(db_path)
    assert schema_version(db) == LATEST_VERSION
    assert {"leases", "observations", "events"} <= set(db.table_names())
    assert db.table("audit").count == 1  # the old data is still there
    assert [r["name"] for r in db.table(migrations.VERSION_TABLE).rows] == [m.__name__ for m in MIGRATIONS]
    db.close()
