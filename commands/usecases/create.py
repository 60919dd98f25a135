"""``create``: expose a VM port, or a load balancer frontend, as a private link service.

The worker's second check places the target (the VM's or the load balancer's subscription and
resource group) before the policy judges the ``create`` grant; ``expose`` converges when rerun.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.clients import Clients
from cloud.expose import LbTarget, VmTarget, expose, find_lb
from cloud.ids import network_path
from cloud.vms import find_vm
from storage import owners, services
from storage.records import Service

from .. import describe
from ..context import Context
from ..escapes import escape
from ..policy import Resource
from ..replies import Outcome, Refusal, Reply
from ..usecase import Job, Located, Payload, succeeded


@dataclass(frozen=True)
class Create(Payload):
    TARGET = "name"
    name: str
    vm: str | None = None
    port: tuple[int, ...] = ()
    lb: str | None = None
    frontend: str | None = None
    nat_ips: int = 1
    visibility: tuple[str, ...] | None = None
    auto_approve: tuple[str, ...] | None = None
    proxy_protocol: bool = False
    owners: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placement(Located):
    """Where the service goes: a VM, or an existing frontend."""

    target: VmTarget | LbTarget


def locate(ctx: Context, clients: Clients, payload: Create) -> Placement:
    """Find the VM or load balancer: its subscription and resource group are what the grant must cover."""
    if payload.vm:
        vm = find_vm(clients, ctx.config.subscriptions, payload.vm)
        where = Resource(service=payload.name, subscription=vm.subscription, resource_group=vm.resource_group)
        return Placement(where, VmTarget(vm.name))
    target = LbTarget(str(payload.lb), str(payload.frontend))
    subscription, group, _ = network_path(find_lb(clients, target).id or "")
    return Placement(Resource(service=payload.name, subscription=subscription, resource_group=group), target)


def run(job: Job[Create, Placement]) -> Outcome:
    ctx, payload, placed = job.ctx, job.payload, job.located
    assert placed is not None
    existing = services.get_service(ctx.db, payload.name)
    if existing is not None and not _same_target(existing, payload, placed):
        return Outcome(_repointing(existing))
    kept = existing.details if existing else {}
    visibility = _subscriptions(payload.visibility, kept.get("visibility"), ctx.config.subscriptions)
    auto = _subscriptions(payload.auto_approve, kept.get("auto_approval"), ())
    service = expose(
        job.clients,
        payload.name,
        placed.target,
        ports=payload.port,
        nat_ips=payload.nat_ips,
        visibility=visibility,
        auto_approval=auto,
        proxy_protocol=payload.proxy_protocol,
        progress=job.progress,
    )
    services.upsert_service(
        ctx.db,
        name=payload.name,
        pls_id=service.id,
        subscription=service.subscription or str(placed.resource.subscription),
        resource_group=service.resource_group or str(placed.resource.resource_group),
        location=service.location or "",
        alias=service.alias or "",
        created_by=ctx.actor,
        owner_channel=(existing.owner_channel if existing else None) or ctx.channel,
        lb_managed=isinstance(placed.target, VmTarget),
        details={
            "ports": [front for front, _ in service.ports],
            "vm": payload.vm,
            "lb": payload.lb,
            "frontend": payload.frontend,
            "visibility": list(visibility),
            "auto_approval": list(auto),
            "nat_ips": list(service.nat_ips),
        },
    )
    for person in {ctx.actor, *payload.owners}:
        owners.add_owner(ctx.db, payload.name, person, added_by=ctx.actor)
    succeeded(ctx, "create", payload.name, service.alias or "")
    return Outcome(Reply(f"{payload.name} is exposed", describe.exposed_lines(service), public=True))


def _same_target(existing: Service, payload: Create, placed: Placement) -> bool:
    """Invariant 2: a service name stays with one private link service, so with one target, for life.

    Re-running ``create`` on the same VM or frontend converges (ports, NAT IPs, visibility may
    change); another target under the same name would re-point the name and orphan its connections.
    """
    kept, where = existing.details, placed.resource
    if str(where.subscription).lower() != existing.subscription.lower():
        return False
    if payload.vm:
        return str(kept.get("vm") or "").lower() == payload.vm.lower()
    same_lb = str(kept.get("lb") or "").lower() == str(payload.lb).lower()
    frontend = kept.get("frontend")  # services created before natlink recorded the frontend
    return same_lb and (frontend is None or str(frontend).lower() == str(payload.frontend).lower())


def _repointing(existing: Service) -> Refusal:
    kept = existing.details
    target = (
        f"VM {kept['vm']}"
        if kept.get("vm")
        else f"load balancer {kept.get('lb')} {kept.get('frontend') or ''}"
    )
    ports = ", ".join(str(p) for p in kept.get("ports") or []) or "?"
    return Refusal(
        f"*{escape(existing.name)}* already exposes {escape(target.strip())} (ports {ports}) in subscription "
        f"`{existing.subscription}`; a service name keeps its target for life.",
        hint=f"Pick another name, or `/natlink delete {escape(existing.name)}` first.",
    )


def _subscriptions(given: tuple[str, ...] | None, kept: object, default: tuple[str, ...]) -> tuple[str, ...]:
    """A flag wins; else what the service had; else natlink's subscriptions (its grants decide who may ask)."""
    if given:
        return given
    if kept is not None:
        return tuple(kept)  # type: ignore[arg-type]
    return default
