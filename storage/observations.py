"""The ``observations`` table: what the last sweep saw, so the next one can tell what changed.

Rows are keyed by ``(kind, key)``: the kind of resource and its lower-cased ARM id (or a composite
string such as ``"<lb id>|<probe name>"``, lower-cased too). ``value`` is whatever JSON the
sweep wants to compare next time (a connection's status and description, a backend's power
state...). A resource that disappears is not deleted but marked ``gone_at``, so nothing that
refers to it is left dangling and a later reappearance is noticed.

:func:`apply` records one sweep of one kind in one transaction and returns the
:class:`~storage.records.Changes`. To turn changes into notifications without dropping or
repeating any across a crash, run it and :func:`storage.events.add_many` in one transaction::

    with write(db):
        changes = observations.apply(db, "connection", seen, keep=unreadable_prefixes, now=now)
        events.add_many(db, events_for(changes), now=now)

If the process dies before the commit, neither the observations nor the events are recorded and
the next sweep finds the same changes again; after it, the events wait in the outbox.

The ``meta`` kind holds natlink's own facts (``set_meta``/``meta``, e.g. the last sweep time);
:func:`apply` refuses it, since a sweep of "meta" would mark every other fact gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import dump_json_value, load_json_value, require_choice
from storage.records import OBSERVATION_KINDS, Changes, Observation, ObservationKind, ObservedChange
from storage.transactions import write

TABLE = "observations"
META: ObservationKind = "meta"

Keep = Callable[[str], bool] | Iterable[str]
"""Keys an :func:`apply` must not mark gone: a predicate on the (lower-cased) key, or key prefixes."""


def subscription_prefixes(subscriptions: Iterable[str]) -> tuple[str, ...]:
    """Key prefixes covering every ARM id in these subscriptions, for :func:`apply`'s ``keep``.

    Each ends in ``/`` so that one subscription id never covers another that merely starts with it.
    """
    return tuple(f"/subscriptions/{sub.strip('/').lower()}/" for sub in subscriptions)


def get(db: Database, kind: ObservationKind, key: str) -> Observation | None:
    """The observation of ``key`` (any letter case), gone or not, or ``None`` if never seen."""
    require_choice(kind, OBSERVATION_KINDS, "kind")
    for row in db.table(TABLE).rows_where("kind = ? AND key = ?", [kind, _key(key)], limit=1):
        return _record(row)
    return None


def all_of(db: Database, kind: ObservationKind, *, include_gone: bool = True) -> dict[str, Observation]:
    """Every observation of ``kind`` by key, in key order; ``include_gone=False`` for live ones only."""
    require_choice(kind, OBSERVATION_KINDS, "kind")
    where = "kind = ?" if include_gone else "kind = ? AND gone_at IS NULL"
    rows = db.table(TABLE).rows_where(where, [kind], order_by="key")
    return {row["key"]: _record(row) for row in rows}


def apply(
    db: Database,
    kind: ObservationKind,
    seen: Mapping[str, Any],
    *,
    keep: Keep | None = None,
    now: datetime | None = None,
) -> Changes:
    """Record one sweep of ``kind`` (``seen``: key to JSON value) and return what changed.

    In one transaction: every seen key is upserted (``last_seen = now``; ``first_seen`` kept for a
    key that stayed, set to ``now`` for a new or returning one; ``gone_at`` cleared), and every key
    recorded as present but not seen is marked ``gone_at = now`` unless ``keep`` covers it.

    ``keep`` protects what this sweep could not see, typically the resources of subscriptions it
    failed to read: pass a predicate ``keep(key) -> bool`` or an iterable of key prefixes (see
    :func:`subscription_prefixes`); both are matched against lower-cased keys. Kept keys are left
    exactly as they were (not gone, ``last_seen`` unchanged); ``keep`` never stops a key that *was*
    seen from being recorded. Keys already gone stay gone, with their original ``gone_at``.

    Keys are lower-cased; two keys of ``seen`` that differ only in case must carry equal values.
    Values compare as canonical JSON, so key order in a dict or tuple-versus-list is not a change.
    """
    require_choice(kind, OBSERVATION_KINDS, "kind")
    if kind == META:
        raise ValueError("apply() does not sweep 'meta'; use set_meta()")
    kept = keeper(keep)
    wanted = _normalise(seen)
    at = clock.stamp(now)
    appeared: list[str] = []
    reappeared: list[ObservedChange] = []
    changed: list[ObservedChange] = []
    disappeared: list[str] = []
    with write(db):
        recorded = {
            row["key"]: row
            for row in db.query(f"SELECT key, value, gone_at FROM {TABLE} WHERE kind = ?", [kind])
        }
        inserts: list[dict[str, Any]] = []
        fresh: list[dict[str, Any]] = []  # new value and/or a new presence interval
        touched: list[dict[str, Any]] = []  # same value, still there
        for key, text in sorted(wanted.items()):
            row = recorded.get(key)
            params = {"kind": kind, "key": key, "value": text, "at": at}
            if row is None:
                inserts.append(params)
                appeared.append(key)
            elif row["gone_at"] is not None:
                fresh.append({**params, "first_seen": at})
                reappeared.append(ObservedChange(key, load_json_value(row["value"]), load_json_value(text)))
            elif row["value"] != text:
                fresh.append({**params, "first_seen": None})
                changed.append(ObservedChange(key, load_json_value(row["value"]), load_json_value(text)))
            else:
                touched.append(params)
        for key, row in sorted(recorded.items()):
            if row["gone_at"] is None and key not in wanted and not kept(key):
                disappeared.append(key)
        db.conn.executemany(
            f"INSERT INTO {TABLE} (kind, key, value, first_seen, last_seen, gone_at) "
            "VALUES (:kind, :key, :value, :at, :at, NULL)",
            inserts,
        )
        db.conn.executemany(
            f"UPDATE {TABLE} SET value = :value, last_seen = :at, gone_at = NULL, "
            "first_seen = coalesce(:first_seen, first_seen) WHERE kind = :kind AND key = :key",
            fresh,
        )
        db.conn.executemany(f"UPDATE {TABLE} SET last_seen = :at WHERE kind = :kind AND key = :key", touched)
        db.conn.executemany(
            f"UPDATE {TABLE} SET gone_at = ? WHERE kind = ? AND key = ?",
            [(at, kind, key) for key in disappeared],
        )
        return Changes(
            kind=kind,
            appeared=tuple(_require(db, kind, key) for key in appeared),
            reappeared=tuple(reappeared),
            changed=tuple(changed),
            disappeared=tuple(_require(db, kind, key) for key in disappeared),
        )


def set_meta(db: Database, name: str, value: Any, *, now: datetime | None = None) -> Observation:
    """Record one of natlink's own facts (any JSON value); ``last_seen`` says when it was set."""
    key = _key(name)
    text = dump_json_value(value)
    at = clock.stamp(now)
    with write(db):
        db.execute(
            f"INSERT INTO {TABLE} (kind, key, value, first_seen, last_seen, gone_at) "
            "VALUES (?, ?, ?, ?, ?, NULL) "
            "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, last_seen = excluded.last_seen",
            [META, key, text, at, at],
        )
        return _require(db, META, key)


def meta(db: Database, name: str, default: Any = None) -> Any:
    """The value :func:`set_meta` last stored under ``name``, or ``default``."""
    found = get(db, META, name)
    return default if found is None else found.value


def keeper(keep: Keep | None) -> Callable[[str], bool]:
    """Turn ``keep`` into a predicate on lower-cased keys (for callers that judge absences themselves)."""
    if keep is None:
        return lambda key: False
    if isinstance(keep, str):
        # A lone string would be iterated as one-letter prefixes and keep nearly everything.
        raise TypeError("keep takes a predicate or an iterable of prefixes, not a single string")
    if callable(keep):
        return keep
    prefixes = tuple(prefix.lower() for prefix in keep)
    if any(not prefix for prefix in prefixes):
        raise ValueError("an empty keep prefix would keep every key")
    return lambda key: key.startswith(prefixes)


def _normalise(seen: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased keys to canonical JSON, refusing keys that collide with different values."""
    wanted: dict[str, str] = {}
    for raw, value in seen.items():
        key = _key(raw)
        text = dump_json_value(value)
        if wanted.setdefault(key, text) != text:
            raise ValueError(f"{raw!r} was seen twice (in different letter case) with different values")
    return wanted


def _key(key: str) -> str:
    """The stored form of a key: lower case (ARM ids are case-insensitive)."""
    if not key:
        raise ValueError("an observation needs a key")
    return key.lower()


def _require(db: Database, kind: ObservationKind, key: str) -> Observation:
    """An observation just written (so it exists)."""
    found = get(db, kind, key)
    assert found is not None
    return found


def _record(row: dict[str, Any]) -> Observation:
    """Row to record: decode JSON and instants."""
    return Observation(
        kind=row["kind"],
        key=row["key"],
        value=load_json_value(row["value"]),
        first_seen=clock.from_text(row["first_seen"]),
        last_seen=clock.from_text(row["last_seen"]),
        gone_at=clock.maybe_from_text(row["gone_at"]),
    )
