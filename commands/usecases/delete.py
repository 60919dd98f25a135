"""``delete``: a service, its private link service and the load balancer parts natlink built for it.

natlink forgets the service only after ``delete_service`` has read Azure back clean: a delete that
Azure interrupted keeps the records, so the same command run again finds the service and finishes.
Each connection a forced delete rejects closes its request at once, whatever happens next: Azure
holds it Rejected, so natlink must not go on showing it pending or approved.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud import ids, tokens
from cloud.errors import CloudError
from cloud.teardown import Rejected, delete_service
from storage import requests, services
from storage.records import LinkRequest, Service

from ..context import Context
from ..escapes import escape
from ..replies import CardClosed, Notice, Outcome, Refusal, Reply, tell_requester
from ..usecase import Job, Payload, refused, succeeded

OPEN_STATES = ("requested", "pending", "approved")


@dataclass(frozen=True)
class Delete(Payload):
    TARGET = "service"
    service: str
    force: bool = False


def run(job: Job[Delete, None]) -> Outcome:
    ctx = job.ctx
    service = services.get_service(ctx.db, job.payload.service)
    if service is None:
        return Outcome(Refusal(f"natlink no longer knows *{escape(job.payload.service)}*."))
    if services.is_adopted(ctx.db, service.name):  # natlink never changes what it adopted
        return Outcome(
            Refusal(
                f"natlink adopted *{escape(service.name)}*: its private link service and load balancer are "
                "not natlink's to delete, and are left as they are.",
                hint=f"`/natlink forget {escape(service.name)}` stops natlink watching it.",
            )
        )
    closed: list[LinkRequest] = []
    try:
        delete_service(
            job.clients,
            service.pls_id,
            force=job.payload.force,
            progress=job.progress,
            natlink_lb=service.lb_managed,
            on_rejected=lambda rejected: closed.extend(_close_rejected(ctx, service, rejected)),
        )
    except CloudError as error:
        if not closed:
            raise
        refusal = refused(ctx, "delete", service.name, error)
        rejected = ", ".join(f"`{r.id}`" for r in closed)
        line = f"{refusal.reason}\nAlready rejected in Azure, and closed: {rejected}."
        return Outcome(Refusal(line, hint=refusal.hint), _notices(ctx, service, closed))
    services.mark_state(ctx.db, service.name, "deleted")
    for request in _open_requests(ctx, service):
        closed.append(requests.set_state(ctx.db, request.id, "removed"))
    succeeded(ctx, "delete", service.name)
    return Outcome(
        Reply(
            f"{service.name} deleted",
            (
                f"*{escape(service.name)}* and its private link service are gone"
                + (", with the load balancer parts natlink built for it." if service.lb_managed else "."),
            ),
            public=True,
        ),
        _notices(ctx, service, closed),
    )


def _open_requests(ctx: Context, service: Service) -> list[LinkRequest]:
    return requests.list_requests(ctx.db, service=service.name, states=OPEN_STATES)  # type: ignore[arg-type]


def _close_rejected(ctx: Context, service: Service, rejected: Rejected) -> list[LinkRequest]:
    """The open request whose connection Azure now holds Rejected, recorded removed (or none).

    Matched as decisions match (invariant 1): by the recorded connection or endpoint, and by the
    token only while the request has no endpoint recorded.
    """
    for request in _open_requests(ctx, service):
        if _is_its(request, rejected):
            return [requests.set_state(ctx.db, request.id, "removed")]
    return []


def _is_its(request: LinkRequest, rejected: Rejected) -> bool:
    if request.connection_id and ids.key(request.connection_id) == ids.key(rejected.connection_id):
        return True
    if request.pe_id:
        return rejected.endpoint_id is not None and ids.key(request.pe_id) == ids.key(rejected.endpoint_id)
    return rejected.token is not None and rejected.token == tokens.token(request.id)


def _notices(ctx: Context, service: Service, closed: list[LinkRequest]) -> tuple[Notice, ...]:
    """Each closed request's card loses its buttons, and its requester learns why, once."""
    why = f"service *{escape(service.name)}* is being deleted by <@{ctx.actor}>"
    notices: list[Notice] = []
    for request in closed:
        line = f"`{request.id}` for *{escape(service.name)}* is closed: {why}; its connection was rejected."
        notices.append(CardClosed(request, f"Closed: {why}."))
        notices += tell_requester(request, Reply(f"Your access to {service.name} ended", (line,)))
    return tuple(notices)
