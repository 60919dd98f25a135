"""The notification outbox: deduplicated adds, claimed then posted exactly once, surviving restarts."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import events
from storage.database import open_database
from storage.errors import StateConflictError
from storage.records import NewEvent
from tests.storage.conftest import T0, at


def item(key: str, channel: str = "CPROV", **overrides: object) -> NewEvent:
    fields: dict[str, object] = {
        "dedup_key": key,
        "channel": channel,
        "service": "Web",
        "kind": "connection_approved",
        "severity": "info",
        "payload": {"pe": "pe-A"},
    }
    fields.update(overrides)
    return NewEvent(**fields)  # type: ignore[arg-type]


def test_add_records_everything(db: Database) -> None:
    event, created = events.add(
        db, "k1", "CPROV", "Web", "backend_down", "problem", {"vm": "VM-Win2019-2"}, now=T0
    )
    assert created is True
    assert (event.dedup_key, event.channel, event.service, event.kind, event.severity) == (
        "k1",
        "CPROV",
        "Web",
        "backend_down",
        "problem",
    )
    assert (event.payload, event.created_at, event.posted, event.message_ts, event.attempts) == (
        {"vm": "VM-Win2019-2"},
        T0,
        False,
        None,
        0,
    )
    assert events.get_event(db, event.id) == event
    assert events.get_event(db, 999) is None


def test_repeated_key_adds_nothing(db: Database) -> None:
    first, _ = events.add(db, "conn:/SUBSCRIPTIONS/X/pe-a:approved", "CPROV", "Web", "k", "info", {"n": 1})
    again, created = events.add(
        db, "conn:/subscriptions/x/PE-A:approved", "CPROV", "Web", "k", "info", {"n": 2}
    )
    assert created is False
    assert again == first  # case-insensitive key; the first payload stands
    assert len(events.pending(db)) == 1


def test_repeated_key_for_another_channel_is_a_caller_bug(db: Database) -> None:
    events.add(db, "k1", "CPROV", "Web", "k", "info")
    with pytest.raises(StateConflictError, match="put the channel in the key"):
        events.add(db, "k1", "COTHER", "Web", "k", "info")


def test_add_many_is_one_transaction(db: Database) -> None:
    results = events.add_many(db, [item("a"), item("b", "COTHER"), item("a")], now=T0)
    assert [(e.dedup_key, created) for e, created in results] == [("a", True), ("b", True), ("a", False)]
    with pytest.raises(ValueError, match="severity must be one of"):
        events.add_many(db, [item("c"), item("d", severity="urgent")])
    assert events.pending(db, limit=10) == [results[0][0], results[1][0]]  # "c" was rolled back


def test_invalid_events(db: Database) -> None:
    with pytest.raises(ValueError, match="needs a channel"):
        events.add(db, "k", "", "Web", "k", "info")
    with pytest.raises(ValueError, match="needs a dedup_key"):
        events.add(db, "", "C1", "Web", "k", "info")
    with pytest.raises(ValueError, match="needs a kind"):
        events.add(db, "k", "C1", "Web", "", "info")
    with pytest.raises(ValueError, match="needs the message's ts"):
        events.mark_posted(db, [1], "")


def test_pending_is_oldest_first_per_channel(db: Database) -> None:
    ids = [e.id for e, _ in events.add_many(db, [item("1", "C1"), item("2", "C2"), item("3", "C1")])]
    assert [e.id for e in events.pending(db)] == ids
    assert [e.id for e in events.pending(db, "C1")] == [ids[0], ids[2]]
    assert [e.id for e in events.pending(db, limit=1)] == [ids[0]]
    assert events.channels_to_claim(db) == ["C1", "C2"]


def test_posted_events_are_not_pending(db: Database) -> None:
    (a, _), (b, _), (c, _) = events.add_many(db, [item("1", "C1"), item("2", "C1"), item("3", "C2")])
    assert (
        events.mark_posted(db, [a.id, b.id], "1700000000.000100", now=at(1)) == 2
    )  # one message, two events
    assert [e.id for e in events.pending(db)] == [c.id]
    assert events.channels_to_claim(db) == ["C2"]
    assert [e.id for e in events.claim(db, "drainer", now=at(2))] == [c.id]
    posted = events.get_event(db, a.id)
    assert posted is not None and (posted.posted, posted.posted_at, posted.message_ts) == (
        True,
        at(1),
        "1700000000.000100",
    )
    # Marking again (a replay after a crash) does not move the record to another message.
    assert events.mark_posted(db, [a.id], "1700000000.000999") == 0
    assert events.get_event(db, a.id).message_ts == "1700000000.000100"  # type: ignore[union-attr]
    assert events.release(db, [a.id], "drainer", "late") == 0
    # Where Slack holds the message: each owner's DM, when the channel refused natlink.
    places = (("D0ALICE", "1700000000.000200"), ("D0BOB", "1700000000.000300"))
    assert events.mark_posted(db, [c.id], "1700000000.000200", places=places) == 1
    assert events.get_event(db, c.id).places == places  # type: ignore[union-attr]
    assert posted.places == ()


def test_a_claim_takes_the_oldest_and_records_who(db: Database) -> None:
    ids = [e.id for e, _ in events.add_many(db, [item("1", "C1"), item("2", "C2"), item("3", "C1")])]
    taken = events.claim(db, "host:1:a", "C1", limit=1, now=at(1))
    assert [(e.id, e.claimed_by, e.claimed_at) for e in taken] == [(ids[0], "host:1:a", at(1))]
    assert events.get_event(db, ids[0]) == taken[0]
    assert [e.id for e in events.claim(db, "host:1:b", now=at(1))] == ids[1:]  # the rest, oldest first
    assert events.claim(db, "host:1:c", now=at(1)) == [] and events.channels_to_claim(db, now=at(1)) == []
    assert [e.id for e in events.pending(db)] == ids  # claimed is not posted
    with pytest.raises(ValueError, match="needs a claimer"):
        events.claim(db, "")


def test_a_crashed_drainers_claims_become_claimable_after_the_stale_limit(db: Database) -> None:
    (a, _), _ = events.add_many(db, [item("1", "C1"), item("2", "C2")])
    stale = timedelta(minutes=5)
    assert len(events.claim(db, "crashed", now=T0, stale_after=stale)) == 2  # ...and then it died
    almost = T0 + stale - timedelta(microseconds=1)
    assert events.claim(db, "alive", now=almost, stale_after=stale) == []
    assert events.channels_to_claim(db, now=almost, stale_after=stale) == []
    assert events.channels_to_claim(db, now=T0 + stale, stale_after=stale) == ["C1", "C2"]
    retaken = events.claim(db, "alive", "C1", now=T0 + stale, stale_after=stale)
    assert [(e.id, e.claimed_by, e.claimed_at) for e in retaken] == [(a.id, "alive", T0 + stale)]
    # The dead drainer's late failure report cannot free a claim it no longer holds.
    assert events.release(db, [a.id], "crashed", "timeout") == 0
    assert events.get_event(db, a.id).claimed_by == "alive"  # type: ignore[union-attr]


def test_release_counts_the_failure_and_max_attempts_skips_poison(db: Database) -> None:
    (a, _), (b, _) = events.add_many(db, [item("1", "C1"), item("2", "C2")])
    for attempt in (1, 2):
        (claimed,) = events.claim(db, f"drainer-{attempt}", "C1", now=at(attempt))
        assert events.release(db, [claimed.id], f"drainer-{attempt}", "channel_not_found") == 1
    failed = events.get_event(db, a.id)
    assert failed is not None and (failed.attempts, failed.last_error, failed.posted) == (
        2,
        "channel_not_found",
        False,
    )
    assert (failed.claimed_by, failed.claimed_at) == (None, None)  # free again: the next pass retries
    assert [e.id for e in events.pending(db)] == [a.id, b.id]
    assert [e.id for e in events.pending(db, max_attempts=2)] == [b.id]
    assert events.channels_to_claim(db, max_attempts=2) == ["C2"]
    assert [e.id for e in events.claim(db, "drainer-3", max_attempts=2)] == [b.id]


def test_threads_racing_to_claim_take_each_event_once(db: Database, db_path: Path) -> None:
    """Two drainers (a job's own post and the post job) drain at once: each event goes to one."""
    channels = ("C1", "C2", "C3")
    added = events.add_many(db, [item(str(n), channels[n % 3]) for n in range(300)])
    barrier = threading.Barrier(2)
    won: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def drainer(name: str) -> None:
        try:
            own = open_database(db_path)
            try:
                barrier.wait()
                while batch := events.claim(own, name, limit=7):
                    won[name].extend(e.id for e in batch)
                    time.sleep(0.001)  # posting: the other drainer claims meanwhile
            finally:
                own.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drainer, args=(name,)) for name in won]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(won["a"] + won["b"]) == sorted(e.id for e, _ in added)  # each event claimed once
    assert won["a"] and won["b"], "both drainers took part, so the race really ran"
    owners = {e.id: e.claimed_by for e in events.pending(db, limit=300)}
    assert all(owners[i] == name for name, ids in won.items() for i in ids)


def test_pending_survives_reopening_the_database(db_path: Path) -> None:
    db = open_database(db_path)
    (a, _), (b, _) = events.add_many(db, [item("1"), item("2")], now=T0)
    events.mark_posted(db, [a.id], "1700000000.000100")
    db.close()  # the process "dies" after posting a, before posting b

    reopened = open_database(db_path)
    try:
        assert [e.id for e in events.pending(reopened)] == [b.id]
        # The restarted sweep re-derives both events: neither is queued again.
        again = events.add_many(reopened, [item("1"), item("2")], now=at(9))
        assert [created for _, created in again] == [False, False]
        assert [e.id for e in events.pending(reopened)] == [b.id]
    finally:
        reopened.close()


def test_recent_newest_first_by_service(db: Database) -> None:
    events.add_many(
        db, [item("1"), item("2", service="Other"), item("3", service="WEB"), item("4", service=None)]
    )
    assert [e.dedup_key for e in events.recent(db)] == ["4", "3", "2", "1"]
    assert [e.dedup_key for e in events.recent(db, "web")] == ["3", "1"]
    assert [e.dedup_key for e in events.recent(db, limit=1)] == ["4"]


def test_threads_adding_one_key_create_one_event(db: Database, db_path: Path) -> None:
    barrier = threading.Barrier(10)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sweeper() -> None:
        try:
            own = open_database(db_path)
            try:
                barrier.wait()
                outcome = [
                    (event.id, created)
                    for event, created in events.add_many(own, [item("shared"), item("also-shared", "C2")])
                ]
            finally:
                own.close()
            with lock:
                results.extend(outcome)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 20
    assert len({event_id for event_id, _ in results}) == 2
    assert sum(created for _, created in results) == 2
    assert len(events.pending(db)) == 2
