"""The database file and its -wal and -shm companions hold response URLs: only their owner may read them."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import audit
from storage.database import open_database

COMPANIONS = ("", "-wal", "-shm")


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most services run under, which leaves new files readable by everyone (0644)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(db_path: Path) -> dict[str, int]:
    """The permission bits of the database file and each companion that exists."""
    found = {suffix: Path(f"{db_path}{suffix}") for suffix in COMPANIONS}
    return {suffix or "db": stat.S_IMODE(p.stat().st_mode) for suffix, p in found.items() if p.exists()}


def write_something(db_path: Path) -> sqlite3.Connection:
    """A write through natlink's own opening, kept open so the -wal and -shm files stay."""
    db = open_database(db_path)
    audit.record(db, actor="U1", action="grant", target="svc", outcome="succeeded", details={"why": "test"})
    return db.conn


def test_a_new_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    db_path = tmp_path / "natlink.db"
    conn = write_something(db_path)
    try:
        assert modes(db_path) == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        conn.close()


def test_a_database_left_readable_by_others_is_tightened(tmp_path: Path) -> None:
    db_path = tmp_path / "natlink.db"
    older = sqlite3.connect(db_path)  # as natlink made it before: 0644 under this umask
    older.execute("PRAGMA journal_mode = WAL")
    older.execute("CREATE TABLE t (x)")
    older.execute("INSERT INTO t VALUES (1)")
    older.commit()
    os.chmod(f"{db_path}-shm", 0o644)  # SQLite copies the database's mode; make sure it is loose
    assert modes(db_path) == {"db": 0o644, "-wal": 0o644, "-shm": 0o644}

    conn = write_something(db_path)
    try:
        assert modes(db_path) == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        conn.close()
        older.close()
