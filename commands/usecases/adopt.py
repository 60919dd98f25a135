"""``adopt``: take on a private link service made elsewhere (Terraform, Bicep, the portal, AKS).

natlink becomes its approval, health and mapping layer, and nothing more: it records the service,
its owners and owner channel, and gives each connection pending at adoption its approval card at
once, as the sweep does for a connection made outside natlink (``sweep.record_outside``); each
connection already approved is recorded too, so ``revoke`` and expiry can reach it. It never
changes the service's load balancer or private link service: ``create`` refuses an adopted name,
``delete`` points at ``forget``, which only drops natlink's records.

Azure is read before anything is recorded: the worker's second check finds the service (by
resource ID, or by a name unique across natlink's subscriptions) and the policy judges the grant
on its scope. ``adopt --scan`` lists what could be adopted, with the connections that wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cloud import adopt as azure
from cloud.clients import Clients
from cloud.model import Connection
from cloud.services import read_service
from storage import owners, requests, services
from storage.records import LinkRequest, RequestState, Service

from .. import describe
from ..context import Context
from ..declare import SLASH
from ..escapes import escape
from ..policy import Resource
from ..replies import CardNeeded, Outcome, Refusal, Reply
from ..sweep import record_outside
from ..usecase import Job, Located, Payload, succeeded
from ..validate import InvalidValue
from ..validate import service as service_name
from ..validate import subscription as subscription_id

USAGE = f"{SLASH} adopt <pls name | resource id> [--name N] [--owners @a,@b] [--channel #c]"


@dataclass(frozen=True)
class Adopt(Payload):
    TARGET = "pls"
    pls: str | None = None
    name: str | None = None
    owners: tuple[str, ...] = ()
    channel: str | None = None
    scan: bool = False


@dataclass(frozen=True)
class Found(Located):
    """The service Azure holds, and the name natlink will know it by (None for a scan)."""

    found: azure.Adoptable | None = None
    name: str = ""


def place(ctx: Context, payload: Adopt) -> Resource | Refusal:
    """The first check, on natlink's records: a name or service it already knows is refused here."""
    if payload.scan:
        if payload.owners or payload.channel or payload.name:
            return Refusal("`--scan` only lists; it takes no --name, --owners or --channel.", usage=USAGE)
        return Resource(located=False)
    if payload.pls is None:
        return Refusal("say which private link service to adopt, or `--scan` to list them.", usage=USAGE)
    for known in (payload.pls, payload.name):
        if known and (refused := _known(ctx, known)):
            return refused
    return Resource(service=payload.name or _bare(payload.pls), located=False)


def locate(ctx: Context, clients: Clients, payload: Adopt) -> Found | Refusal:
    """Read Azure first: the service, where it is (what the grant must cover), and who made it."""
    if payload.scan:
        return Found(Resource(located=False))
    found = azure.find(clients, ctx.config.subscriptions, str(payload.pls))
    if found.natlink_made:
        return Refusal(
            f"natlink made *{escape(found.name)}* (it carries natlink's `managed-by` tag): there is "
            "nothing to adopt.",
            hint=f"`{SLASH} create` converges a service natlink made; `{SLASH} list` shows the ones it knows.",
        )
    if refused := _known(ctx, found.id):
        return refused
    if found.subscription.lower() not in {s.lower() for s in ctx.config.subscriptions}:
        return _unwatched(found.subscription)
    earlier = services.get_by_pls_id(ctx.db, found.id)  # forgotten, or gone: it keeps its name
    name = payload.name or (earlier.name if earlier else found.name.lower())
    if earlier is not None and earlier.name.lower() != name.lower():
        return Refusal(
            f"natlink knew *{escape(found.name)}* as *{escape(earlier.name)}* before; adopt it under that name."
        )
    try:
        name = service_name(name)
    except InvalidValue as bad:
        return Refusal(
            f"*{escape(found.name)}* cannot be a natlink service name: {bad}.",
            hint=f"Give it one: `{SLASH} adopt {escape(found.id)} --name <name>`.",
        )
    if refused := _known(ctx, name):
        return refused
    taken = services.get_service(ctx.db, name)
    if taken is not None and taken.pls_id.lower() != found.id.lower():
        return Refusal(
            f"the name *{escape(name)}* was another private link service's, and a service name keeps its "
            "target for life.",
            hint="Pick another with `--name`.",
        )
    where = Resource(service=name, subscription=found.subscription, resource_group=found.resource_group)
    return Found(where, found, name)


def run(job: Job[Adopt, Found]) -> Outcome:
    assert job.located is not None
    if job.payload.scan:
        return Outcome(_scan(job))
    ctx, payload, found = job.ctx, job.payload, job.located.found
    assert found is not None
    channel = payload.channel or ctx.channel
    cannot = ctx.cannot_post(channel) if channel else None
    if cannot and cannot[0]:
        return Outcome(Refusal(f"{cannot[1]}, then adopt it again. Nothing was recorded."))
    live = read_service(job.clients, found.id)
    service = services.upsert_service(
        ctx.db,
        name=job.located.name,
        pls_id=live.id,
        subscription=found.subscription,
        resource_group=found.resource_group,
        location=live.location or "",
        alias=live.alias or "",
        created_by=ctx.actor,
        owner_channel=channel,
        details={
            "ports": [front for front, _ in live.ports],
            "lb": live.load_balancer,
            "nat_ips": list(live.nat_ips),
            "tags": dict(found.tags),
        },
        origin="adopted",
    )
    for person in {ctx.actor, *payload.owners}:
        owners.add_owner(ctx.db, service.name, person, added_by=ctx.actor)
    waiting = [r for c in live.connections if c.status == "Pending" and (r := _waiting(ctx, service, c))]
    approved = [
        r
        for c in live.connections
        if c.status == "Approved" and (r := _recorded(ctx, service, c, "approved"))
    ]
    succeeded(ctx, "adopt", service.name, live.id)
    owner_ids = tuple(o.user_id for o in owners.list_owners(ctx.db, service.name))
    lines = (
        f"*{escape(found.name)}* in `{found.subscription}`/{escape(found.resource_group)}, on load balancer "
        f"{escape(live.load_balancer or '?')}; natlink never changes either.",
        *describe.exposed_lines(live, ctx.config.portal)[:3],
        f"{len(waiting)} connection(s) wait for a decision: their approval cards follow."
        if waiting
        else "No connection waits for a decision.",
        *(
            (
                f"{len(approved)} connection(s) were already approved: "
                + ", ".join(f"`{r.id}` ({escape(r.pe_name or '?')})" for r in approved)
                + f"; `{SLASH} revoke <id>` cuts one off.",
            )
            if approved
            else ()
        ),
        f"Stop watching it with `{SLASH} forget {escape(service.name)}` (Azure is left as it is).",
    )
    if cannot:
        lines += (f":warning: {cannot[1]}: until then approval cards for it go to its owners by DM.",)
    notices = tuple(CardNeeded(r, service, owner_ids) for r in waiting)
    return Outcome(Reply(f"{service.name} adopted", lines, public=True), notices)


def _waiting(ctx: Context, service: Service, connection: Connection) -> LinkRequest | None:
    """The request behind a pending connection: recorded as the sweep records one made outside
    natlink, or, for a connection natlink knew before the service was forgotten, reopened."""
    made = _recorded(ctx, service, connection, "pending")
    if made is not None:
        return made
    known = requests.find_by_connection_id(ctx.db, connection.id.lower())
    if known is not None and known.state == "gone":
        return requests.set_state(ctx.db, known.id, "pending")
    return None


def _recorded(
    ctx: Context, service: Service, connection: Connection, state: RequestState
) -> LinkRequest | None:
    """A request for a connection made outside natlink, as the sweep records one; None when natlink
    already has one for it."""
    value = {
        "pe": connection.private_endpoint_id,
        "token": connection.token,
        "link": connection.link_identifier,
        "subscription": connection.endpoint_subscription,
    }
    return record_outside(ctx.db, service, connection.id.lower(), value, datetime.now(UTC), state)


def _scan(job: Job[Adopt, Found]) -> Reply | Refusal:
    """What natlink could adopt: every service it does not know and did not make, with what waits."""
    ctx, wanted = job.ctx, job.payload.pls
    if wanted is not None:
        try:
            wanted = subscription_id(wanted)
        except InvalidValue as bad:
            return Refusal(f"{bad}.", usage=f"{SLASH} adopt --scan [subscription]")
        if wanted not in {s.lower() for s in ctx.config.subscriptions}:
            return _unwatched(wanted)
    found = azure.scan(job.clients, (wanted,) if wanted else ctx.config.subscriptions)
    known = {s.pls_id.lower() for s in services.list_services(ctx.db, state="active")}
    rows = [s for s in found.services if s.id.lower() not in known and not s.natlink_made]
    lines = tuple(
        f"*{escape(s.name)}* in `{s.subscription}`/{escape(s.resource_group)}, load balancer "
        f"{escape(s.load_balancer or '?')}: {s.pending} pending of {s.connections} connection(s)"
        for s in sorted(rows, key=lambda s: (-s.pending, s.name.lower()))
    ) + tuple(
        f":warning: subscription `{u.subscription}` could not be read ({u.code})." for u in found.unreadable
    )
    return Reply(
        "Private link services natlink could adopt",
        lines + ((f"Adopt one with `{SLASH} adopt <name>` (or its resource ID).",) if rows else ()),
        empty="natlink knows every private link service it can see.",
    )


def _known(ctx: Context, reference: str) -> Refusal | None:
    """A service natlink watches already (by name, alias or PLS ID) is not adopted twice."""
    known = services.find_service(ctx.db, reference)
    if known is None or known.state != "active":
        return None
    how = "adopted" if services.is_adopted(ctx.db, known.name) else "made by natlink"
    return Refusal(
        f"natlink already knows *{escape(reference)}*: it is the service *{escape(known.name)}* ({how}).",
        hint=f"`{SLASH} status {escape(known.name)}` shows it; `{SLASH} owners {escape(known.name)} list`, "
        "who runs it.",
    )


def _unwatched(subscription: str) -> Refusal:
    """natlink sweeps only NATLINK_SUBSCRIPTIONS: a service elsewhere would get no card, health or map."""
    return Refusal(
        f"natlink does not watch subscription `{escape(subscription)}`.",
        hint="Add it to NATLINK_SUBSCRIPTIONS: natlink sweeps only those.",
    )


def _bare(reference: str) -> str | None:
    """The name in a reference, for the audit of a refusal: a resource ID's last segment."""
    return reference.rsplit("/", 1)[-1] or None
