"""Opening the database: the connection settings natlink relies on, then the migrations.

Several threads and processes (the Slack listener, workers, the scheduler) share one file, so:
WAL lets readers proceed while one writer writes; ``busy_timeout`` makes a writer wait for the
lock instead of failing at once; ``synchronous=NORMAL`` is the durable-enough setting WAL is
designed for; and foreign keys are enforced, which SQLite only does when asked per connection.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from storage.migrations import migrate

DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0


def open_database(path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> Database:
    """Open (creating if needed) the natlink database at ``path``, migrated to the latest schema.

    The returned ``Database`` owns one ``sqlite3`` connection usable only from the calling
    thread; open one per thread. Raises ``SchemaTooNewError`` for a database from a newer natlink.
    """
    # The busy timeout is set on connect, so even the WAL switch below waits for other openers.
    conn = sqlite3.connect(str(path), timeout=busy_timeout)
    db = Database(conn)
    try:
        configure(db, busy_timeout)
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def configure(db: Database, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> None:
    """Apply the per-connection settings; none of these may run inside a transaction."""
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
