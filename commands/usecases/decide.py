"""``approve`` and ``reject``, from a command or a card's button.

The answer half runs at once: the first decision wins in storage (a compare-and-set), so double
clicks and replayed deliveries make one change, one audit row and one queued Azure write. The
worker half writes the decision to Azure; if Azure refuses, the request goes back to pending and
the card gets its buttons back with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from cloud import tokens
from cloud.decide import decide as decide_connection
from cloud.errors import CloudError
from storage import audit, requests
from storage.records import LinkRequest, Service
from storage.transactions import write

from .. import cards, describe, payloads
from ..context import Context
from ..escapes import escape, free_text, plain
from ..replies import (
    CardClosed,
    CardDecided,
    CardReopened,
    FollowUp,
    Outcome,
    Queued,
    Refusal,
    Reply,
    requester,
    tell_requester,
)
from ..resources import stored_request
from ..usecase import Job, Payload, failed, succeeded
from .request import connection_sentences, connection_snapshot
from .verify import after_approval

DECIDED = {"approve": "approved", "reject": "rejected"}


@dataclass(frozen=True)
class Decide(Payload):
    TARGET = "request"
    VERB: ClassVar[str] = ""
    request: str
    reason: str | None = None
    for_: int | None = None


@dataclass(frozen=True)
class Approve(Decide):
    VERB = "approve"


@dataclass(frozen=True)
class Reject(Decide):
    VERB = "reject"


def answer(ctx: Context, payload: Decide) -> Queued | Reply:
    """Record the decision, its audit row and the queued Azure write together; or say who decided first.

    One transaction: a crash can never leave a decision recorded with no Azure write to follow it.
    """
    verb = payload.VERB
    request = requests.get_request(ctx.db, payload.request)
    assert request is not None  # the row's finder refused a missing request
    if request.state != "pending":
        return already(request)
    with write(ctx.db):
        decided, changed = requests.decide(
            ctx.db, request.id, DECIDED[verb], by=ctx.actor, reason=payload.reason or None
        )  # type: ignore[arg-type]
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
        op, created = payloads.enqueue(ctx, verb, payload, key=f"decide:{request.id}")
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


def run(job: Job[Decide, None]) -> Outcome:
    ctx, payload, verb = job.ctx, job.payload, job.payload.VERB
    found = stored_request(ctx, payload.request)
    if isinstance(found, Refusal):
        return Outcome(found)
    request, service = found
    reason = payload.reason or ""
    description = f"{'Approved' if verb == 'approve' else 'Rejected'} by {ctx.actor}" + (
        f": {plain(reason)}" if reason else ""
    )
    try:
        job.progress(f"{verb} the connection in Azure")
        decide_connection(
            job.clients, service.pls_id, request.pe_id or tokens.token(request.id), verb, description
        )
    except CloudError as error:
        if error.code == "ConnectionRejected":  # natlink's own code (cloud/decide.py)
            return _rejected_in_azure(job, request, service, error)
        if error.code == "ConnectionNotFound":  # natlink's own code (cloud/decide.py)
            return _gone_from_azure(job, request, service, error)
        reopened = requests.set_state(ctx.db, request.id, "pending")
        failed(ctx, verb, service.name, error)
        said = f"natlink could not reach Azure to {verb}" if error.unanswered else f"Azure refused to {verb}"
        problem = f"{said} `{request.id}`: {escape(error.code)}: {escape(error.message)}"
        return Outcome(Refusal(problem, hint=error.hint or None), (CardReopened(reopened, problem),))
    succeeded(ctx, verb, service.name, request.id)
    if verb == "approve" and payload.for_:
        request = requests.set_expiry(ctx.db, request.id, datetime.now(UTC) + timedelta(seconds=payload.for_))
    until = f" {describe.until(request.expires_at)}" if request.expires_at else ""
    outcome = [
        f"`{request.id}` for *{escape(service.name)}* was {request.state} by <@{ctx.actor}>{until}"
        + (f": {free_text(reason)}" if reason else ".")
    ]
    # The requester reads the mapping as "you"; the decider and the card's thread, as the requester's.
    snapshot = connection_snapshot(job.clients, service, request) if verb == "approve" else None
    mapping = (
        connection_sentences(snapshot, request, portal_home=ctx.config.portal) if snapshot is not None else ()
    )
    theirs = (
        connection_sentences(snapshot, request, requester(request), ctx.config.portal)
        if snapshot is not None
        else ()
    )
    outcome += theirs
    if verb == "approve" and job.clients.settings.verify_after_approval:
        threaded = after_approval(ctx, request.id)
        outcome.append(
            f"natlink now verifies the link (`/natlink verify {request.id}`); its result follows"
            + (" in the card's thread." if threaded else ".")
        )
    # The requester's phone shows the title and the first line: how to connect, not the decision twice.
    told = (*mapping, outcome[0], *outcome[1 + len(theirs) :])
    tell = tell_requester(request, Reply(f"{service.name} {request.state}{until}", told))
    reply = Reply(f"{request.id} {request.state}", tuple(outcome), about=request.id)
    return Outcome(reply, (CardDecided(request), *_follow(ctx, service, request, reply), *tell))


def _rejected_in_azure(
    job: Job[Decide, None], request: LinkRequest, service: Service, error: CloudError
) -> Outcome:
    """Azure already holds a rejection (made in the portal): record it, and tell both sides the way on.

    The card is not reopened, since no click can approve it now; the requester can ask again, and
    natlink then replaces the rejected endpoint (``commands/usecases/request.py``).
    """
    ctx = job.ctx
    settled = requests.decided_outside(ctx.db, request.id, "rejected", "rejected in Azure, outside natlink")
    failed(ctx, job.payload.VERB, service.name, error)
    again = f"/natlink request {service.name} {_place(request)}"
    line = (
        f"`{request.id}` for *{escape(service.name)}* was already rejected in Azure, outside natlink; "
        "Azure cannot approve a rejected connection."
    )
    hint = f"The requester can ask again with `{escape(again)}`; natlink replaces the rejected endpoint."
    tell = tell_requester(request, Reply(f"Your request {request.id} was rejected", (line, hint)))
    follow = _follow(ctx, service, settled, Reply(f"{request.id} rejected", (line,)))
    return Outcome(Refusal(line, hint=hint), (CardDecided(settled), *follow, *tell))


def _gone_from_azure(
    job: Job[Decide, None], request: LinkRequest, service: Service, error: CloudError
) -> Outcome:
    """Azure holds no connection for the request any more (its endpoint was deleted in the portal
    before a sweep saw it): natlink read that, so it records it now, closes the card and tells both."""
    ctx = job.ctx
    gone = requests.set_state(ctx.db, request.id, "gone")
    failed(ctx, job.payload.VERB, service.name, error)
    line = (
        f"`{request.id}` is gone; there is nothing to decide: Azure holds no connection for it any more "
        f"(its endpoint was deleted, or the connection removed, outside natlink)."
    )
    hint = (
        f"The requester can ask again with `{escape(f'/natlink request {service.name} {_place(request)}')}`."
    )
    tell = tell_requester(request, Reply(f"Your request {request.id} is gone", (line, hint)))
    return Outcome(
        Refusal(line, hint=hint),
        (
            CardClosed(gone, "Gone: its connection was removed outside natlink."),
            *_follow(ctx, service, gone, Reply(f"{request.id} is gone", (line,))),
            *tell,
        ),
    )


def _follow(ctx: Context, service: Service, request: LinkRequest, reply: Reply) -> tuple[FollowUp, ...]:
    """The decision as a reply in the card's thread, when the card is in the owner channel
    (``commands/cards.py``); a card the owners got by DM shows the decision itself, as before."""
    return (FollowUp(request, reply),) if cards.thread(ctx.db, request.id, service.owner_channel) else ()


def _place(request: LinkRequest) -> str:
    """The consumer place of a request, as ``request`` flags."""
    return f"--vnet {request.vnet} --subnet {request.subnet} --subscription {request.consumer_subscription}"
