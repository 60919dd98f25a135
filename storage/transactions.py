"""Write transactions that take the write lock up front.

sqlite-utils' own ``atomic()`` issues a plain (deferred) ``BEGIN``. In WAL mode a deferred
transaction that reads first and writes later can fail at once with ``SQLITE_BUSY`` when another
connection committed in between, and ``busy_timeout`` does not help with that. ``BEGIN IMMEDIATE``
waits (up to the busy timeout) for the write lock before reading anything, so read-check-write
sequences are serialised across threads and processes. Every storage write goes through
:func:`write`.

Within one process, writers also queue on a lock of their own first. SQLite's busy handler waits
by sleeping in growing steps (up to 100 ms), so twenty threads contending for the write lock form
a convoy with a long tail; a Python lock hands the turn to the next writer the moment it is free.
Other processes still meet SQLite's lock and its busy timeout.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from sqlite_utils import Database

_WRITERS = threading.RLock()  # one writer at a time in this process; see the module docstring


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """Run the block in an IMMEDIATE transaction, or a savepoint when one is already open."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with _WRITERS:
        yield from _immediate(db)


def _immediate(db: Database) -> Iterator[Database]:
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    try:
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
