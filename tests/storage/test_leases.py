"""Leases: one holder at a time across threads and processes, expiry hands over, renewal keeps."""

from __future__ import annotations

import functools
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import leases
from storage.database import open_database
from tests.storage.claimers import race_for_leases
from tests.storage.conftest import T0, at

TTL = timedelta(minutes=5)


def test_free_lease_is_taken(db: Database) -> None:
    assert leases.current(db, "scheduler", now=T0) is None
    lease = leases.acquire(db, "scheduler", "host-a:1", TTL, now=T0)
    assert lease is not None
    assert (lease.name, lease.holder) == ("scheduler", "host-a:1")
    assert lease.acquired_at == lease.renewed_at == T0
    assert lease.expires_at == T0 + TTL
    assert lease.live_at(at(4)) and not lease.live_at(at(5))
    assert leases.current(db, "scheduler", now=at(1)) == lease


def test_live_lease_of_another_holder_is_refused(db: Database) -> None:
    mine = leases.acquire(db, "scheduler", "a", TTL, now=T0)
    assert leases.acquire(db, "scheduler", "b", TTL, now=at(4.9)) is None
    assert leases.current(db, "scheduler", now=at(4.9)) == mine  # untouched by the attempt


def test_other_names_are_independent(db: Database) -> None:
    assert leases.acquire(db, "scheduler", "a", TTL, now=T0) is not None
    assert leases.acquire(db, "digest", "b", TTL, now=T0) is not None


def test_renewal_extends_and_keeps_the_tenure(db: Database) -> None:
    leases.acquire(db, "scheduler", "a", TTL, now=T0)
    renewed = leases.acquire(db, "scheduler", "a", TTL, now=at(4))
    assert renewed is not None
    assert (renewed.acquired_at, renewed.renewed_at, renewed.expires_at) == (T0, at(4), at(9))
    # Past the first expiry but within the renewal, the lease still holds against others.
    assert leases.acquire(db, "scheduler", "b", TTL, now=at(8)) is None
    assert leases.current(db, "scheduler", now=at(8)) == renewed


def test_expiry_hands_the_lease_over(db: Database) -> None:
    leases.acquire(db, "scheduler", "a", TTL, now=T0)
    assert leases.current(db, "scheduler", now=at(5)) is None  # lapses exactly at expires_at
    taken = leases.acquire(db, "scheduler", "b", TTL, now=at(5))
    assert taken is not None
    assert (taken.holder, taken.acquired_at, taken.expires_at) == ("b", at(5), at(10))
    assert leases.acquire(db, "scheduler", "a", TTL, now=at(6)) is None  # the old holder lost it


def test_same_holder_after_expiry_starts_a_new_tenure(db: Database) -> None:
    leases.acquire(db, "scheduler", "a", TTL, now=T0)
    again = leases.acquire(db, "scheduler", "a", TTL, now=at(7))
    assert again is not None and again.acquired_at == at(7)


def test_release(db: Database) -> None:
    leases.acquire(db, "scheduler", "a", TTL, now=T0)
    assert leases.release(db, "scheduler", "b") is False  # not b's to give
    assert leases.current(db, "scheduler", now=at(1)) is not None
    assert leases.release(db, "scheduler", "a") is True
    assert leases.release(db, "scheduler", "a") is False
    assert leases.current(db, "scheduler", now=at(1)) is None
    taken = leases.acquire(db, "scheduler", "b", TTL, now=at(1))
    assert taken is not None and taken.holder == "b"


def test_late_release_by_a_former_holder_does_not_free_the_winner(db: Database) -> None:
    leases.acquire(db, "scheduler", "a", TTL, now=T0)
    leases.acquire(db, "scheduler", "b", TTL, now=at(6))
    assert leases.release(db, "scheduler", "a") is False
    current = leases.current(db, "scheduler", now=at(7))
    assert current is not None and current.holder == "b"


def test_invalid_arguments(db: Database) -> None:
    with pytest.raises(ValueError, match="positive ttl"):
        leases.acquire(db, "scheduler", "a", timedelta(0))
    with pytest.raises(ValueError, match="name and a holder"):
        leases.acquire(db, "scheduler", "", TTL)
    with pytest.raises(ValueError, match="timezone-aware"):
        leases.acquire(db, "scheduler", "a", TTL, now=T0.replace(tzinfo=None))


def test_threads_racing_for_a_lease_have_exactly_one_winner(db_path: Path) -> None:
    open_database(db_path).close()
    names = [f"lease-{n}" for n in range(15)]
    barrier = threading.Barrier(8)
    won: dict[str, list[str]] = {name: [] for name in names}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def contender(holder: str) -> None:
        try:
            own = open_database(db_path)
            try:
                for name in names:
                    barrier.wait()
                    if leases.acquire(own, name, holder, TTL) is not None:
                        with lock:
                            won[name].append(holder)
            finally:
                own.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=contender, args=(f"t{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(len(holders) == 1 for holders in won.values()), won


def test_processes_racing_for_a_lease_have_exactly_one_winner(db: Database, db_path: Path) -> None:
    names = [f"lease-{n}" for n in range(10)]
    holders = ["p0", "p1", "p2"]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(len(holders))
        with ProcessPoolExecutor(max_workers=len(holders), mp_context=context) as pool:
            race = functools.partial(race_for_leases, str(db_path), barrier=barrier, names=names)
            results = dict(zip(holders, pool.map(race, holders), strict=True))
    winners = sorted(name for won in results.values() for name in won)
    assert winners == sorted(names)  # every lease won exactly once
    for holder, won in results.items():
        for name in won:
            lease = leases.current(db, name)
            assert lease is not None and lease.holder == holder
