"""``share``: post a service's alias, with a *Request endpoint* button, to a channel."""

from __future__ import annotations

from dataclasses import dataclass

from storage import services

from ..context import Context
from ..replies import Refusal, ShareCard
from ..usecase import Payload


@dataclass(frozen=True)
class Share(Payload):
    TARGET = "service"
    service: str
    channel: str | None = None


def answer(ctx: Context, payload: Share) -> ShareCard | Refusal:
    service = services.get_service(ctx.db, payload.service)
    assert service is not None  # the row's finder refused an unknown service
    where = payload.channel or ctx.channel
    if where is None:
        return Refusal("say which channel to share it in.", usage=f"/natlink share {service.name} #channel")
    return ShareCard(service, where)
