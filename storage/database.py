"""Opening the database: the connection settings natlink relies on, then the migrations.

Several threads and processes (the Slack listener, workers, the scheduler) share one file, so:
WAL lets readers proceed while one writer writes; ``busy_timeout`` makes a writer wait for the
lock instead of failing at once; ``synchronous=NORMAL`` is the durable-enough setting WAL is
designed for; and foreign keys are enforced, which SQLite only does when asked per connection.

The file holds response URLs (anyone holding one may post as natlink for half an hour), so it and
its -wal and -shm companions are readable by their owner only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from pathlib import Path

from sqlite_utils import Database

from storage.migrations import migrate, schema_version

DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0
PRIVATE = 0o600
COMPANIONS = ("", "-wal", "-shm", "-journal")
IN_MEMORY = ("", ":memory:")

log = logging.getLogger("natlink.storage")


def open_database(path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> Database:
    """Open (creating if needed) the natlink database at ``path``, migrated to the latest schema.

    The returned ``Database`` owns one ``sqlite3`` connection usable only from the calling
    thread; open one per thread. Raises ``SchemaTooNewError`` for a database from a newer natlink.
    """
    if str(path) not in IN_MEMORY:
        _keep_private(Path(path))
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


def probe(path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> int:
    """Prove natlink can write the database at ``path`` (a write lock taken and given back, nothing
    changed) and return its schema version, without migrating: ``natlink doctor`` reports what
    ``open_database`` would apply at serve start. Raises ``OSError`` or ``sqlite3.Error``."""
    if str(path) not in IN_MEMORY:
        _keep_private(Path(path))
        if not os.access(path, os.W_OK):
            raise PermissionError(f"{path} is not writable by this user")
    conn = sqlite3.connect(str(path), timeout=busy_timeout)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return schema_version(Database(conn))
    finally:
        conn.close()


def _keep_private(path: Path) -> None:
    """Create the file 0600 before SQLite would (0644 under the usual umask); SQLite gives the
    -wal and -shm files it makes the database file's mode. Files an older natlink left readable
    by others are tightened; a chmod natlink may not make raises rather than serve them loose."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE))
    for suffix in COMPANIONS:
        _tighten(Path(f"{path}{suffix}"))


def _tighten(path: Path) -> None:
    """Take group and other permissions off ``path`` if it exists and has any."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
        log.warning("%s was open to others (mode %o); it is now %o", path, mode, mode & 0o700)


def configure(db: Database, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> None:
    """Apply the per-connection settings; none of these may run inside a transaction."""
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
