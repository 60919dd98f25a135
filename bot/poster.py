"""Drain the event outbox to Slack: one message per channel per pass, and at most one a second.

Many events for one channel in one sweep become one message with a summary line on top (within
Block Kit's limits; the rest go in the next message a second later). Approval cards and digests
are messages of their own. An event is marked posted right after Slack accepts its message, so
a restart re-posts nothing that was delivered, and drops nothing that was not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlite_utils import Database

from commands import cards
from storage import events
from storage.records import Event

from . import slack_out, views

log = logging.getLogger("natlink.poster")
PER_MESSAGE = 20
MAX_ATTEMPTS = 5
GAP_SECONDS = 1.0


@dataclass
class Poster:
    slack: WebClient
    gap: float = GAP_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: dict[str, float] = field(default_factory=dict)

    def drain(self, db: Database) -> int:
        """Post everything pending; returns the number of messages posted."""
        posted = 0
        while channels := events.channels_with_pending(db, max_attempts=MAX_ATTEMPTS):
            progress = 0
            for channel in channels:
                progress += self._post_some(db, channel)
            posted += progress
            if not progress:
                break  # everything left is failing; leave it for the next pass
        return posted

    def _post_some(self, db: Database, channel: str) -> int:
        batch = events.pending(db, channel, limit=PER_MESSAGE, max_attempts=MAX_ATTEMPTS)
        singles = [e for e in batch if e.kind in ("approval_card", "digest", "reminder")]
        lines = [e for e in batch if e not in singles]
        count = 0
        for event in singles:
            count += self._send(db, [event], self._single(db, event))
        if lines:
            count += self._send(db, lines, summary(lines))
        return count

    def _single(self, db: Database, event: Event) -> views.Message | None:
        if event.kind == "approval_card":
            request = cards.current(db, event.payload["request"])
            return views.approval_card(slack_out.card_facts(request)) if request else None
        title = event.payload.get("title", "natlink")
        return views.lines_message(title, tuple(event.payload.get("lines", ())), "Nothing to report.")

    def _send(self, db: Database, batch: list[Event], message: views.Message | None) -> int:
        ids = [e.id for e in batch]
        if message is None:
            events.mark_posted(db, ids, "")
            return 0
        self._pace(batch[0].channel)
        try:
            where = batch[0].channel
            if where.startswith(("U", "W")):
                where = self.slack.conversations_open(users=where)["channel"]["id"]
            answer = self.slack.chat_postMessage(channel=where, **message.kwargs())
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            log.warning("cannot post %d events to %s: %s", len(ids), batch[0].channel, reason)
            events.mark_failed(db, ids, reason)
            return 0
        events.mark_posted(db, ids, answer["ts"])
        if batch[0].kind == "approval_card":
            cards.remember(db, batch[0].payload["request"], answer["channel"], answer["ts"])
        return 1

    def _pace(self, channel: str) -> None:
        """Slack allows about one message a second per channel; natlink keeps under that."""
        wait = self._last.get(channel, -1e9) + self.gap - self.clock()
        if wait > 0:
            self.sleep(wait)
        self._last[channel] = self.clock()


def summary(batch: list[Event]) -> views.Message:
    """Several events for one channel as one message: a count, then what happened and what to do."""
    problems = sum(e.severity == "problem" for e in batch)
    title = f"natlink: {len(batch)} change{'s' if len(batch) > 1 else ''}" + (
        f", {problems} need attention" if problems else ""
    )
    blocks = [views.header(title)]
    for event in batch:
        icon = ":rotating_light:" if event.severity == "problem" else ":information_source:"
        blocks.append(views.section(f"{icon} {event.payload.get('line', event.kind)}"))
        note = " ".join(
            p
            for p in (event.payload.get("advice"), f"Since {event.payload.get('since', '?')[:16]} UTC.")
            if p
        )
        blocks.append(views.context(f"{note} `/natlink status {event.service or ''}`".strip()))
    return views.Message(title, blocks)
