"""Drain the event outbox to Slack: one message per channel per pass, and at most one a second.

Many events for one channel in one sweep become one message with a summary line on top (within
Block Kit's limits; the rest go in the next message a second later). Approval cards, digests and
reminders are messages of their own, and so is each follow-up about a request whose card is in
the channel: it goes in the card's thread (``commands.cards.thread``). Channels are posted in
parallel (a bounded pool, so a slow Slack answer for one channel does not hold up fifty others),
while the database work stays on the draining thread.

Claim, then post (invariant 5, see :mod:`storage.events`): several drains run at once (each
scheduler job's own and the post job's), so a drain posts only what it has claimed. It marks an
event posted as soon as Slack accepts its message, or releases the claim and counts the failure;
a drain that dies holding claims leaves them to be taken again after ``stale_after``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlite_utils import Database

from commands import alerts, cards
from storage import events, owners
from storage.records import Event

from . import slack_out, views

log = logging.getLogger("natlink.poster")
PER_MESSAGE = 20
MAX_ATTEMPTS = 5
GAP_SECONDS = 1.0
CHANNELS_AT_ONCE = 8
SINGLES = ("approval_card", "digest", "reminder")
GONE = "nothing to post: the event's request is gone"
_UNEDITABLE = {
    "message_not_found": "that message was deleted",
    "channel_not_found": "natlink can no longer see its channel, so it may still say it needs attention",
    "not_in_channel": "natlink was removed from its channel, so it may still say it needs attention",
    "is_archived": "its channel is archived, so it still says it needs attention",
}
"""Why an alert message could not be marked resolved, in the words its owners read."""


def drain_name() -> str:
    """A fresh claimer for one drain: which host and process, and which of its drains, holds an event."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Outgoing:
    """One message to post, and the events it carries; ``owners`` get it by DM when the channel
    refuses natlink (it was never invited, or was removed): nothing is only logged."""

    channel: str
    events: tuple[Event, ...]
    message: views.Message | None
    owners: tuple[str, ...] = ()
    thread: str | None = None  # the card's ts: a request's follow-up goes in its card's thread


@dataclass(frozen=True)
class Sent:
    outgoing: Outgoing
    channel_id: str = ""
    ts: str = ""
    error: str = ""
    places: tuple[tuple[str, str], ...] = ()  # every (channel ID, ts) Slack holds it at


@dataclass
class Poster:
    slack: WebClient
    gap: float = GAP_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    stale_after: timedelta = events.CLAIM_STALE
    portal: str | None = None  # the portal's home, for the cards' links (issue 12)
    _last: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def drain(self, db: Database, *, now: datetime | None = None) -> int:
        """Claim, post and record everything claimable; returns the number of messages posted.

        ``now`` is when claims are taken and judged stale (tests pass their own clock).
        """
        claimer, posted = drain_name(), 0
        with ThreadPoolExecutor(CHANNELS_AT_ONCE, thread_name_prefix="natlink-poster") as pool:
            while channels := events.channels_to_claim(
                db, max_attempts=MAX_ATTEMPTS, stale_after=self.stale_after, now=now
            ):
                plans = [self._plan(db, channel, claimer, now) for channel in channels]
                results = list(pool.map(self._post_channel, plans))
                sent = [self._record(db, s, claimer) for batch in results for s in batch]
                posted += sum(sent)
                if not any(sent):
                    break  # everything left is failing, or another drain holds it; the next pass tries
        return posted

    def _plan(self, db: Database, channel: str, claimer: str, now: datetime | None) -> list[Outgoing]:
        """The next messages for ``channel``, from the events this drain claimed: each card, digest or
        reminder alone, the rest as one summary."""
        batch = events.claim(
            db,
            claimer,
            channel,
            limit=PER_MESSAGE,
            max_attempts=MAX_ATTEMPTS,
            stale_after=self.stale_after,
            now=now,
        )
        threads = {e.id: _thread(db, e) for e in batch}
        singles = [
            Outgoing(channel, (e,), self._single(db, e), _owners(db, (e,)), threads[e.id])
            for e in batch
            if e.kind in SINGLES or threads[e.id]
        ]
        lines = tuple(e for e in batch if e.kind not in SINGLES and not threads[e.id])
        return singles + (
            [Outgoing(channel, lines, summary(list(lines)), _owners(db, lines))] if lines else []
        )

    def _single(self, db: Database, event: Event) -> views.Message | None:
        if event.kind == "approval_card":
            request = cards.current(db, event.payload["request"])
            return views.approval_card(slack_out.card_facts(request, db, self.portal)) if request else None
        if "line" in event.payload:  # a change about one request, alone in its card's thread
            return summary([event])
        title = event.payload.get("title", "natlink")
        return views.lines_message(title, tuple(event.payload.get("lines", ())), "Nothing to report.")

    def _post_channel(self, plan: list[Outgoing]) -> list[Sent]:
        """Runs on a pool thread: Slack calls only, paced per channel."""
        return [self._send(outgoing) for outgoing in plan]

    def _send(self, outgoing: Outgoing) -> Sent:
        if outgoing.message is None:
            return Sent(outgoing)
        self._pace(outgoing.channel)
        try:
            answer = slack_out.post_in_thread(
                self.slack, self._where(outgoing.channel), outgoing.thread, outgoing.message
            )
        except SlackApiError as error:
            code = str(error.response.get("error"))
            log.warning("chat.postMessage to %s failed: %s", outgoing.channel, code)
            if code in slack_out.UNREACHABLE and outgoing.owners:
                return self._to_owners(outgoing, code)
            return Sent(outgoing, error=code)
        finally:
            self._stamp(outgoing.channel)
        return Sent(outgoing, answer["channel"], answer["ts"], places=((answer["channel"], answer["ts"]),))

    def _where(self, channel: str) -> str:
        """A channel ID as chat methods take it: a user's events go to the DM with that user."""
        if channel.startswith(("U", "W")):
            return str(self.slack.conversations_open(users=channel)["channel"]["id"])
        return channel

    def _settle(self, db: Database, posted: tuple[Event, ...]) -> None:
        """Mark the problems these recoveries end as resolved, in every place Slack holds the
        messages that carried them (the owners' DMs, when the channel refused natlink). The
        recovery itself is already posted; a message Slack will not edit is told to the owners."""
        for settled in alerts.settled_by(db, posted):
            message = summary(list(settled.events), settled.resolved)
            failed = ""
            for channel, ts in settled.places:
                try:
                    self.slack.chat_update(channel=self._where(channel), ts=ts, **message.kwargs())
                except SlackApiError as error:
                    failed = str(error.response.get("error"))
                    log.warning("cannot mark %s in %s resolved: %s", ts, channel, failed)
            if failed:
                self._unsettled(db, settled, failed)

    def _unsettled(self, db: Database, settled: alerts.Settled, code: str) -> None:
        """An alert message Slack would not mark resolved (deleted, or out of natlink's reach): its
        owners hear, by DM, that the problems it showed are over, so nobody chases them."""
        ended = [e for e in settled.events if e.id in settled.resolved]
        lines = [f":white_check_mark: ~{e.payload.get('line', e.kind)}~ resolved" for e in ended]
        why = _UNEDITABLE.get(
            code, f"Slack would not edit it ({code}), so it may still say it needs attention"
        )
        note = views.context(f"natlink could not mark its earlier alert about this as resolved: {why}.")
        said = "\n".join(lines)
        said = said if len(said) <= views.MAX_SECTION else views.unlinked(said)  # a cut would break a link
        message = views.Message("natlink: an alert is resolved", [views.section(said), note])
        told = False
        for owner in _owners(db, settled.events):
            try:
                dm = self.slack.conversations_open(users=owner)["channel"]["id"]
                self.slack.chat_postMessage(channel=dm, **message.kwargs())
                told = True
            except SlackApiError as failed:
                log.warning("chat.postMessage to owner %s failed: %s", owner, failed.response.get("error"))
        if not told:
            log.error("nobody could be told that %s in %s is resolved", settled.message_ts, settled.channel)

    def _to_owners(self, outgoing: Outgoing, code: str) -> Sent:
        """The channel refused natlink: each owner of the services gets the message by DM, saying
        why and what to do. Sent (so posted) once one owner has it."""
        assert outgoing.message is not None
        note = views.context(
            f":warning: natlink cannot post in <#{outgoing.channel}> ({code}): {slack_out.INVITE}."
        )
        message = views.Message(outgoing.message.text, [*outgoing.message.blocks, note])
        places: list[tuple[str, str]] = []
        error = code
        for owner in outgoing.owners:
            try:
                dm = self.slack.conversations_open(users=owner)["channel"]["id"]
                answer = self.slack.chat_postMessage(channel=dm, **message.kwargs())
            except SlackApiError as failed:
                error = str(failed.response.get("error"))
                log.warning("chat.postMessage to owner %s failed: %s", owner, error)
                continue
            places.append((answer["channel"], answer["ts"]))
        if not places:
            return Sent(outgoing, error=error)
        return Sent(outgoing, *places[0], places=tuple(places))

    def _record(self, db: Database, sent: Sent, claimer: str) -> int:
        """Back on the draining thread: mark what Slack accepted, give back what it did not (counting
        the failure), remember cards."""
        ids = [e.id for e in sent.outgoing.events]
        if not sent.ts:
            error = sent.error or GONE
            log.warning("cannot post %d events to %s: %s", len(ids), sent.outgoing.channel, error)
            events.release(db, ids, claimer, error)
            return 0
        events.mark_posted(db, ids, sent.ts, places=sent.places)
        self._settle(db, sent.outgoing.events)
        first = sent.outgoing.events[0]
        if first.kind == "approval_card":
            cards.remember(db, first.payload["request"], sent.channel_id, sent.ts)
        return 1

    def _pace(self, channel: str) -> None:
        """Slack allows about one message a second per channel; natlink keeps under that."""
        with self._lock:
            wait = self._last.get(channel, -1e9) + self.gap - self.clock()
        if wait > 0:
            self.sleep(wait)

    def _stamp(self, channel: str) -> None:
        """Taken once Slack has answered, so the gap holds as Slack sees it, not only as natlink sends."""
        with self._lock:
            self._last[channel] = self.clock()


def _thread(db: Database, event: Event) -> str | None:
    """The card's ts when the event is a follow-up about a request whose card is in the event's
    channel (a reminder, an expiry, a change made in the portal); a DM to a person stays a DM."""
    if event.kind == "approval_card":
        return None
    return cards.thread(db, event.payload.get("request"), event.channel)


def _owners(db: Database, batch: tuple[Event, ...]) -> tuple[str, ...]:
    """Who hears these events by DM when their channel refuses natlink: the services' owners."""
    names = dict.fromkeys(e.service for e in batch if e.service)
    return tuple(dict.fromkeys(o.user_id for name in names for o in owners.list_owners(db, name)))


def headline(batch: list[Event], resolved: frozenset[int] = frozenset()) -> str:
    """What a phone's lock screen shows of a summary: the service and its problem when there is
    one ("rdp-vmb: backend VM-Win2019-2 stopped"), else which services need attention or changed.
    A lone event's line is mrkdwn, made plain by ``summary`` (its mentions named as it is sent)."""
    open_ = [e for e in batch if e.severity == "problem" and e.id not in resolved]
    services = list(dict.fromkeys(e.service or "natlink" for e in (open_ or batch)))
    lead = open_[0] if open_ else batch[0]
    if not open_ and resolved:
        return f"{', '.join(services)}: all resolved"
    if len(open_ if open_ else batch) == 1:
        more = len(batch) - 1
        line = str(lead.payload.get("line", lead.kind))
        return line + (f" (+{views.plural(more, 'more change', 'more changes')})" if more else "")
    names = ", ".join(services)
    if open_ and len(services) == 1:
        return f"{names}: {len(open_)} problems need attention"
    if open_:
        return f"{views.plural(len(services), 'service')} need attention: {names}"
    return f"{names}: {views.plural(len(batch), 'change')}"


def summary(batch: list[Event], resolved: frozenset[int] = frozenset(), plain: bool = False) -> views.Message:
    """Several events for one channel as one message: a count, then what happened and what to do.
    ``resolved`` are problems a later recovery ended: shown struck through, no longer counted.
    Services link to the portal unless the links would take the message past Slack's total (``plain``)."""
    title = headline(batch, resolved)
    blocks = [views.header(views.unmarked(title))]
    for event in batch:
        line = event.payload.get("line", event.kind)
        line = views.unlinked(line) if plain else line
        if event.id in resolved:
            blocks.append(views.section(f":white_check_mark: ~{line}~ resolved"))
            continue
        icon = ":rotating_light:" if event.severity == "problem" else ":information_source:"
        blocks.append(views.section(f"{icon} {line}"))
        since = f"Since {event.payload.get('since', '?')[:16]} UTC."
        note = " ".join(p for p in (event.payload.get("advice"), since) if p)
        blocks.append(views.context(f"{note} `/natlink status {event.service or ''}`".strip()))
    if not plain and views.text_size(blocks) > views.MAX_TOTAL:
        return summary(batch, resolved, plain=True)
    return views.Message(views.notification(title, ()), blocks)
