"""A queue worker run in a separate process by the operations tests (importable for ``spawn``)."""

from __future__ import annotations

from multiprocessing.synchronize import Barrier

from storage import operations
from storage.database import open_database


def claim_until_empty(path: str, worker: str, barrier: Barrier) -> list[int]:
    """Claim operations until the queue is empty; return the ids this process won."""
    db = open_database(path)
    try:
        barrier.wait()
        won: list[int] = []
        while (op := operations.claim_next(db, worker)) is not None:
            won.append(op.id)
        return won
    finally:
        db.close()
