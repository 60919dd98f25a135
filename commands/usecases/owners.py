"""``owners``: list a service's owners, or add and remove them."""

from __future__ import annotations

from dataclasses import dataclass

from storage import owners

from ..context import Context
from ..escapes import escape
from ..replies import Refusal, Reply
from ..usecase import Payload


@dataclass(frozen=True)
class Owners(Payload):
    TARGET = "service"
    service: str
    op: str
    users: tuple[str, ...] = ()


def answer(ctx: Context, payload: Owners) -> Reply | Refusal:
    service, op = payload.service, payload.op
    if op == "list":
        listed = owners.list_owners(ctx.db, service)
        return Reply(
            f"Owners of {service}",
            tuple(f"<@{o.user_id}> (added by <@{o.added_by}>)" for o in listed),
            empty="This service has no owners; an admin can add some.",
        )
    for person in payload.users:
        if op == "add":
            owners.add_owner(ctx.db, service, person, added_by=ctx.actor)
        else:
            owners.remove_owner(ctx.db, service, person)
    names = ", ".join(f"<@{u}>" for u in payload.users)
    verb = "added to" if op == "add" else "removed from"
    return Reply(f"Owners of {service}", (f"{names} {verb} the owners of *{escape(service)}*.",), public=True)
