"""Workers run in separate processes by the storage tests (importable for ``spawn``)."""

from __future__ import annotations

from datetime import timedelta
from multiprocessing.synchronize import Barrier

from storage import leases, operations
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


def race_for_leases(path: str, holder: str, barrier: Barrier, names: list[str]) -> list[str]:
    """Try to take each named lease right after the other processes start; return those won."""
    db = open_database(path)
    try:
        won: list[str] = []
        for name in names:
            barrier.wait()
            if leases.acquire(db, name, holder, timedelta(minutes=5)) is not None:
                won.append(name)
        return won
    finally:
        db.close()
