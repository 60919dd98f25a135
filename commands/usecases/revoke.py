"""``revoke``: cut off an approved endpoint; its connection is removed and reads Disconnected.

Expiry ends access the same way (``disconnect``), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from cloud import tokens
from cloud.clients import Clients
from cloud.decide import remove_access
from cloud.errors import CloudError
from storage import events, requests
from storage.records import LinkRequest, Service

from ..escapes import escape
from ..replies import Outcome, Refusal, Reply, tell_requester
from ..resources import stored_request
from ..usecase import Job, Payload, succeeded


@dataclass(frozen=True)
class Revoke(Payload):
    TARGET = "request"
    request: str


def run(job: Job[Revoke, None]) -> Outcome:
    ctx = job.ctx
    found = stored_request(ctx, job.payload.request)
    if isinstance(found, Refusal):
        return Outcome(Refusal("that request or its service is gone."))
    request, service = found
    job.progress("remove the connection in Azure, then read it back")
    try:
        disconnect(ctx.db, job.clients, service, request, f"Revoked by {ctx.actor}")
    except CloudError as error:
        alert_owners(ctx.db, service, request, error)
        raise
    succeeded(ctx, "revoke", service.name, request.id)
    line = (
        f"`{request.id}` for *{escape(service.name)}* was revoked by <@{ctx.actor}>; "
        "its endpoint is now Disconnected."
    )
    return Outcome(
        Reply(f"{request.id} revoked", (line,)), tell_requester(request, Reply("Access revoked", (line,)))
    )


def disconnect(
    db: Database,
    clients: Clients,
    service: Service,
    request: LinkRequest,
    description: str,
    now: datetime | None = None,
) -> LinkRequest:
    """Remove the request's connection in Azure, read Azure back, and only then record it removed.

    Every connection carrying the request's endpoint or token goes; when Azure still shows one,
    ``AccessStillOpen`` is raised and nothing is recorded (invariant 3).
    """
    remove_access(clients, service.pls_id, request.pe_id, tokens.token(request.id), description)
    return requests.set_state(db, request.id, "removed", now=now)


def alert_owners(
    db: Database, service: Service, request: LinkRequest, error: CloudError, now: datetime | None = None
) -> None:
    """A removal Azure did not confirm reaches the owners' channel, once per request and cause:
    the access may still be open, which nobody may learn from a log line (invariant 3)."""
    if not service.owner_channel:
        return
    line = (
        f":warning: natlink could not confirm that `{request.id}` for *{escape(service.name)}* lost its "
        f"access: {escape(error.code)}: {escape(error.message)}"
    )
    events.add(
        db,
        f"removal-unconfirmed:{request.id}:{error.code}",
        service.owner_channel,
        service.name,
        "removal_unconfirmed",
        "problem",
        {"line": line, "advice": error.hint, "since": (now or datetime.now(UTC)).isoformat()},
        now=now,
    )
