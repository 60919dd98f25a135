"""The half of /natlink that needs Azure: what a worker does with each queued operation.

Every runner can run again after a crash without making a duplicate: the cloud operations converge
(expose), are keyed by a token (request) or check the current state first (decide), and the
records here are looked up before they are created.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cloud import inventory
from cloud.clients import Clients
from cloud.decide import decide as decide_connection
from cloud.endpoints import SubnetRef, request_endpoint
from cloud.errors import CloudError
from cloud.expose import LbTarget, VmTarget, expose, find_lb
from cloud.health import service_health
from cloud.ids import network_path
from cloud.mapping import mappings
from cloud.model import Connection, Mapping
from cloud.model import Service as LiveService
from cloud.services import read_service
from cloud.teardown import delete_service
from cloud.tokens import PREFIX
from cloud.vms import find_vm
from storage import audit, owners, requests, services
from storage.records import LinkRequest, Operation, Service

from . import describe, sweep
from .authorize import authorize
from .context import Context
from .escapes import escape, plain
from .grammar import Command, parse
from .policy import Resource
from .replies import CardDecided, CardNeeded, CardReopened, Outcome, Refusal, Reply, Tell
from .values import STAR

Progress = Callable[[str], None]


def run(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    """Run ``op``; an Azure failure becomes a readable refusal and an audit line, never a traceback."""
    try:
        return RUNNERS[op.kind](ctx, clients, op, progress)
    except CloudError as error:
        audit.record(
            ctx.db,
            actor=ctx.actor,
            action=op.kind,
            target=_target(op),
            outcome="failed",
            reason=f"{error.code}: {error.message}",
        )
        problem = f"{escape(error.code)}: {escape(error.message)}"
        if error.exists:
            problem += f"\nAlready in Azure: {escape(', '.join(error.exists))}"
        return Outcome(Refusal(problem, hint=error.hint or None))


def _command(op: Operation) -> Command:
    return parse(op.args["text"])


def _target(op: Operation) -> str:
    if "request" in op.args:
        return str(op.args["request"])
    words = str(op.args.get("text", "")).split()
    return words[1] if len(words) > 1 else "-"


def _succeeded(ctx: Context, action: str, target: str, reason: str = "") -> None:
    audit.record(ctx.db, actor=ctx.actor, action=action, target=target, outcome="succeeded", reason=reason)


# ---------------------------------------------------------------------------------------- create
def _create(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    command = _command(op)
    name, flags = str(command.args["name"]), command.flags
    existing = services.get_service(ctx.db, name)
    if existing and not (ctx.is_admin or owners.is_owner(ctx.db, name, ctx.actor)):
        who = ", ".join(f"<@{o.user_id}>" for o in owners.list_owners(ctx.db, name)) or "its owners"
        return Outcome(Refusal(f"*{escape(name)}* already exists and belongs to {who}."))
    target, subscription, group = _expose_target(ctx, clients, command)
    decision = authorize(
        ctx, "create", Resource(service=name, subscription=subscription, resource_group=group)
    )
    if not decision.allowed:
        return Outcome(Refusal(decision.reason))
    kept = existing.details if existing else {}
    visibility = _subscriptions(flags.get("visibility"), kept.get("visibility"), ctx.config.subscriptions)
    auto = _subscriptions(flags.get("auto-approve"), kept.get("auto_approval"), ())
    service = expose(
        clients,
        name,
        target,
        ports=tuple(flags.get("port") or ()),
        nat_ips=int(flags["nat-ips"]),
        visibility=visibility,
        auto_approval=auto,
        proxy_protocol=bool(flags["proxy-protocol"]),
        progress=progress,
    )
    services.upsert_service(
        ctx.db,
        name=name,
        pls_id=service.id,
        subscription=service.subscription or subscription,
        resource_group=service.resource_group or group,
        location=service.location or "",
        alias=service.alias or "",
        created_by=ctx.actor,
        owner_channel=(existing.owner_channel if existing else None) or ctx.channel,
        lb_managed=isinstance(target, VmTarget),
        details={
            "ports": [front for front, _ in service.ports],
            "vm": flags.get("vm"),
            "lb": flags.get("lb"),
            "visibility": list(visibility),
            "auto_approval": list(auto),
            "nat_ips": list(service.nat_ips),
        },
    )
    for person in {ctx.actor, *(u.id for u in flags.get("owners") or ())}:
        owners.add_owner(ctx.db, name, person, added_by=ctx.actor)
    _succeeded(ctx, "create", name, service.alias or "")
    return Outcome(Reply(f"{name} is exposed", describe.exposed_lines(service), public=True))


def _expose_target(ctx: Context, clients: Clients, command: Command) -> tuple[VmTarget | LbTarget, str, str]:
    """What to expose and where it lives, which the policy needs before anything changes."""
    flags = command.flags
    if flags.get("vm"):
        vm = find_vm(clients, ctx.config.subscriptions, str(flags["vm"]))
        return VmTarget(vm.name), vm.subscription, vm.resource_group
    target = LbTarget(str(flags["lb"]), str(flags["frontend"]))
    subscription, group, _ = network_path(find_lb(clients, target).id or "")
    return target, subscription, group


def _subscriptions(given: object, kept: object, default: tuple[str, ...]) -> tuple[str, ...]:
    """A flag wins; else what the service had; else natlink's subscriptions (its grants decide who may ask)."""
    if given:
        return tuple(given)  # type: ignore[arg-type]
    if kept is not None:
        return tuple(kept)  # type: ignore[arg-type]
    return default


# --------------------------------------------------------------------------------------- request
def _request(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    command = _command(op)
    flags = command.flags
    target = command.args["target"]
    service = services.find_service(ctx.db, getattr(target, "text", None) or str(target))
    if service is None:
        return Outcome(Refusal(f"natlink no longer knows *{escape(str(target))}*."))
    consumer, subscription, group, vnet, subnet = _consumer(ctx, clients, flags)
    decision = authorize(
        ctx, "request", Resource(service=service.name, subscription=subscription, resource_group=group)
    )
    if not decision.allowed:
        return Outcome(Refusal(decision.reason))
    pe_name = str(flags.get("name") or _endpoint_name(service.name, str(flags.get("vm") or subnet)))
    request = _find_or_create_request(ctx, service, subscription, vnet, subnet, pe_name, flags)
    token = PREFIX + request.id
    try:
        endpoint = request_endpoint(
            clients,
            service.alias,
            consumer,
            pe_name,
            token,
            ctx.actor,
            plain(str(flags.get("reason") or "")),
            progress,
        )
        connection = _connection(clients, service, token)
    except CloudError:
        requests.set_state(ctx.db, request.id, "failed")
        raise
    state = "approved" if connection.status == "Approved" else "pending"
    requests.attach_endpoint(
        ctx.db,
        request.id,
        pe_id=endpoint.id,
        pe_name=endpoint.name,
        vnet=vnet,
        subnet=subnet,
        connection_id=connection.id,
        link_identifier=connection.link_identifier,
    )
    request = requests.set_state(ctx.db, request.id, state)
    _succeeded(ctx, "request", service.name, request.id)
    lines = (
        f"`{request.id}`: endpoint *{escape(endpoint.name)}* has {endpoint.ip} in {escape(vnet)}/{escape(subnet)}.",
    )
    if state == "approved":
        return Outcome(Reply("Endpoint approved", lines + _mapping_lines(ctx, clients, service, request)))
    owner_ids = tuple(o.user_id for o in owners.list_owners(ctx.db, service.name))
    waiting = f"Waiting for an owner of *{escape(service.name)}* to approve."
    return Outcome(Reply("Endpoint requested", (*lines, waiting)), (CardNeeded(request, service, owner_ids),))


def _consumer(
    ctx: Context, clients: Clients, flags: dict
) -> tuple[str | SubnetRef, str, str | None, str, str]:
    """Where the endpoint goes: the VM's subnet, or the VNet and subnet named."""
    if flags.get("vm"):
        vm = find_vm(clients, ctx.config.subscriptions, str(flags["vm"]))
        return vm.name, vm.subscription, vm.resource_group, vm.vnet_name, vm.subnet_id.rsplit("/", 1)[-1]
    subscription = str(flags.get("subscription") or "")
    if not subscription:
        if len(ctx.config.subscriptions) != 1:
            raise CloudError(
                "SubscriptionRequired", "Say which subscription the VNet is in with --subscription."
            )
        subscription = ctx.config.subscriptions[0]
    ref = SubnetRef(subscription, str(flags["vnet"]), str(flags["subnet"]))
    return ref, subscription, None, ref.vnet, ref.subnet


def _endpoint_name(service: str, where: str) -> str:
    """One endpoint per service and consumer place by default, so asking twice reuses it."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"pe-{service}-{where}")[:80].rstrip(".-")


def _find_or_create_request(
    ctx: Context, service: Service, subscription: str, vnet: str, subnet: str, pe_name: str, flags: dict
) -> LinkRequest:
    """A rerun of the same operation (after a crash) finds the request it already made."""
    open_states = ("requested", "pending", "approved")
    for request in requests.list_requests(ctx.db, service=service.name, states=open_states):  # type: ignore[arg-type]
        if request.pe_name == pe_name and request.requester == ctx.actor:
            return request
    duration: timedelta | None = flags.get("for")
    return requests.create_request(
        ctx.db,
        service=service.name,
        requester=ctx.actor,
        consumer_subscription=subscription,
        vnet=vnet,
        subnet=subnet,
        pe_name=pe_name,
        reason=plain(str(flags.get("reason") or "")),
        expires_at=datetime.now(UTC) + duration if duration else None,
    )


def _connection(clients: Clients, service: Service, token: str) -> Connection:
    for connection in read_service(clients, service.pls_id).connections:
        if connection.token == token:
            return connection
    raise CloudError(
        "ConnectionNotFound", f"The endpoint was made but {service.name} shows no connection for {token}."
    )


def _mapping_lines(ctx: Context, clients: Clients, service: Service, request: LinkRequest) -> tuple[str, ...]:
    """Who sees what for this one connection, read from both sides' subscriptions."""
    snapshot = inventory.snapshot(clients, {service.subscription, request.consumer_subscription})
    rows: list[Mapping] = [
        m
        for m in mappings(snapshot)
        if m.service.lower() == service.name.lower()
        and (m.connection or "").lower() == _connection_name(request)
    ]
    return tuple(describe.mapping_sentence(m) for m in rows)


def _connection_name(request: LinkRequest) -> str:
    return (request.connection_id or "").rsplit("/", 1)[-1].lower()


# -------------------------------------------------------------------------------------- decide
def _decide(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    request = requests.get_request(ctx.db, op.args["request"])
    service = services.get_service(ctx.db, request.service) if request else None
    if request is None or service is None:
        return Outcome(Refusal(f"request `{escape(str(op.args['request']))}` or its service is gone."))
    verb, reason = str(op.args["verb"]), str(op.args.get("reason") or "")
    description = f"{'Approved' if verb == 'approve' else 'Rejected'} by {ctx.actor}" + (
        f": {plain(reason)}" if reason else ""
    )
    try:
        progress(f"{verb} the connection in Azure")
        decide_connection(clients, service.pls_id, request.pe_id or PREFIX + request.id, verb, description)
    except CloudError as error:
        reopened = requests.set_state(ctx.db, request.id, "pending")
        audit.record(
            ctx.db,
            actor=ctx.actor,
            action=verb,
            target=service.name,
            outcome="failed",
            reason=f"{error.code}: {error.message}",
        )
        problem = f"Azure refused to {verb} `{request.id}`: {escape(error.code)}: {escape(error.message)}"
        return Outcome(Refusal(problem, hint=error.hint or None), (CardReopened(reopened, problem),))
    _succeeded(ctx, verb, service.name, request.id)
    if verb == "approve" and op.args.get("for_seconds"):
        ends = datetime.now(UTC) + timedelta(seconds=int(op.args["for_seconds"]))
        request = requests.set_expiry(ctx.db, request.id, ends)
    outcome = [
        f"`{request.id}` for *{escape(service.name)}* was {request.state} by <@{ctx.actor}>"
        + (f": {escape(reason)}" if reason else ".")
    ]
    if verb == "approve":
        outcome += list(_mapping_lines(ctx, clients, service, request))
    tell = Tell(request.requester, Reply(f"Your request {request.id} was {request.state}", tuple(outcome)))
    return Outcome(Reply(f"{request.id} {request.state}", tuple(outcome)), (CardDecided(request), tell))


# -------------------------------------------------------------------------------------- revoke
def _revoke(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    request = requests.get_request(ctx.db, _command(op).args["request"])  # type: ignore[arg-type]
    service = services.get_service(ctx.db, request.service) if request else None
    if request is None or service is None:
        return Outcome(Refusal("that request or its service is gone."))
    progress("remove the connection in Azure")
    try:
        decide_connection(
            clients, service.pls_id, request.pe_id or PREFIX + request.id, "remove", f"Revoked by {ctx.actor}"
        )
    except CloudError as error:
        if error.code != "ConnectionNotFound":
            raise
    requests.set_state(ctx.db, request.id, "removed")
    _succeeded(ctx, "revoke", service.name, request.id)
    line = f"`{request.id}` for *{escape(service.name)}* was revoked by <@{ctx.actor}>; its endpoint is now Disconnected."
    return Outcome(
        Reply(f"{request.id} revoked", (line,)), (Tell(request.requester, Reply("Access revoked", (line,))),)
    )


# -------------------------------------------------------------------------------------- delete
def _delete(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    command = _command(op)
    service = services.get_service(ctx.db, str(command.args["service"]))
    if service is None:
        return Outcome(Refusal(f"natlink no longer knows *{escape(str(command.args['service']))}*."))
    delete_service(clients, service.pls_id, force=bool(command.flags["force"]), progress=progress)
    services.mark_state(ctx.db, service.name, "deleted")
    for request in requests.list_requests(
        ctx.db, service=service.name, states=("requested", "pending", "approved")
    ):  # type: ignore[arg-type]
        requests.set_state(ctx.db, request.id, "removed")
    _succeeded(ctx, "delete", service.name)
    return Outcome(
        Reply(
            f"{service.name} deleted",
            (f"*{escape(service.name)}* and its private link service are gone.",),
            public=True,
        )
    )


# ------------------------------------------------------------------------------------ status/map
def _status(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    command = _command(op)
    name = command.args.get("service")
    if command.flags.get("refresh"):
        progress("sweep Azure first")
        sweep.sweep(ctx.db, ctx.config, clients)
    stored = _stored(ctx, name)
    unreadable: tuple[str, ...] = ()
    if name:  # one service: read it alone (a few GETs), not every subscription
        live = {s.pls_id.lower(): _read_or_none(clients, s.pls_id) for s in stored}
    else:
        snapshot = inventory.snapshot(clients, ctx.config.subscriptions)
        live = {s.id.lower(): s for s in snapshot.services}
        unreadable = tuple(
            f"Could not read subscription `{u.subscription}`: {escape(u.code)}" for u in snapshot.unreadable
        )
    lines = tuple(_status_line(s, live.get(s.pls_id.lower())) for s in stored)
    return Outcome(
        Reply(
            "Status",
            (*lines, *unreadable, _sweep_age(ctx)) if lines else (),
            empty="natlink manages no services yet.",
        )
    )


def _read_or_none(clients: Clients, service_id: str) -> LiveService | None:
    try:
        return read_service(clients, service_id)
    except CloudError as error:
        if error.code in ("ServiceNotFound", "ResourceNotFound", "NotFound"):
            return None
        raise


def _status_line(stored: Service, live: LiveService | None) -> str:
    if live is None:
        return f"*{escape(stored.name)}*: down — not found in Azure (deleted outside natlink?)"
    health = service_health(live)
    counts: dict[str, int] = {}
    for connection in live.connections:
        status = (connection.status or "?").lower()
        counts[status] = counts.get(status, 0) + 1
    connections = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
    return (
        f"*{escape(stored.name)}* {health.level}: {escape(health.reason)}; NAT {', '.join(live.nat_ips) or '?'}; "
        f"connections {connections}"
    )


def _sweep_age(ctx: Context) -> str:
    """How fresh the scheduler's view is: its alerts come from the latest sweep."""
    last = sweep.last_sweep(ctx.db)
    if last is None:
        return "_The scheduler has not swept yet; `/natlink status --refresh` sweeps now._"
    minutes = int((datetime.now(UTC) - last).total_seconds() // 60)
    return f"_Latest sweep {minutes} min ago; `--refresh` sweeps now._"


def _map(ctx: Context, clients: Clients, op: Operation, progress: Progress) -> Outcome:
    name = _command(op).args.get("service")
    wanted = {s.name.lower() for s in _stored(ctx, name)}
    snapshot = inventory.snapshot(clients, ctx.config.subscriptions)
    rows = [describe.mapping_row(m) for m in mappings(snapshot) if m.service.lower() in wanted]
    return Outcome(Reply("Address map", tuple(rows), empty="No connections to map yet."))


def _stored(ctx: Context, name: object) -> list[Service]:
    if name and name != STAR:
        found = services.get_service(ctx.db, str(name))
        return [found] if found else []
    return services.list_services(ctx.db, state="active")


RUNNERS: dict[str, Callable[[Context, Clients, Operation, Progress], Outcome]] = {
    "create": _create,
    "request": _request,
    "decide": _decide,
    "revoke": _revoke,
    "delete": _delete,
    "status": _status,
    "map": _map,
}
