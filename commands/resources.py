"""How a verb finds what the policy judges, from natlink's records: a row names one of these.

A finder returns the ``Resource`` (the service, its requester, the Azure scope) or refuses when
the thing named does not exist, so enforcement never judges a service nobody has.
"""

from __future__ import annotations

from collections.abc import Callable

from storage import requests, services
from storage.records import LinkRequest, Service

from .context import Context
from .declare import field_name
from .escapes import escape
from .policy import Resource
from .replies import Refusal
from .usecase import Payload
from .values import STAR, Scope

Finder = Callable[[Context, Payload], Resource | Refusal]


def nothing(ctx: Context, payload: Payload) -> Resource:
    """Reads of what everyone may see, and verbs that judge no particular thing."""
    return Resource()


def service(arg: str, *, optional: bool = False) -> Finder:
    """The service named by ``arg``, which must exist (unless ``optional`` and not given)."""

    def find(ctx: Context, payload: Payload) -> Resource | Refusal:
        name = getattr(payload, field_name(arg))
        if name is None and optional:
            return Resource()
        found = services.get_service(ctx.db, name)
        return Resource(service=found.name) if found else unknown_service(name)

    return find


def service_or_star(ctx: Context, payload: Payload) -> Resource:
    """A channel subscription names one service, or ``*`` for all, which only admins may set."""
    name = payload.service
    return Resource(service=None if name == STAR else name)


def audited_service(ctx: Context, payload: Payload) -> Resource:
    """The audit trail of one service, or of everything: the name need not exist any more."""
    return Resource(service=payload.service)


def scope(ctx: Context, payload: Payload) -> Resource:
    """Grants are judged by the Azure scope they cover."""
    where = Scope.parse(payload.scope)
    return Resource(subscription=where.subscription, resource_group=where.resource_group)


def new_service(ctx: Context, payload: Payload) -> Resource:
    """``create``: the service name now; where Azure puts it is judged again by the worker."""
    return Resource(service=payload.name, located=False)


def requested_service(ctx: Context, payload: Payload) -> Resource | Refusal:
    """``request``: the service asked for, by alias or name, and the consumer subscription when given
    (the policy then checks the service is visible there); the consumer's place is judged later."""
    target = payload.target
    found = services.find_service(ctx.db, target)
    if found is None:
        return unknown_service(target)
    return Resource(service=found.name, subscription=payload.subscription, located=False)


def link_request(ctx: Context, payload: Payload) -> Resource | Refusal:
    """A decision or a revoke: judged on the request's service and who asked for it."""
    request = requests.get_request(ctx.db, payload.request)
    if request is None:
        return unknown_request(payload.request)
    return Resource(service=request.service, requester=request.requester)


def unknown_service(name: str) -> Refusal:
    return Refusal(
        f"natlink knows no service called *{escape(name)}*.", hint="`/natlink list` shows the services."
    )


def unknown_request(request_id: str) -> Refusal:
    return Refusal(
        f"there is no request `{escape(request_id)}`.", hint="`/natlink pending` lists open requests."
    )


def stored_request(ctx: Context, request_id: str) -> tuple[LinkRequest, Service] | Refusal:
    """A request and its service, for a worker that runs after the first check: either may be gone."""
    request = requests.get_request(ctx.db, request_id)
    found = services.get_service(ctx.db, request.service) if request else None
    if request is None or found is None:
        return Refusal(f"request `{escape(request_id)}` or its service is gone.")
    return request, found
