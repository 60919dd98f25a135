"""``subscribe`` and ``unsubscribe``: which channels hear a service's events (or every service's)."""

from __future__ import annotations

from dataclasses import dataclass

from storage import channel_subscriptions

from ..context import Context
from ..escapes import escape
from ..replies import Refusal, Reply
from ..usecase import Payload
from ..values import STAR


@dataclass(frozen=True)
class Unsubscribe(Payload):
    TARGET = "service"
    service: str
    channel: str


@dataclass(frozen=True)
class Subscribe(Unsubscribe):
    events: str = "all"
    digest: str = "off"


def subscribe(ctx: Context, payload: Subscribe) -> Reply | Refusal:
    service, channel = payload.service, payload.channel
    cannot = ctx.cannot_post(channel)
    if cannot and cannot[0]:
        return Refusal(f"{cannot[1]}, then subscribe again.")
    existing = {
        s.channel for s in channel_subscriptions.list_for_channel(ctx.db, channel) if s.service == service
    }
    if existing:
        channel_subscriptions.update_subscription(
            ctx.db,
            service,
            channel,
            events=payload.events,  # type: ignore[arg-type]
            digest=payload.digest,  # type: ignore[arg-type]
        )
    else:
        channel_subscriptions.add_subscription(
            ctx.db,
            service,
            channel,
            created_by=ctx.actor,
            events=payload.events,  # type: ignore[arg-type]
            digest=payload.digest,  # type: ignore[arg-type]
        )
    line = f"<#{channel}> now hears about {_what(service)}: events *{payload.events}*, digest *{payload.digest}*."
    return Reply("Subscribed", (line, *([f":warning: {cannot[1]}."] if cannot else [])), public=True)


def unsubscribe(ctx: Context, payload: Unsubscribe) -> Reply:
    removed = channel_subscriptions.remove_subscription(ctx.db, payload.service, payload.channel)
    what = _what(payload.service)
    line = (
        f"<#{payload.channel}> no longer hears about {what}."
        if removed
        else f"<#{payload.channel}> was not subscribed to {what}."
    )
    return Reply("Unsubscribed", (line,))


def _what(service: str) -> str:
    return "every service" if service == STAR else f"*{escape(service)}*"
