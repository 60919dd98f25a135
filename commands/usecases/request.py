"""``request``: a private endpoint to a service, with a manual connection the owners decide.

The worker's second check places the consumer side (the VM's subnet, or the VNet named) before
the policy judges the ``request`` grant. The request's token starts the connection's message, so
a rerun finds the endpoint it already made, and the connection is always matched exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cloud import ids, inventory, tokens
from cloud.clients import Clients
from cloud.endpoints import SubnetRef, VmRef, discard_endpoint, request_endpoint
from cloud.errors import CloudError
from cloud.limits import ENDPOINT_NAME_MAX
from cloud.mapping import mappings
from cloud.model import Connection, Snapshot
from cloud.services import read_service
from cloud.vms import find_vm
from storage import owners, requests, services
from storage.records import LinkRequest, Service

from .. import describe, portal
from ..context import Context
from ..enforce import authorize, facts, request_subscriptions
from ..escapes import escape, plain
from ..policy import Actor, Resource, decide
from ..replies import CardNeeded, Outcome, Refusal, Reply
from ..usecase import Job, Located, Payload, succeeded


@dataclass(frozen=True)
class Request(Payload):
    TARGET = "target"
    target: str
    vm: str | None = None
    vnet: str | None = None
    subnet: str | None = None
    subscription: str | None = None
    name: str | None = None
    reason: str | None = None
    for_: int | None = None


@dataclass(frozen=True)
class Consumer(Located):
    """Where the endpoint goes: a VM (its subnet) or a subnet named, and the service asked for."""

    service: Service
    where: VmRef | SubnetRef
    vnet: str
    subnet: str


def locate(ctx: Context, clients: Clients, payload: Request) -> Consumer | Refusal:
    service = services.find_service(ctx.db, payload.target)
    if service is None:
        return Refusal(f"natlink no longer knows *{escape(payload.target)}*.")
    searched = _searched(ctx, service, payload.subscription)
    if isinstance(searched, Refusal):
        return searched
    if payload.vm:
        vm = find_vm(clients, searched, payload.vm, _may_use(ctx, service))
        where = Resource(service=service.name, subscription=vm.subscription, resource_group=vm.resource_group)
        place = VmRef(vm.subscription, vm.name)  # found there: never looked up again elsewhere
        return Consumer(where, service, place, vm.vnet_name, vm.subnet_id.rsplit("/", 1)[-1])
    if len(searched) != 1:
        raise CloudError(
            "SubscriptionRequired",  # natlink's own code
            f"You may request from {len(searched)} subscriptions ({', '.join(searched)}): "
            "say which one the VNet is in with --subscription.",
        )
    ref = SubnetRef(searched[0], str(payload.vnet), str(payload.subnet))
    return Consumer(
        Resource(service=service.name, subscription=searched[0]), service, ref, ref.vnet, ref.subnet
    )


def _searched(ctx: Context, service: Service, given: str | None) -> tuple[str, ...] | Refusal:
    """Where natlink looks for the consumer: the subscription given, or those the actor may request
    from, and never elsewhere, so a mistyped name is never answered with another team's VMs or
    subscriptions. A subscription given outside them is refused (and audited) unlooked."""
    mine = request_subscriptions(ctx)
    if given is None and mine:
        return mine
    if given is not None and (ctx.is_admin or given.lower() in mine):
        return (given,)
    where = Resource(service=service.name, subscription=given, located=given is not None)
    return Refusal(authorize(ctx, "request", where).reason)  # no grant there: always a denial


def _may_use(ctx: Context, service: Service) -> Callable[[str], bool]:
    """Whether the actor may request from the VM with this ID, for a "did you mean": by the policy
    (a grant on one resource group covers only it), unaudited, as listing is no decision."""
    held, actor = facts(ctx, service.name), Actor(ctx.actor, ctx.is_admin)

    def may(vm_id: str) -> bool:
        where = Resource(
            service=service.name,
            subscription=ids.segment(vm_id, "subscriptions"),
            resource_group=ids.segment(vm_id, "resourceGroups"),
        )
        return decide(actor, "request", where, held).allowed

    return may


def run(job: Job[Request, Consumer]) -> Outcome:
    ctx, payload, consumer = job.ctx, job.payload, job.located
    assert consumer is not None
    service = consumer.service
    pe_name = payload.name or _endpoint_name(service.name, payload.vm or f"{consumer.vnet}-{consumer.subnet}")
    request = requests.made_by(ctx.db, ctx.operation) if ctx.operation is not None else None
    if request is None:
        held = _held_here(ctx, consumer, pe_name)
        if held is not None:
            return Outcome(_already_held(held, ctx.config.portal))
        request = _new_request(ctx, consumer, pe_name, payload)
    token = tokens.token(request.id)
    try:
        endpoint = request_endpoint(
            job.clients,
            service.alias,
            consumer.where,
            pe_name,
            token,
            ctx.actor,
            plain(payload.reason or ""),
            job.progress,
            replacing=_ended_tokens(ctx, service, pe_name),
        )
        connection = _connection(job.clients, service, token)
    except CloudError as error:
        requests.set_state(ctx.db, request.id, "failed")
        error.exists += _left_behind(job, consumer, pe_name, token)
        raise
    state = "approved" if connection.status == "Approved" else "pending"
    requests.attach_endpoint(
        ctx.db,
        request.id,
        pe_id=endpoint.id,
        pe_name=endpoint.name,
        vnet=consumer.vnet,
        subnet=consumer.subnet,
        subnet_id=endpoint.subnet_id,
        connection_id=connection.id,
        link_identifier=connection.link_identifier,
    )
    request = requests.set_state(ctx.db, request.id, state)
    succeeded(ctx, "request", service.name, request.id)
    home = ctx.config.portal
    subnet = portal.named(home, endpoint.subnet_id, f"{consumer.vnet}/{consumer.subnet}")
    lines = (
        f"`{request.id}`: endpoint *{portal.named(home, endpoint.id, endpoint.name)}* has {endpoint.ip} in {subnet}.",
    )
    if state == "approved":
        mapping = mapping_lines(job.clients, service, request, ctx.config.portal)
        return Outcome(Reply("Endpoint approved", lines + mapping, about=request.id))
    owner_ids = tuple(o.user_id for o in owners.list_owners(ctx.db, service.name))
    waiting = f"Waiting for an owner of *{portal.named(ctx.config.portal, service.pls_id, service.name)}* to approve."
    return Outcome(
        Reply("Endpoint requested", (*lines, waiting), about=request.id),
        (CardNeeded(request, service, owner_ids),),
    )


def _endpoint_name(service: str, where: str) -> str:
    """``pe-<service>-<VM, or VNet-subnet>`` within Azure's rules: one default name per consumer place."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"pe-{service}-{where}")[:ENDPOINT_NAME_MAX].rstrip(".-")


def _held_here(ctx: Context, consumer: Consumer, pe_name: str) -> LinkRequest | None:
    """The requester's open request for this service from this same place and endpoint name.

    Invariant 1 (one request, one endpoint, one connection, for life): asking again for what one
    already holds is refused, never answered by reusing or re-pointing the old request.
    """
    place = (str(consumer.resource.subscription).lower(), consumer.vnet.lower(), consumer.subnet.lower())
    for held in requests.list_requests(ctx.db, service=consumer.service.name, states=("pending", "approved")):
        where = (held.consumer_subscription.lower(), (held.vnet or "").lower(), (held.subnet or "").lower())
        if held.requester == ctx.actor and where == place and (held.pe_name or "").lower() == pe_name.lower():
            return held
    return None


def _already_held(held: LinkRequest, home: str | None) -> Refusal:
    """The refusal names the held subnet and endpoint, linked to the portal where their IDs are known."""
    where = portal.named(home, held.subnet_id, f"{held.vnet or '?'}/{held.subnet or '?'}")
    return Refusal(
        f"you already have `{held.id}` ({held.state}) for *{escape(held.service)}* from "
        f"{where}: endpoint *{portal.named(home, held.pe_id, held.pe_name or '?')}*.",
        hint=f"Use that endpoint, or ask an owner to `/natlink revoke {held.id}` before asking again.",
    )


def _new_request(ctx: Context, consumer: Consumer, pe_name: str, payload: Request) -> LinkRequest:
    return requests.create_request(
        ctx.db,
        request_id=tokens.new_request_id,
        service=consumer.service.name,
        requester=ctx.actor,
        consumer_subscription=str(consumer.resource.subscription),
        vnet=consumer.vnet,
        subnet=consumer.subnet,
        pe_name=pe_name,
        reason=plain(payload.reason or ""),
        expires_at=datetime.now(UTC) + timedelta(seconds=payload.for_) if payload.for_ else None,
        operation_id=ctx.operation,
    )


def _ended_tokens(ctx: Context, service: Service, pe_name: str) -> frozenset[str]:
    """Tokens of the requester's ended requests (failed, rejected, revoked) for this service and
    endpoint name: their endpoints hold no access, and asking again replaces them, as Azure wants
    for a rejected connection (the consumer deletes and re-creates the endpoint)."""
    ended = requests.list_requests(ctx.db, service=service.name, states=("failed", "rejected", "removed"))
    return frozenset(
        tokens.token(r.id)
        for r in ended
        if r.requester == ctx.actor and (r.pe_name or "").lower() == pe_name.lower()
    )


def _left_behind(
    job: Job[Request, Consumer], consumer: Consumer, pe_name: str, token: str
) -> tuple[str, ...]:
    """Remove the endpoint a failed request made; name it when Azure refuses that too (the person
    is told it is still there, and the retry replaces it: see ``replacing``)."""
    try:
        if discard_endpoint(job.clients, consumer.where, pe_name, token):
            job.progress(f"removed endpoint {pe_name}, which the failed request had made")
        return ()
    except CloudError as error:
        return (f"private endpoint {pe_name} (removing it failed: {error.code}; a retry replaces it)",)


def _connection(clients: Clients, service: Service, token: str) -> Connection:
    for connection in read_service(clients, service.pls_id).connections:
        if connection.token == token:
            return connection
    raise CloudError(
        "ConnectionNotFound", f"The endpoint was made but {service.name} shows no connection for {token}."
    )


def mapping_lines(
    clients: Clients, service: Service, request: LinkRequest, portal_home: str | None = None
) -> tuple[str, ...]:
    """Who sees what for this one connection, read from both sides' subscriptions; with
    ``portal_home`` what it names links to the portal."""
    return connection_sentences(
        connection_snapshot(clients, service, request), request, portal_home=portal_home
    )


def connection_snapshot(clients: Clients, service: Service, request: LinkRequest) -> Snapshot:
    """Both sides' subscriptions of one connection, read once for every sentence about it."""
    return inventory.snapshot(clients, {service.subscription, request.consumer_subscription})


def connection_sentences(
    snapshot: Snapshot, request: LinkRequest, whose: str | None = None, portal_home: str | None = None
) -> tuple[str, ...]:
    """Who sees what for one request's connection, in a snapshot already read (App Home reads one
    snapshot for all of a person's endpoints): to the requester, or with ``whose`` to the owners
    (``describe.mapping_sentence``)."""
    name = (request.connection_id or "").rsplit("/", 1)[-1].lower()
    return tuple(
        describe.mapping_sentence(m, whose, portal_home)
        for m in mappings(snapshot)
        if m.service.lower() == request.service.lower() and (m.connection or "").lower() == name
    )
