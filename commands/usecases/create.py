"""``create``: expose a VM port, or a load balancer frontend, as a private link service.

The worker's second check places the target (the VM's or the load balancer's subscription and
resource group) before the policy judges the ``create`` grant; ``expose`` converges when rerun.
When Azure's rules for the VM's NIC stop it before any write (issue 9), the refusal shows the
exact command that would work: on the other load balancer's frontend, or with
``--accept-no-outbound``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.expose import (
    NO_OUTBOUND,
    TAKEN_OVER,
    LbTarget,
    PortAlreadyExposed,
    VmInAnotherLoadBalancer,
    VmTarget,
    WouldLoseOutbound,
    expose,
    find_lb,
)
from cloud.ids import network_path
from cloud.vms import find_vm
from storage import owners, services
from storage.records import Service

from .. import describe
from ..context import Context
from ..declare import SLASH
from ..escapes import escape
from ..policy import Resource
from ..replies import Outcome, Refusal, Reply
from ..usecase import Job, Located, Payload, succeeded

NOTES = (NO_OUTBOUND, TAKEN_OVER)
"""Progress notes that stay in the final reply: what the owner must know after the create is done."""


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
    accept_no_outbound: bool = False


@dataclass(frozen=True)
class Placement(Located):
    """Where the service goes: a VM, or an existing frontend."""

    target: VmTarget | LbTarget


def locate(ctx: Context, clients: Clients, payload: Create) -> Placement | Refusal:
    """Find the VM or load balancer: its subscription and resource group are what the grant must cover."""
    if services.is_adopted(ctx.db, payload.name):  # before any Azure read: natlink never converges it
        return Refusal(
            f"*{escape(payload.name)}* is adopted: whoever made it (Terraform, the portal, AKS) owns its "
            "private link service and load balancer, and natlink never changes them.",
            hint="Change it where it was made, or pick another name.",
        )
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
    notes: list[str] = []

    def progress(line: str) -> None:
        notes.append(line)
        job.progress(line)

    try:
        service = expose(
            job.clients,
            payload.name,
            placed.target,
            ports=payload.port,
            nat_ips=payload.nat_ips,
            visibility=visibility,
            auto_approval=auto,
            proxy_protocol=payload.proxy_protocol,
            progress=progress,
            accept_no_outbound=payload.accept_no_outbound,
        )
    except (VmInAnotherLoadBalancer, PortAlreadyExposed, WouldLoseOutbound) as refused:
        raise CloudError(
            refused.code, refused.message, refused.resource, _way_on(payload, refused)
        ) from refused
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
    lines = describe.exposed_lines(service, ctx.config.portal) + tuple(
        escape(n) for n in notes if n.endswith(NOTES)
    )
    cannot = ctx.cannot_post(ctx.channel) if ctx.channel else None
    if cannot:
        lines += (
            f":warning: {cannot[1]}: until then approval cards and alerts for it go to its owners by DM.",
        )
    return Outcome(Reply(f"{payload.name} is exposed", lines, public=True, share=payload.name))


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


def _way_on(payload: Create, refused: CloudError) -> str:
    """The hint for a refusal of Azure's NIC rules: the exact command that would work, when one would."""
    if isinstance(refused, VmInAnotherLoadBalancer) and refused.frontends:
        other = _command(payload, lb=refused.lb_name, frontend=refused.frontends[0])
        also = ", ".join(f"`{escape(f)}`" for f in refused.frontends[1:])
        return f"Expose it from that load balancer's frontend instead: `{other}`" + (
            f" (its other frontends that reach the VM: {also})." if also else "."
        )
    if isinstance(refused, PortAlreadyExposed) and refused.service:
        return (
            f"`{SLASH} share {escape(refused.service)}` posts its alias with a Request endpoint button; "
            "or expose another port."
        )
    if isinstance(refused, WouldLoseOutbound):
        return (
            f"{escape(refused.remedy)} If the VM needs no internet access: `{_command(payload, accept=True)}`"
        )
    return escape(refused.hint)


def _command(
    payload: Create, lb: str | None = None, frontend: str | None = None, accept: bool = False
) -> str:
    """``/natlink create`` with this payload's settings, on ``lb``/``frontend`` instead of the VM when
    given; mrkdwn-safe (names are escaped, owners are mentions of validated user IDs)."""
    words = [SLASH, "create", payload.name]
    if lb:
        words += ["--lb", lb, "--frontend", frontend or ""]
    else:
        words += ["--vm", payload.vm or "", "--port", ",".join(map(str, payload.port))]
        words += ["--accept-no-outbound"] if accept or payload.accept_no_outbound else []
    words += ["--nat-ips", str(payload.nat_ips)] if payload.nat_ips != 1 else []
    words += ["--visibility", ",".join(payload.visibility)] if payload.visibility else []
    words += ["--auto-approve", ",".join(payload.auto_approve)] if payload.auto_approve else []
    words += ["--proxy-protocol"] if payload.proxy_protocol else []
    text = escape(" ".join(words))
    return text + (" --owners " + ",".join(f"<@{o}>" for o in payload.owners) if payload.owners else "")


def _subscriptions(given: tuple[str, ...] | None, kept: object, default: tuple[str, ...]) -> tuple[str, ...]:
    """A flag wins; else what the service had; else natlink's subscriptions (its grants decide who may ask)."""
    if given:
        return given
    if kept is not None:
        return tuple(kept)  # type: ignore[arg-type]
    return default
