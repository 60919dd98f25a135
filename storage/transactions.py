"""Write transactions that take the write lock up front.

sqlite-utils' own ``atomic()`` issues a plain (deferred) ``BEGIN``. In WAL mode a deferred
transaction that reads first and writes later can fail at once with ``SQLITE_BUSY`` when another
connection committed in between, and ``busy_timeout`` does not help with that. ``BEGIN IMMEDIATE``
waits (up to the busy timeout) for the write lock before reading anything, so read-check-write
sequences are serialised across threads and processes. Every storage write goes through
:func:`write`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlite_utils import Database


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """Run the block in an IMMEDIATE transaction, or a savepoint when one is already open."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
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
