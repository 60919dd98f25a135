"""Approve and reject: the part that must answer at once, whether from a button or a command.

The first decision wins in storage (a compare-and-set), so double clicks and replayed deliveries
make one change; the Azure write then runs as an operation, once.
"""

from __future__ import annotations

from datetime import timedelta

from storage import audit, operations, requests
from storage.records import LinkRequest

from .authorize import authorize
from .context import Context
from .escapes import escape
from .policy import Resource
from .replies import Queued, Refusal, Reply

DECIDED = {"approve": "approved", "reject": "rejected"}


def check(ctx: Context, request_id: str, verb: str) -> LinkRequest | Refusal:
    """The request, if it exists and the actor may decide it (a refusal is audited)."""
    request = requests.get_request(ctx.db, request_id)
    if request is None:
        return Refusal(
            f"there is no request `{escape(request_id)}`.", hint="`/natlink pending` lists open requests."
        )
    resource = Resource(service=request.service, requester=request.requester)
    decision = authorize(ctx, verb, resource, audit_allowed=False)
    return request if decision.allowed else Refusal(decision.reason)


def begin(
    ctx: Context, request_id: str, verb: str, reason: str | None, duration: timedelta | None = None
) -> Queued | Reply | Refusal:
    """Check, record the decision, and queue the Azure write; or say who decided first."""
    request = check(ctx, request_id, verb)
    if isinstance(request, Refusal):
        return request
    if request.state != "pending":
        return already(request)
    decided, changed = requests.decide(ctx.db, request.id, DECIDED[verb], by=ctx.actor, reason=reason or None)  # type: ignore[arg-type]
    if not changed:
        return already(decided)
    audit.record(
        ctx.db,
        actor=ctx.actor,
        action=verb,
        target=request.service,
        outcome="allowed",
        reason=f"{request.id}: {DECIDED[verb]} first",
    )
    op, created = operations.enqueue(
        ctx.db,
        "decide",
        actor=ctx.actor,
        args={"request": request.id, "verb": verb, "reason": reason or "", "for_seconds": _seconds(duration)},
        idempotency_key=f"decide:{request.id}",
        reply_channel=ctx.channel,
    )
    return Queued(
        op, created, f"{DECIDED[verb].capitalize()} `{request.id}` for *{escape(request.service)}*."
    )


def already(request: LinkRequest) -> Reply:
    """The answer for everyone but the first decider."""
    if request.decided_by:
        when = f" at {request.decided_at:%Y-%m-%d %H:%M} UTC" if request.decided_at else ""
        line = f"`{request.id}` was already {request.state} by <@{request.decided_by}>{when}."
    else:
        line = f"`{request.id}` is {request.state}; there is nothing to decide."
    return Reply("Already decided", (line,))


def _seconds(duration: timedelta | None) -> int | None:
    return int(duration.total_seconds()) if duration else None
