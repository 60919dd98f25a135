"""The ``channel_subscriptions`` table: which channels hear about which services, and how much.

A subscription names one service or ``"*"`` for all of them; :func:`list_for_service` returns
both kinds, so the scheduler asks one question per service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import require_choice
from storage.errors import NotFoundError
from storage.records import (
    ALL_SERVICES,
    DIGESTS,
    SUBSCRIPTION_EVENTS,
    ChannelSubscription,
    Digest,
    SubscriptionEvents,
)
from storage.services import get_service
from storage.transactions import write

TABLE = "channel_subscriptions"


def add_subscription(
    db: Database,
    service: str,
    channel: str,
    *,
    created_by: str,
    events: SubscriptionEvents = "all",
    digest: Digest = "daily",
    now: datetime | None = None,
) -> ChannelSubscription:
    """Subscribe ``channel`` to ``service`` (or ``"*"``); subscribing again updates events and
    digest instead of failing, so "subscribe" can be re-issued to change settings."""
    require_choice(events, SUBSCRIPTION_EVENTS, "events")
    require_choice(digest, DIGESTS, "digest")
    at = clock.stamp(now)
    with write(db):
        name = _service_key(db, service)
        if _get(db, name, channel) is not None:
            return update_subscription(db, name, channel, events=events, digest=digest, now=now)
        db.table(TABLE).insert(
            {
                "service": name,
                "channel": channel,
                "events": events,
                "digest": digest,
                "created_by": created_by,
                "created_at": at,
                "updated_at": at,
            }
        )
        return _require(db, name, channel)


def update_subscription(
    db: Database,
    service: str,
    channel: str,
    *,
    events: SubscriptionEvents | None = None,
    digest: Digest | None = None,
    now: datetime | None = None,
) -> ChannelSubscription:
    """Change what an existing subscription delivers; ``None`` leaves a setting as is."""
    values: dict[str, Any] = {"updated_at": clock.stamp(now)}
    if events is not None:
        values["events"] = require_choice(events, SUBSCRIPTION_EVENTS, "events")
    if digest is not None:
        values["digest"] = require_choice(digest, DIGESTS, "digest")
    with write(db):
        current = _require(db, service, channel)
        db.table(TABLE).update((current.service, channel), values)
        return _require(db, service, channel)


def remove_subscription(db: Database, service: str, channel: str) -> bool:
    """Unsubscribe; ``True`` if the subscription existed."""
    with write(db):
        cursor = db.execute(f"DELETE FROM {TABLE} WHERE service = ? AND channel = ?", [service, channel])
        return cursor.rowcount > 0


def list_for_service(db: Database, service: str) -> list[ChannelSubscription]:
    """Subscriptions that cover ``service``: its own and the ``"*"`` ones, by channel."""
    rows = db.table(TABLE).rows_where(
        "service = ? OR service = ?", [service, ALL_SERVICES], order_by="channel, service"
    )
    return [_record(row) for row in rows]


def list_for_channel(db: Database, channel: str) -> list[ChannelSubscription]:
    """What one channel is subscribed to, by service."""
    rows = db.table(TABLE).rows_where("channel = ?", [channel], order_by="service")
    return [_record(row) for row in rows]


def list_subscriptions(db: Database) -> list[ChannelSubscription]:
    """Every subscription, for digests and admin views."""
    return [_record(row) for row in db.table(TABLE).rows_where(order_by="service, channel")]


def _service_key(db: Database, service: str) -> str:
    """``"*"``, or the canonical name of an existing service."""
    if service == ALL_SERVICES:
        return service
    found = get_service(db, service)
    if found is None:
        raise NotFoundError(f"no service named {service!r}")
    return found.name


def _require(db: Database, service: str, channel: str) -> ChannelSubscription:
    """The subscription, or ``NotFoundError``."""
    found = _get(db, service, channel)
    if found is None:
        raise NotFoundError(f"channel {channel!r} is not subscribed to {service!r}")
    return found


def _get(db: Database, service: str, channel: str) -> ChannelSubscription | None:
    """One subscription, or ``None``."""
    for row in db.table(TABLE).rows_where("service = ? AND channel = ?", [service, channel], limit=1):
        return _record(row)
    return None


def _record(row: dict[str, Any]) -> ChannelSubscription:
    """Row to record."""
    return ChannelSubscription(
        service=row["service"],
        channel=row["channel"],
        events=row["events"],
        digest=row["digest"],
        created_by=row["created_by"],
        created_at=clock.from_text(row["created_at"]),
        updated_at=clock.from_text(row["updated_at"]),
    )
