"""The operations queue: idempotent enqueue, claims that never double up, finishing, crash recovery."""

from __future__ import annotations

import functools
import multiprocessing
import sqlite3
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import operations
from storage.database import configure, open_database
from storage.errors import StateConflictError
from tests.storage.claimers import claim_until_empty
from tests.storage.conftest import T0, at


def fill(db: Database, count: int) -> list[int]:
    return [operations.enqueue(db, "create", actor="U1", args={"n": n})[0].id for n in range(count)]


def test_enqueue_records_everything(db: Database) -> None:
    op, created = operations.enqueue(
        db,
        "create",
        actor="UPROVIDER",
        args={"name": "web", "ports": [3389]},
        idempotency_key="slack:T1:trigger-1",
        reply_channel="CPROV",
        response_url="https://hooks.example/response",
        now=T0,
    )
    assert created is True
    assert (op.state, op.attempts, op.step, op.result) == ("queued", 0, None, None)
    assert op.args == {"name": "web", "ports": [3389]}
    assert op.created_at == op.updated_at == T0
    assert operations.get_operation(db, op.id) == op
    assert operations.get_operation(db, 999) is None


def test_replayed_delivery_does_not_enqueue_twice(db: Database) -> None:
    first, created = operations.enqueue(db, "approve", actor="U1", idempotency_key="k-1")
    again, created_again = operations.enqueue(db, "approve", actor="U1", idempotency_key="k-1")
    assert (created, created_again) == (True, False)
    assert again == first
    other, _ = operations.enqueue(db, "approve", actor="U1")
    unkeyed, _ = operations.enqueue(db, "approve", actor="U1")
    assert len({first.id, other.id, unkeyed.id}) == 3  # no key, no deduplication


def test_claim_takes_the_oldest_and_marks_it_running(db: Database) -> None:
    first, second = fill(db, 2)
    op = operations.claim_next(db, "w1", now=at(1))
    assert op is not None
    assert (op.id, op.state, op.worker, op.attempts) == (first, "running", "w1", 1)
    assert op.started_at == op.updated_at == at(1)
    nxt = operations.claim_next(db, "w2")
    assert nxt is not None and nxt.id == second
    assert operations.claim_next(db, "w3") is None


def test_step_and_finish(db: Database) -> None:
    (op_id,) = fill(db, 1)
    operations.claim_next(db, "w1", now=at(1))
    stepped = operations.update_step(db, op_id, "creating load balancer", now=at(2))
    assert (stepped.step, stepped.updated_at) == ("creating load balancer", at(2))
    done = operations.finish(db, op_id, "succeeded", result={"alias": "x"}, now=at(3))
    assert (done.state, done.result, done.error, done.finished_at) == (
        "succeeded",
        {"alias": "x"},
        None,
        at(3),
    )
    with pytest.raises(StateConflictError):
        operations.finish(db, op_id, "failed", error="late")
    with pytest.raises(StateConflictError):
        operations.update_step(db, op_id, "too late")


def test_finish_as_failed_and_invalid_state(db: Database) -> None:
    (op_id,) = fill(db, 1)
    operations.claim_next(db, "w1")
    with pytest.raises(ValueError, match="state must be one of"):
        operations.finish(db, op_id, "queued")  # type: ignore[arg-type]
    failed = operations.finish(db, op_id, "failed", error="QuotaExceeded")
    assert (failed.state, failed.error) == ("failed", "QuotaExceeded")


def test_finish_requires_a_claim(db: Database) -> None:
    (op_id,) = fill(db, 1)
    with pytest.raises(StateConflictError, match="queued, not running"):
        operations.finish(db, op_id, "succeeded")


def test_set_reply(db: Database) -> None:
    (op_id,) = fill(db, 1)
    op = operations.set_reply(db, op_id, "CPROV", "1700000000.000200")
    assert (op.reply_channel, op.reply_ts) == ("CPROV", "1700000000.000200")


def test_concurrent_threads_never_claim_the_same_operation(db: Database, db_path: Path) -> None:
    ids = fill(db, 60)
    barrier = threading.Barrier(8)
    claimed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        try:
            own = open_database(db_path)
            try:
                barrier.wait()
                while (op := operations.claim_next(own, name)) is not None:
                    with lock:
                        claimed.append(op.id)
            finally:
                own.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(claimed) == ids  # each exactly once
    assert {op.state for op in operations.unfinished(db)} == {"running"}


def test_two_plain_sqlite3_connections_do_not_double_claim(db: Database, db_path: Path) -> None:
    fill(db, 4)
    one = Database(sqlite3.connect(db_path, timeout=5))
    two = Database(sqlite3.connect(db_path, timeout=5))
    configure(one)
    configure(two)
    try:
        a = operations.claim_next(one, "one")
        b = operations.claim_next(two, "two")
        c = operations.claim_next(one, "one")
        d = operations.claim_next(two, "two")
        claimed = [op.id for op in (a, b, c, d) if op is not None]
        assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 4
        assert operations.claim_next(one, "one") is None
        assert operations.claim_next(two, "two") is None
    finally:
        one.close()
        two.close()


def test_separate_processes_never_claim_the_same_operation(db: Database, db_path: Path) -> None:
    ids = fill(db, 80)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(3)
        with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
            claim = functools.partial(claim_until_empty, str(db_path), barrier=barrier)
            results = list(pool.map(claim, ["p0", "p1", "p2"]))
    claimed = [op_id for won in results for op_id in won]
    assert sorted(claimed) == ids


def test_unfinished_after_a_simulated_crash(db_path: Path) -> None:
    db = open_database(db_path)
    interrupted, finished, in_flight, never_started = fill(db, 4)
    operations.claim_next(db, "w1")
    operations.claim_next(db, "w1")
    operations.finish(db, finished, "succeeded")
    operations.claim_next(db, "w1")
    db.close()  # the process "dies" with two operations running and one queued

    reopened = open_database(db_path)
    left = operations.unfinished(reopened)
    assert [(op.id, op.state) for op in left] == [
        (interrupted, "running"),
        (in_flight, "running"),
        (never_started, "queued"),
    ]
    reopened.close()


def test_requeue_or_fail_stale(db: Database) -> None:
    fresh, retryable, exhausted, waiting = fill(db, 4)
    for _ in (fresh, retryable, exhausted):
        operations.claim_next(db, "w1", now=at(0))
    # `exhausted` has used up its attempts (as if requeued and claimed again before).
    db.table("operations").update(exhausted, {"attempts": 2})
    operations.update_step(db, fresh, "still working", now=at(9))

    sweep = operations.requeue_or_fail_stale(db, older_than=timedelta(minutes=5), max_attempts=2, now=at(10))
    assert [op.id for op in sweep.requeued] == [retryable]
    assert [op.id for op in sweep.failed] == [exhausted]
    assert sweep.requeued[0].state == "queued" and sweep.requeued[0].worker is None
    assert sweep.failed[0].error == operations.STALE_ERROR
    assert sweep.failed[0].finished_at == at(10)
    states = {op.id: op.state for op in operations.unfinished(db)}
    assert states == {fresh: "running", retryable: "queued", waiting: "queued"}
    again = operations.claim_next(db, "w2", now=at(11))
    assert again is not None and again.id == retryable and again.attempts == 2


def test_list_operations_newest_first(db: Database) -> None:
    ids = fill(db, 3)
    assert [op.id for op in operations.list_operations(db, limit=2)] == ids[::-1][:2]


def test_concurrent_replays_of_one_delivery_enqueue_once(db: Database, db_path: Path) -> None:
    barrier = threading.Barrier(10)
    results: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def deliver() -> None:
        own = open_database(db_path)
        try:
            barrier.wait()
            op, created = operations.enqueue(own, "approve", actor="U1", idempotency_key="slack:retry")
        finally:
            own.close()
        with lock:
            results.append((op.id, created))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 10
    assert len({op_id for op_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_a_failed_operation_never_blocks_its_retry(db) -> None:
    first, _ = operations.enqueue(db, "approve", actor="U1", idempotency_key="decide:r-1")
    claimed = operations.claim_next(db, "w1")
    assert claimed is not None and claimed.id == first.id
    operations.finish(db, first.id, "failed", error="Conflict")
    retry, created = operations.enqueue(db, "approve", actor="U1", idempotency_key="decide:r-1")
    assert created and retry.id != first.id and retry.state == "queued"
    assert operations.get_operation(db, first.id).idempotency_key == f"decide:r-1#failed-{first.id}"
    again, created = operations.enqueue(db, "approve", actor="U1", idempotency_key="decide:r-1")
    assert not created and again.id == retry.id, "a live operation still absorbs replays"
