"""``forget``: stop watching an adopted service; Azure is left exactly as it is.

An adopted service belongs to whoever made it (Terraform, the portal, AKS): natlink never changes
its load balancer or private link service. So it is ``forget``, not ``delete``, that ends natlink's
part: ``delete`` on an adopted service refuses and points here, because a verb called delete that
deleted nothing would read as a lie in the audit trail, and one that deleted would break the rule.
``forget`` on a service natlink made refuses the other way: ``delete`` removes what natlink built.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import requests, services

from ..declare import SLASH
from ..escapes import escape
from ..replies import CardClosed, Outcome, Refusal, Reply
from ..usecase import Job, Payload, succeeded

OPEN = ("requested", "pending", "approved")


@dataclass(frozen=True)
class Forget(Payload):
    TARGET = "service"
    service: str


def run(job: Job[Forget, None]) -> Outcome:
    ctx = job.ctx
    service = services.get_service(ctx.db, job.payload.service)
    if service is None or service.state != "active":
        return Outcome(Refusal(f"natlink no longer knows *{escape(job.payload.service)}*."))
    if not services.is_adopted(ctx.db, service.name):
        return Outcome(
            Refusal(
                f"natlink made *{escape(service.name)}*: forgetting it would leave its load balancer parts "
                "and private link service behind with nobody watching.",
                hint=f"`{SLASH} delete {escape(service.name)}` removes what natlink built.",
            )
        )
    services.mark_state(ctx.db, service.name, "deleted")
    note = f"natlink forgot *{escape(service.name)}*: decide this connection in Azure, or adopt the service again."
    closed = []
    for request in requests.list_requests(ctx.db, service=service.name, states=OPEN):  # type: ignore[arg-type]
        gone = requests.set_state(ctx.db, request.id, "gone")
        if request.state == "pending":
            closed.append(CardClosed(gone, note))
    succeeded(ctx, "forget", service.name, service.pls_id)
    return Outcome(
        Reply(
            f"{service.name} forgotten",
            (
                f"natlink no longer watches *{escape(service.name)}*; its private link service, load balancer "
                "and connections are as they were in Azure.",
                f"`{SLASH} adopt {escape(service.pls_id)}` takes it on again.",
            ),
            public=True,
        ),
        tuple(closed),
    )
