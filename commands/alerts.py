"""Alerts that end: a recovery marks the alert it ends as resolved, in the message that carried it.

An alert left saying "backend stopped" after the VM came back is a message that lies, and people
stop trusting the channel. When the poster has posted a recovery, it asks here which earlier
messages in that channel carried the problem it ends, and edits them in place, as PagerDuty's
incident messages do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from storage import events
from storage.records import Event

RESOLVES = {"backend_started": "backend_stopped", "probe_recovered": "probe_failing"}
"""Each recovery kind, and the problem kind it ends (for the same key: one backend, one probe)."""
RESOLVED_BY = {problem: recovery for recovery, problem in RESOLVES.items()}


@dataclass(frozen=True)
class Settled:
    """An earlier message to edit: every event it carried, which of them are now resolved, and the
    places (channel ID, ts) where Slack holds it: its channel's, or each owner's DM it went to when
    the channel refused natlink."""

    channel: str
    message_ts: str
    events: tuple[Event, ...]
    resolved: frozenset[int]
    places: tuple[tuple[str, str], ...]


def alerted(db: Database, kind: str, key: str) -> set[str]:
    """For a recovery, the channels that were told of the problem it ends: they hear it ended, even
    those that hear only problems (an owner channel by default)."""
    return events.channels_posted(db, RESOLVES[kind], key) if kind in RESOLVES else set()


def settled_by(db: Database, posted: Sequence[Event]) -> list[Settled]:
    """The earlier messages whose problems the just-posted recoveries end (each message once)."""
    found: dict[tuple[str, str], Settled] = {}
    for recovery in posted:
        key = recovery.payload.get("key")
        if recovery.kind not in RESOLVES or not key:
            continue
        alert = events.last_posted(db, recovery.channel, RESOLVES[recovery.kind], key)
        if alert is None or alert.id > recovery.id or not alert.message_ts:
            continue
        carried = tuple(events.carried_by(db, alert.channel, alert.message_ts))
        resolved = frozenset(e.id for e in carried if is_resolved(db, e))
        places = alert.places or ((alert.channel, alert.message_ts),)  # posted before places were kept
        found[(alert.channel, alert.message_ts)] = Settled(
            alert.channel, alert.message_ts, carried, resolved, places
        )
    return list(found.values())


def is_resolved(db: Database, alert: Event) -> bool:
    """Whether a recovery for the alert's key was posted in its channel after it."""
    key = alert.payload.get("key")
    if alert.kind not in RESOLVED_BY or not key:
        return False
    recovery = events.last_posted(db, alert.channel, RESOLVED_BY[alert.kind], key)
    return recovery is not None and recovery.id > alert.id
