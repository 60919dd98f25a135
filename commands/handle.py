"""The answer to one ``/natlink`` command or card click, decided before Slack's 3-second deadline.

Parse, build the verb's payload, enforce the first phase of the policy, then either answer at once
(the row's ``answer``) or record an operation for a worker (the row's ``run``). The record is
written before the bot acknowledges, so a crash after the ack loses nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from . import payloads
from .context import Context
from .declare import Verb
from .enforce import authorize, enforce
from .escapes import escape
from .grammar import UsageError, parse
from .policy import Resource
from .replies import Listing, Queued, Refusal, Reply, ShareCard, Turn
from .usecase import Paged, Payload
from .verbs import VERBS

Answer = Reply | Refusal | ShareCard | Queued


@dataclass(frozen=True)
class Delivery:
    """Where a command came from: ``key`` recognises a repeated delivery, ``response_url`` answers it."""

    key: str | None = None
    response_url: str | None = None


def handle(ctx: Context, text: str, delivery: Delivery) -> Answer:
    """A slash command's text, from parsing to the answer or the queued operation.

    ``/natlink`` alone answers with help: someone who types just the app's name wants to know what
    it does, not that a verb is missing."""
    try:
        command = parse(text if text.strip() else "help")
    except UsageError as error:
        return Refusal(escape(error.message), usage=error.usage)
    verb = VERBS[command.verb]
    return _run(ctx, verb, payloads.from_command(verb, {**command.args, **command.flags}), delivery)


def click(ctx: Context, verb_name: str, values: Mapping[str, str | int]) -> Answer:
    """A button or form that stands for a command: the same row, the same checks, no text to parse."""
    verb = VERBS[verb_name]
    payload = verb.payload(**values)
    return enforce(ctx, verb, payload) or verb.answer(ctx, payload)  # type: ignore[misc, return-value]


def may(ctx: Context, verb_name: str, values: Mapping[str, str]) -> Refusal | None:
    """The check alone, before asking the person for more (the reject reason): None when allowed."""
    verb: Verb = VERBS[verb_name]
    return enforce(ctx, verb, verb.payload(**values))


def page(
    ctx: Context,
    listing: Listing,
    turn: Turn,
    delivery: Delivery,
    *,
    csv: bool = False,
    reply_ts: str | None = None,
) -> Answer:
    """A listing's Previous/Next (``turn``) or Export CSV (``csv``) button: the person who asked for
    the listing (the policy's ``page``), then the verb's own checks, as the command had them; a
    page of a verb that reads Azure is queued, and its answer replaces ``reply_ts``."""
    verb = VERBS.get(listing.verb)
    if verb is None or not issubclass(verb.payload, Paged):
        return Refusal(f"natlink has no listing called `{escape(listing.verb)}`.")
    decision = authorize(ctx, "page", Resource(asked_by=listing.asked_by))
    if not decision.allowed:
        return Refusal(decision.reason)
    try:
        payload = verb.payload(**{**listing.args, **dataclasses.asdict(turn), "csv": csv})
    except TypeError:  # a button an older release wrote, whose fields this one does not take
        return Refusal("that button is from an older natlink; type the command again.")
    return _run(ctx, verb, payload, delivery, reply_ts)


def _run(
    ctx: Context, verb: Verb, payload: Payload, delivery: Delivery, reply_ts: str | None = None
) -> Answer:
    """The verb's own checks, then its answer at once (a read from natlink's records) or its
    operation queued for a worker; ``reply_ts`` is the message the worker's answer replaces."""
    refusal = enforce(ctx, verb, payload)
    if refusal is not None:
        return refusal
    if verb.answer is not None:
        return verb.answer(ctx, payload)  # type: ignore[return-value]
    op, created = payloads.enqueue(
        ctx, verb.name, payload, key=delivery.key, response_url=delivery.response_url, reply_ts=reply_ts
    )
    return Queued(op, created, f"`{escape(payload.title(verb.name))}`")
