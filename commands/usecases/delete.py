"""``delete``: a service, its private link service and the load balancer parts natlink built for it.

natlink forgets the service only after ``delete_service`` has read Azure back clean: a delete that
Azure interrupted keeps the records, so the same command run again finds the service and finishes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.teardown import delete_service
from storage import requests, services

from ..escapes import escape
from ..replies import Outcome, Refusal, Reply
from ..usecase import Job, Payload, succeeded


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
    delete_service(
        job.clients,
        service.pls_id,
        force=job.payload.force,
        progress=job.progress,
        natlink_lb=service.lb_managed,
    )
    services.mark_state(ctx.db, service.name, "deleted")
    open_states = ("requested", "pending", "approved")
    for request in requests.list_requests(ctx.db, service=service.name, states=open_states):  # type: ignore[arg-type]
        requests.set_state(ctx.db, request.id, "removed")
    succeeded(ctx, "delete", service.name)
    return Outcome(
        Reply(
            f"{service.name} deleted",
            (
                f"*{escape(service.name)}* and its private link service are gone"
                + (", with the load balancer parts natlink built for it." if service.lb_managed else "."),
            ),
            public=True,
        )
    )
