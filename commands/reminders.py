"""Requests nobody decided: remind the owners after ``remind_after``, and the admins after twice that.

Each reminder is queued once (its outbox key names the request and who is reminded), so the job
can run as often as it likes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage import events, owners, requests, services
from storage.records import LinkRequest, NewEvent

from .context import Config
from .escapes import escape
from .replies import requester


def queue_reminders(db: Database, config: Config, remind_after: timedelta, now: datetime) -> int:
    out: list[NewEvent] = []
    for request in requests.list_pending(db):
        age = now - request.created_at
        if age >= remind_after:
            out += _to_owners(db, request, age)
        if age >= 2 * remind_after:
            out += [_event(request, admin, "admins", age) for admin in sorted(config.admins)]
    return sum(created for _, created in events.add_many(db, out, now=now)) if out else 0


def _to_owners(db: Database, request: LinkRequest, age: timedelta) -> list[NewEvent]:
    """One reminder in the owner channel, naming the owners, or one to each owner by DM.

    In the channel the reminder is a reply in the card's thread, and Slack notifies only those who
    follow a thread of its replies (Slack help, "Use threads to organize discussions"), but always
    those a message mentions: so it mentions the owners, rather than broadcasting to the channel
    (``reply_broadcast``), which would break the card's one line in the channel (issue 12, §3)."""
    owner_ids = [o.user_id for o in owners.list_owners(db, request.service)]
    service = services.get_service(db, request.service)
    if service is not None and service.owner_channel:
        return [_event(request, service.owner_channel, "owners", age, owner_ids)]
    return [_event(request, owner, "owners", age) for owner in owner_ids]


def _event(
    request: LinkRequest, channel: str, who: str, age: timedelta, mention: list[str] | None = None
) -> NewEvent:
    hours = int(age.total_seconds() // 3600)
    to = f"{', '.join(f'<@{user}>' for user in mention)}: " if mention else ""
    line = (
        f"{to}`{request.id}` for *{escape(request.service)}* from {requester(request)} has waited {hours} h "
        f"for a decision: `/natlink approve {request.id}` or `/natlink reject {request.id}`."
    )
    return NewEvent(
        f"remind:{request.id}:{who}:{channel}",
        channel,
        request.service,
        "reminder",
        "problem",
        {"title": "Waiting for a decision", "lines": [line], "request": request.id},
    )
