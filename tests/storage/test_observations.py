"""Observations: what a sweep saw, what changed since, and what must not be declared gone."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from storage import events, observations
from storage.records import NewEvent, ObservedChange
from storage.transactions import write
from tests.storage.conftest import SUB, T0, at

OTHER_SUB = "22222222-2222-2222-2222-222222222222"


def conn_id(sub: str, name: str) -> str:
    return (
        f"/subscriptions/{sub}/resourceGroups/RG-B/providers/Microsoft.Network/"
        f"privateLinkServices/pls-web/privateEndpointConnections/{name}"
    )


A = conn_id(SUB, "pe-A")
B = conn_id(SUB, "pe-B")
C = conn_id(OTHER_SUB, "pe-C")


def approved(description: str = "r-7k2m9x") -> dict[str, str]:
    return {"status": "Approved", "description": description}


def test_first_sweep_records_everything_as_appeared(db: Database) -> None:
    changes = observations.apply(db, "connection", {A: approved(), B: {"status": "Pending"}}, now=T0)
    assert [o.key for o in changes.appeared] == sorted([A.lower(), B.lower()])
    assert (changes.reappeared, changes.changed, changes.disappeared) == ((), (), ())
    assert not changes.empty
    seen = observations.get(db, "connection", A.upper())  # keys are case-insensitive
    assert seen is not None
    assert (seen.key, seen.value, seen.first_seen, seen.last_seen, seen.gone) == (
        A.lower(),
        approved(),
        T0,
        T0,
        False,
    )
    assert observations.get(db, "connection", "/subscriptions/x/none") is None
    assert observations.get(db, "endpoint", A) is None  # kinds are separate namespaces


def test_unchanged_sweep_only_moves_last_seen(db: Database) -> None:
    observations.apply(db, "connection", {A: approved()}, now=T0)
    # Same value in another key order and letter case of the key: not a change.
    changes = observations.apply(
        db, "connection", {A.upper(): {"description": "r-7k2m9x", "status": "Approved"}}, now=at(5)
    )
    assert changes.empty
    seen = observations.get(db, "connection", A)
    assert seen is not None and (seen.first_seen, seen.last_seen) == (T0, at(5))


def test_changed_value_reports_old_and_new_and_keeps_first_seen(db: Database) -> None:
    observations.apply(db, "connection", {A: {"status": "Pending"}, B: approved()}, now=T0)
    changes = observations.apply(db, "connection", {A: approved(), B: approved()}, now=at(5))
    assert changes.changed == (ObservedChange(A.lower(), {"status": "Pending"}, approved()),)
    assert (changes.appeared, changes.disappeared) == ((), ())
    seen = observations.get(db, "connection", A)
    assert seen is not None and (seen.value, seen.first_seen, seen.last_seen) == (approved(), T0, at(5))


def test_unseen_key_is_marked_gone_not_deleted(db: Database) -> None:
    observations.apply(db, "connection", {A: approved(), B: approved()}, now=T0)
    changes = observations.apply(db, "connection", {A: approved()}, now=at(5))
    assert [(o.key, o.gone_at, o.last_seen, o.value) for o in changes.disappeared] == [
        (B.lower(), at(5), T0, approved())
    ]
    everything = observations.all_of(db, "connection")
    assert set(everything) == {A.lower(), B.lower()}
    assert everything[B.lower()].gone
    assert set(observations.all_of(db, "connection", include_gone=False)) == {A.lower()}


def test_gone_key_is_reported_once_and_keeps_its_gone_at(db: Database) -> None:
    observations.apply(db, "connection", {A: approved(), B: approved()}, now=T0)
    observations.apply(db, "connection", {A: approved()}, now=at(5))
    again = observations.apply(db, "connection", {A: approved()}, now=at(10))
    assert again.empty
    gone = observations.get(db, "connection", B)
    assert gone is not None and gone.gone_at == at(5)


def test_reappearance_of_a_gone_key(db: Database) -> None:
    observations.apply(db, "connection", {A: approved(), B: approved("old")}, now=T0)
    observations.apply(db, "connection", {A: approved()}, now=at(5))
    changes = observations.apply(db, "connection", {A: approved(), B: approved("new")}, now=at(10))
    assert changes.reappeared == (ObservedChange(B.lower(), approved("old"), approved("new")),)
    assert (changes.appeared, changes.changed, changes.disappeared) == ((), (), ())
    back = observations.get(db, "connection", B)
    assert back is not None
    # A new uninterrupted presence starts: first_seen..last_seen never spans a gap.
    assert (back.gone_at, back.first_seen, back.last_seen, back.value) == (
        None,
        at(10),
        at(10),
        approved("new"),
    )


def test_keep_prefixes_protect_an_unreadable_subscription(db: Database) -> None:
    observations.apply(db, "connection", {A: approved(), C: approved()}, now=T0)
    # OTHER_SUB could not be read this time (given in upper case: prefixes match case-insensitively).
    unreadable = observations.subscription_prefixes([OTHER_SUB.upper()])
    changes = observations.apply(db, "connection", {}, keep=unreadable, now=at(5))
    assert [o.key for o in changes.disappeared] == [A.lower()]
    kept = observations.get(db, "connection", C)
    assert kept is not None and (kept.gone, kept.last_seen) == (False, T0)  # left exactly as it was


def test_keep_never_hides_what_was_seen(db: Database) -> None:
    observations.apply(db, "connection", {C: {"status": "Pending"}}, now=T0)
    changes = observations.apply(
        db, "connection", {C: approved()}, keep=observations.subscription_prefixes([OTHER_SUB]), now=at(5)
    )
    assert [c.key for c in changes.changed] == [C.lower()]


def test_keep_predicate(db: Database) -> None:
    observations.apply(db, "backend", {"vm-1": "running", "vm-2": "running"}, now=T0)
    changes = observations.apply(db, "backend", {}, keep=lambda key: key.endswith("-2"), now=at(5))
    assert [o.key for o in changes.disappeared] == ["vm-1"]


def test_keep_prefix_of_one_subscription_does_not_cover_a_longer_one(db: Database) -> None:
    longer = conn_id(SUB + "9", "pe-X")
    observations.apply(db, "connection", {longer: approved()}, now=T0)
    changes = observations.apply(
        db, "connection", {}, keep=observations.subscription_prefixes([SUB]), now=at(5)
    )
    assert [o.key for o in changes.disappeared] == [longer.lower()]


def test_keep_refuses_a_lone_string_and_empty_prefixes(db: Database) -> None:
    with pytest.raises(TypeError, match="not a single string"):
        observations.apply(db, "connection", {}, keep="/subscriptions/x/")
    with pytest.raises(ValueError, match="empty keep prefix"):
        observations.apply(db, "connection", {}, keep=[""])


def test_kinds_are_swept_independently(db: Database) -> None:
    observations.apply(db, "service", {"/x/pls-web": {"provisioning": "Succeeded"}}, now=T0)
    observations.apply(db, "backend", {}, now=at(1))
    assert not observations.get(db, "service", "/x/pls-web").gone  # type: ignore[union-attr]


def test_non_object_values_and_invalid_input(db: Database) -> None:
    changes = observations.apply(db, "nat_ip", {"10.0.0.4": ["a", "b"], "10.0.0.5": None}, now=T0)
    assert {o.key: o.value for o in changes.appeared} == {"10.0.0.4": ["a", "b"], "10.0.0.5": None}
    again = observations.apply(db, "nat_ip", {"10.0.0.4": ("a", "b"), "10.0.0.5": None}, now=at(1))
    assert again.empty  # a tuple stores as the same JSON as a list
    with pytest.raises(ValueError, match="kind must be one of"):
        observations.apply(db, "vm", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="set_meta"):
        observations.apply(db, "meta", {})
    with pytest.raises(ValueError, match="different letter case"):
        observations.apply(db, "connection", {A: approved(), A.upper(): {"status": "Pending"}})
    with pytest.raises(ValueError):
        observations.apply(db, "backend", {"vm-1": float("nan")})
    with pytest.raises(ValueError, match="needs a key"):
        observations.apply(db, "backend", {"": "running"})


def test_failed_apply_changes_nothing(db: Database) -> None:
    observations.apply(db, "connection", {A: approved()}, now=T0)
    with pytest.raises(ValueError):
        observations.apply(db, "connection", {B: approved(), "bad": float("inf")}, now=at(1))
    assert set(observations.all_of(db, "connection")) == {A.lower()}
    assert not observations.get(db, "connection", A).gone  # type: ignore[union-attr]


def test_meta(db: Database) -> None:
    assert observations.meta(db, "last_sweep") is None
    assert observations.meta(db, "last_sweep", "never") == "never"
    first = observations.set_meta(db, "last_sweep", {"ok": True}, now=T0)
    assert (first.kind, first.key, first.value, first.first_seen, first.last_seen) == (
        "meta",
        "last_sweep",
        {"ok": True},
        T0,
        T0,
    )
    observations.set_meta(db, "Last_Sweep", {"ok": False}, now=at(5))
    assert observations.meta(db, "last_sweep") == {"ok": False}
    stored = observations.get(db, "meta", "last_sweep")
    assert stored is not None and (stored.first_seen, stored.last_seen) == (T0, at(5))
    observations.set_meta(db, "sweeps", 3)
    assert observations.meta(db, "sweeps") == 3
    assert set(observations.all_of(db, "meta")) == {"last_sweep", "sweeps"}


def test_apply_and_outbox_commit_together_or_not_at_all(db: Database) -> None:
    observations.apply(db, "connection", {A: {"status": "Pending"}}, now=T0)

    def sweep(crash: bool) -> None:
        with write(db):
            changes = observations.apply(db, "connection", {A: approved()}, now=at(5))
            items = [
                NewEvent(f"status:{c.key}:{c.new['status']}:CPROV", "CPROV", "Web", "status", "info", c.new)
                for c in changes.changed
            ]
            events.add_many(db, items, now=at(5))
            if crash:
                raise RuntimeError("killed between recording and committing")

    with pytest.raises(RuntimeError):
        sweep(crash=True)
    assert observations.get(db, "connection", A).value == {"status": "Pending"}  # type: ignore[union-attr]
    assert events.pending(db) == []
    sweep(crash=False)  # the re-run finds the same change and records it with its event
    assert [e.payload for e in events.pending(db)] == [approved()]
