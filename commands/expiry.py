"""Access that was granted for a while (``approve --for 7d``, ``request --for``) ends on time.

The connection is removed in Azure (the consumer's endpoint turns Disconnected), the request is
marked removed, and the requester and the owner channel are told, once.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from cloud.clients import Clients
from cloud.errors import CloudError
from storage import audit, events, requests, services
from storage.records import NewEvent

from .escapes import escape
from .usecases.revoke import alert_owners, disconnect

ACTOR = "natlink-scheduler"


def expire(db: Database, clients: Clients, now: datetime) -> int:
    """Remove every approved connection whose time is up; returns how many were removed."""
    done = 0
    for request in requests.list_requests(db, states=("approved",)):  # type: ignore[arg-type]
        service = services.get_service(db, request.service)
        if request.expires_at is None or request.expires_at > now or service is None:
            continue
        try:
            disconnect(db, clients, service, request, "Expired", now=now)
        except CloudError as error:
            alert_owners(db, service, request, error, now)
            audit.record(
                db,
                actor=ACTOR,
                action="expire",
                target=service.name,
                outcome="failed",
                reason=f"{error.code}: {error.message}",
                now=now,
            )
            continue
        audit.record(
            db,
            actor=ACTOR,
            action="expire",
            target=service.name,
            outcome="succeeded",
            reason=request.id,
            now=now,
        )
        line = (
            f"`{request.id}` for *{escape(service.name)}* expired at {request.expires_at:%Y-%m-%d %H:%M} UTC; "
            "its connection was removed and the endpoint is now Disconnected."
        )
        places = [
            c for c in (service.owner_channel, None if request.made_outside else request.requester) if c
        ]
        events.add_many(
            db,
            [
                NewEvent(
                    f"expired:{request.id}:{p}",
                    p,
                    service.name,
                    "expired",
                    "info",
                    {"line": line, "since": now.isoformat(), "request": request.id},
                )
                for p in places
            ],
            now=now,
        )
        done += 1
    return done
