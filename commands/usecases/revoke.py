"""``revoke``: cut off an approved endpoint; its connection is removed and reads Disconnected.

Expiry ends access the same way (``disconnect``), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from cloud import tokens
from cloud.clients import Clients
from cloud.decide import decide as decide_connection
from cloud.errors import CloudError
from storage import requests
from storage.records import LinkRequest, Service

from ..escapes import escape
from ..replies import Outcome, Refusal, Reply, Tell
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
    job.progress("remove the connection in Azure")
    disconnect(ctx.db, job.clients, service, request, f"Revoked by {ctx.actor}")
    succeeded(ctx, "revoke", service.name, request.id)
    line = (
        f"`{request.id}` for *{escape(service.name)}* was revoked by <@{ctx.actor}>; "
        "its endpoint is now Disconnected."
    )
    return Outcome(
        Reply(f"{request.id} revoked", (line,)), (Tell(request.requester, Reply("Access revoked", (line,))),)
    )


def disconnect(
    db: Database,
    clients: Clients,
    service: Service,
    request: LinkRequest,
    description: str,
    now: datetime | None = None,
) -> LinkRequest:
    """Remove the request's connection in Azure and record the request removed.

    A connection Azure no longer has is already what was asked for; any other refusal is raised
    before anything is recorded.
    """
    try:
        decide_connection(
            clients, service.pls_id, request.pe_id or tokens.token(request.id), "remove", description
        )
    except CloudError as error:
        if error.code != "ConnectionNotFound":
            raise
    return requests.set_state(db, request.id, "removed", now=now)
