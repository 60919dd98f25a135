"""``verify``: prove a link's double NAT with Azure Network Watcher, as the walkthrough did by hand.

Three lines per connection, side by side like the seed's two checks: what A connects to (the
endpoint's address and port: reachable or not, and the first cause natlink can name when not),
what arrives at B (the backend's address and port), and what B sees as the source (the NAT IP,
never A). Each is *proven*, *failed* or *not checked*; the packet capture (``--capture``) proves
the last two. The latest verification of each connection is kept, and ``status``, ``map`` and the
digest show it with its age.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from cloud import causes, ids, inventory, metrics, tokens, watcher
from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.mapping import mappings
from cloud.model import Endpoint, Mapping, Snapshot, VmInfo
from cloud.model import Service as LiveService
from cloud.vms import find_vm
from storage import requests, services, verifications
from storage.records import LinkRequest, Service
from storage.verifications import Verification

from .. import cards, payloads
from ..context import Context
from ..escapes import escape
from ..policy import Resource
from ..replies import FollowUp, Outcome, Refusal, Reply
from ..resources import unknown_request, unknown_service
from ..usecase import Job, Payload, succeeded

MAX_CONNECTIONS = 5
"""A service's connections verified by one command; a check takes seconds and a capture minutes."""
PROVEN, FAILED, UNCHECKED = "proven", "failed", "not checked"
_MARKS = {PROVEN: ":white_check_mark: proven", FAILED: ":x: failed", UNCHECKED: ":white_circle: not checked"}


@dataclass(frozen=True)
class Verify(Payload):
    TARGET = "target"
    target: str
    capture: int | None = None
    install_agent: bool = False


def target(ctx: Context, payload: Verify) -> Resource | Refusal:
    """One request (judged with its requester) or a service (its owners)."""
    if tokens.is_request_id(payload.target):
        request = requests.get_request(ctx.db, payload.target)
        if request is None:
            return unknown_request(payload.target)
        return Resource(service=request.service, requester=request.requester)
    found = services.get_service(ctx.db, payload.target)
    return Resource(service=found.name) if found else unknown_service(payload.target)


def after_approval(ctx: Context, request_id: str) -> bool:
    """Queue a verification of a connection just approved (``NATLINK_VERIFY_AFTER_APPROVAL``).

    Its result is news for the owners who follow the request: it goes in the card's thread in the
    owner channel, wherever the decision was typed; without a card there (it went to the owners
    by DM), it goes where the decision was made, as before (``commands/cards.py``). Returns
    whether it goes in the card's thread."""
    request = requests.get_request(ctx.db, request_id)
    service = services.get_service(ctx.db, request.service) if request else None
    if request and service and request.card_ts and request.card_channel == service.owner_channel:
        ctx = replace(ctx, channel=request.card_channel)
    payloads.enqueue(ctx, "verify", Verify(request_id), key=f"verify-after-approval:{request_id}")
    return cards.thread(ctx.db, request_id, ctx.channel) is not None


def run(job: Job[Verify, None]) -> Outcome:
    ctx, payload = job.ctx, job.payload
    chosen = _chosen(ctx, payload.target)
    if isinstance(chosen, Refusal):
        return Outcome(chosen)
    service, links = chosen
    job.progress("read the link from Azure")
    snapshot = inventory.snapshot(
        job.clients, (service.subscription, *(r.consumer_subscription for r in links))
    )
    lines: list[str] = []
    for request in links[:MAX_CONNECTIONS]:
        try:
            lines += _verify(job, service, request, snapshot)
        except CloudError as error:
            if len(links) == 1:
                raise
            lines += [f"`{request.id}`: not verified: {escape(error.code)}: {escape(error.message)}"]
            lines += [f"  {escape(error.hint)}"] if error.hint else []
    if len(links) > MAX_CONNECTIONS:
        rest = ", ".join(f"`{r.id}`" for r in links[MAX_CONNECTIONS:])
        lines.append(f"{len(links) - MAX_CONNECTIONS} more not verified now: {rest}; verify each by its id.")
    succeeded(ctx, "verify", service.name, ", ".join(r.id for r in links[:MAX_CONNECTIONS]))
    about = links[0].id if tokens.is_request_id(payload.target) else None
    reply = Reply(f"Verify {escape(payload.target)}", tuple(lines), about=about)
    return Outcome(reply, _follow(ctx, service, payload.target, links, reply))


def _follow(
    ctx: Context, service: Service, target: str, links: list[LinkRequest], reply: Reply
) -> tuple[FollowUp, ...]:
    """One request verified from elsewhere: its result in the card's thread too, for the owners who
    follow it (issue 12, §3). Typed in the card's channel, the answer is already in the thread
    (``bot/worker.py``); a card the owners got by DM gets none, as for the decision."""
    if len(links) != 1 or not tokens.is_request_id(target):
        return ()
    request = links[0]
    if cards.thread(ctx.db, request.id, ctx.channel) or not cards.thread(
        ctx.db, request.id, service.owner_channel
    ):
        return ()
    return (FollowUp(cards.current(ctx.db, request.id) or request, reply),)


def _chosen(ctx: Context, wanted: str) -> tuple[Service, list[LinkRequest]] | Refusal:
    """The service and the requests to verify: one, or the service's approved ones."""
    if tokens.is_request_id(wanted):
        request = requests.get_request(ctx.db, wanted)
        service = services.get_service(ctx.db, request.service) if request else None
        if request is None or service is None:
            return Refusal(f"request `{escape(wanted)}` or its service is gone.")
        return service, [request]
    service = services.get_service(ctx.db, wanted)
    if service is None:
        return unknown_service(wanted)
    approved = requests.list_requests(ctx.db, service=service.name, states=("approved",))
    if not approved:
        return Refusal(
            f"*{escape(service.name)}* has no approved connection to verify.",
            hint="`/natlink pending` lists the requests waiting for a decision.",
        )
    return service, approved


@dataclass(frozen=True)
class _Link:
    """One connection as the snapshot shows it: both VMs, the addresses and the port checked."""

    request: LinkRequest
    live: LiveService | None
    row: Mapping | None
    endpoint: Endpoint
    port: int
    exposed: bool

    @property
    def address(self) -> str:
        """The endpoint's address: what A connects to."""
        return self.endpoint.ip or "?"


def _verify(job: Job[Verify, None], service: Service, request: LinkRequest, snapshot: Snapshot) -> list[str]:
    clients, payload = job.clients, job.payload
    link = _link(service, request, snapshot)
    job.progress("check the preconditions: Network Watcher, rights, agent, capture storage")
    ready = _ready(clients, service, link, payload)

    def reach() -> watcher.Reachability:
        job.progress(f"connectivity check from {ready.consumer.name} to {link.address}:{link.port}")
        return watcher.check(clients, ready.consumer_watcher, ready.consumer, link.address, link.port)

    if ready.capture is None:
        return _judged(job, service, link, ready, reach(), None)
    watcher_b, vm_b, store = ready.capture
    job.progress(f"capture on {vm_b.name} for {payload.capture} s while a check sends traffic")
    checked: list[watcher.Reachability] = []
    captured = watcher.capture(
        clients,
        watcher_b,
        vm_b,
        _backend_port(link),
        int(payload.capture or 0),
        store,
        lambda: checked.append(reach()),
        f"natlink-{request.id}-{int(time.time())}",
    )
    return _judged(job, service, link, ready, checked[0], captured)


@dataclass(frozen=True)
class _Ready:
    """Every precondition met: the consumer VM and its watcher, and for a capture the provider's."""

    consumer: VmInfo
    consumer_watcher: watcher.Watcher
    capture: tuple[watcher.Watcher, VmInfo, watcher.CaptureStore] | None
    installed: tuple[str, ...]


def _ready(clients: Clients, service: Service, link: _Link, payload: Verify) -> _Ready:
    """Each precondition in turn, failing alone with its fix: the watchers, the rights, the agents,
    the capture account."""
    consumer = _consumer_vm(clients, link.request, link.endpoint)
    consumer_watcher = watcher.watcher_for(clients, consumer.subscription, consumer.location)
    provider = _provider_vm(clients, service, link) if payload.capture else None
    provider_side = (
        (watcher.watcher_for(clients, provider.subscription, provider.location), provider)
        if provider
        else None
    )
    storage_id = clients.settings.capture_storage
    needs = watcher.rights_needed(
        (consumer_watcher, consumer), provider_side, storage_id, payload.install_agent
    )
    watcher.require_rights(clients, f"verify `{link.request.id}`", needs)
    vms = [consumer, *([provider] if provider else [])]
    installed = tuple(vm.name for vm in vms if watcher.ensure_agent(clients, vm, payload.install_agent))
    capture = (*provider_side, watcher.capture_store(clients, storage_id)) if provider_side else None
    return _Ready(consumer, consumer_watcher, capture, installed)


def _link(service: Service, request: LinkRequest, snapshot: Snapshot) -> _Link:
    live = next((s for s in snapshot.services if ids.key(s.id) == ids.key(service.pls_id)), None)
    connection = _connection_name(request, live)
    rows = [
        m
        for m in mappings(snapshot)
        if m.service.lower() == service.name.lower() and (m.connection or "").lower() == connection
    ]
    endpoint = next((e for e in snapshot.endpoints if ids.key(e.id) == ids.key(request.pe_id)), None)
    stored = [int(p) for p in service.details.get("ports", [])]
    live_ports = [m.port for m in rows if m.port is not None]
    port = next(iter(stored or live_ports), None)
    row = next((m for m in rows if m.port == port and m.backend_ip), None) or next(iter(rows), None)
    if port is None:
        # NoServicePort: natlink's own code
        raise CloudError(
            "NoServicePort", f"natlink knows no port of *{service.name}* to check.", service.pls_id
        )
    if endpoint is None or endpoint.ip is None:
        # EndpointNotReadable: natlink's own code
        raise CloudError(
            "EndpointNotReadable",
            f"natlink cannot read the private endpoint of `{request.id}` or its address.",
            request.pe_id,
            "Check that the consumer subscription is in NATLINK_SUBSCRIPTIONS and readable.",
        )
    return _Link(request, live, row, endpoint, port, port in live_ports)


def _connection_name(request: LinkRequest, live: LiveService | None) -> str:
    """The connection's name: recorded at approval, or found on the service by endpoint or token."""
    if request.connection_id:
        return (ids.name(request.connection_id) or "").lower()
    for connection in live.connections if live else ():
        if ids.key(connection.private_endpoint_id) == ids.key(
            request.pe_id
        ) or connection.token == tokens.token(request.id):
            return connection.name.lower()
    return ""


def _consumer_vm(clients: Clients, request: LinkRequest, endpoint: Endpoint) -> VmInfo:
    """The VM in the endpoint's subnet the check starts from: the only one, or the one its name is for."""
    names = [vm.name for vm in endpoint.subnet_vms]
    chosen = (
        names[0]
        if len(names) == 1
        else next((n for n in names if (request.pe_name or "").lower().endswith(f"-{n.lower()}")), None)
    )
    if chosen is None:
        # NoConsumerVm: natlink's own code
        raise CloudError(
            "NoConsumerVm",
            f"natlink cannot tell which VM to check `{request.id}` from: "
            + (
                f"{', '.join(names)} share the endpoint's subnet."
                if names
                else "no VM is in the endpoint's subnet."
            ),
            endpoint.id,
            "A connectivity check starts on a VM in the consumer's subnet.",
        )
    return find_vm(clients, (request.consumer_subscription,), chosen)


def _provider_vm(clients: Clients, service: Service, link: _Link) -> VmInfo:
    if link.row is None or link.row.backend_vm is None:
        # NoBackendVm: natlink's own code
        raise CloudError(
            "NoBackendVm",
            f"*{service.name}* has no backend VM on port {link.port} to capture on.",
            service.pls_id,
            "Verify without --capture to learn why the port reaches no VM.",
        )
    return find_vm(clients, (service.subscription,), link.row.backend_vm)


def _backend_port(link: _Link) -> int:
    return link.row.backend_port if link.row and link.row.backend_port else link.port


def _judged(
    job: Job[Verify, None],
    service: Service,
    link: _Link,
    ready: _Ready,
    reach: watcher.Reachability,
    captured: watcher.Captured | None,
) -> list[str]:
    """The three lines, recorded as the connection's latest verification."""
    row, request, consumer, installed = link.row, link.request, ready.consumer, ready.installed
    destination = f"{link.address}:{link.port}"
    cause = None if reach.reachable else causes.first_cause(_situation(job.clients, link), reach)
    a_verdict = PROVEN if reach.reachable else FAILED
    a_line = (
        f"reached from {escape(consumer.name)} ({consumer.ip}){_figures(reach)}"
        if reach.reachable
        else f"unreachable from {escape(consumer.name)} ({consumer.ip}): {cause.sentence if cause else '?'}"
    )
    arrival, arrival_line = _arrival(link, reach, captured)
    source, source_line = _source(service, link, consumer, captured)
    backend = f"{escape(row.backend_vm or '?')} {row.backend_ip}:{row.backend_port}" if row else "no backend"
    verifications.record(
        job.ctx.db,
        request_id=request.id,
        service=service.name,
        connection=_connection_name(request, link.live) or None,
        verified_by=job.ctx.actor,
        reach=a_verdict,
        arrival=arrival,
        source=source,
        summary=cause.sentence if cause else "",
        details={
            "status": reach.status,
            "cause": cause.kind if cause else None,
            "capture": _syn_counts(captured),
        },
    )
    lines = [
        f"`{request.id}`: {escape(consumer.name)} → *{escape(service.name)}* ({row.status if row else '?'})",
        f"A connects to {destination}: {_MARKS[a_verdict]}, {a_line}",
        f"What arrives at B, {backend}: {_MARKS[arrival]}, {arrival_line}",
        f"What B sees as the source: {_MARKS[source]}, {source_line}",
    ]
    if installed:
        lines.append(f"natlink installed the Network Watcher agent on {', '.join(map(escape, installed))}.")
    return lines


def _figures(reach: watcher.Reachability) -> str:
    path = " → ".join(h.address or h.type or "?" for h in reach.hops)
    hops = f"{len(reach.hops)} hops: {path}" if path else "no hops"
    latency = f", {reach.avg_latency_ms} ms average" if reach.avg_latency_ms is not None else ""
    probes = (
        f", {reach.probes_failed} of {reach.probes_sent} probes lost" if reach.probes_sent is not None else ""
    )
    return f" ({hops}{latency}{probes})"


def _arrival(link: _Link, reach: watcher.Reachability, captured: watcher.Captured | None) -> tuple[str, str]:
    """DNAT: the backend received what A sent to the endpoint (the capture), or the check's hops end there."""
    backend_ip = link.row.backend_ip if link.row else None
    if captured is not None:
        seen = captured.syns.to_port(captured.port)
        if backend_ip and backend_ip in captured.syns.destinations(captured.port):
            return PROVEN, f"{sum(seen.values())} TCP SYNs arrived at {backend_ip}:{captured.port}"
        return (
            FAILED,
            f"no TCP SYN arrived at {backend_ip or 'the backend'}:{captured.port} in {captured.seconds} s",
        )
    if backend_ip and any(h.address == backend_ip for h in reach.hops):
        return PROVEN, f"the check's hops reach {backend_ip}"
    return UNCHECKED, "add `--capture 30s` to see the packets arrive"


def _source(
    service: Service, link: _Link, consumer: VmInfo, captured: watcher.Captured | None
) -> tuple[str, str]:
    """SNAT: every SYN the backend saw came from the service's NAT IPs, none from A itself."""
    if captured is None:
        return UNCHECKED, "add `--capture 30s` to see the source B sees"
    nat_ips = link.row.nat_ips if link.row else ()
    seen = captured.syns.to_port(captured.port)
    vm = escape(captured.vm)
    if not seen:
        return FAILED, f"{vm} saw no TCP SYN on {captured.port} in {captured.seconds} s"
    from_nat = {ip: n for ip, n in seen.items() if ip in nat_ips}
    from_a = seen.get(consumer.ip or "", 0)
    others = {ip: n for ip, n in seen.items() if ip not in nat_ips and ip != consumer.ip}
    nat_words = ", ".join(f"{ip} (the NAT IP of {escape(service.name)})" for ip in from_nat) or "no NAT IP"
    sentence = f"{vm} saw {sum(from_nat.values())} TCP SYNs on {captured.port} from {nat_words}, " + (
        f"{from_a} from {consumer.ip}" if from_a else f"none from {consumer.ip}"
    )
    if others:
        sentence += "; also " + ", ".join(f"{n} from {ip}" for ip, n in others.items())
    return (PROVEN if from_nat and not from_a else FAILED), sentence


def _situation(clients: Clients, link: _Link) -> causes.Situation:
    row = link.row
    backend = next(
        (b for b in (link.live.backends if link.live else ()) if row and b.ip == row.backend_ip), None
    )
    return causes.Situation(
        connection_status=row.status if row else None,
        port=link.port,
        port_exposed=link.exposed,
        backend_vm=row.backend_vm if row else None,
        power_state=backend.power_state if backend else None,
        probe_percent=_probe(clients, link),
        request_id=link.request.id,
    )


def _probe(clients: Clients, link: _Link) -> float | None:
    """The backend's health probe on the verified port, from Azure Monitor (None when unknown)."""
    live, row = link.live, link.row
    if live is None or row is None or row.backend_ip is None or live.frontend_ip is None or row.via:
        return None
    signals = metrics.read_signals(clients, (live.subscription or "",), (live.location or "",))
    found = [
        p
        for lb in live.load_balancer_ids
        if (p := signals.probe(lb, row.backend_ip, live.frontend_ip, _backend_port(link))) is not None
    ]
    return min(found) if found else None


def _syn_counts(captured: watcher.Captured | None) -> dict[str, int] | None:
    return dict(captured.syns.to_port(captured.port)) if captured else None


def words(found: Verification | None, now: datetime | None = None) -> str:
    """How ``status``, ``map`` and the digest show a connection's latest verification, with its age."""
    if found is None:
        return "never verified"
    age = _age((now or datetime.now(UTC)) - found.verified_at)
    return f"verified {age} ago: reach {found.reach}, arrival {found.arrival}, source {found.source}" + (
        f" ({escape(found.summary)})" if found.summary else ""
    )


def service_note(db: Database, service: str, now: datetime | None = None) -> str:
    """``; `r-7k2m9x` verified 5 min ago: …`` for a status line, or nothing when never verified."""
    latest = verifications.for_service(db, service)
    if not latest:
        return ""
    return "; " + "; ".join(f"`{v.request_id}` {words(v, now)}" for v in latest[:MAX_CONNECTIONS])


def map_note(db: Database, row: Mapping, now: datetime | None = None) -> str:
    """`` — verified 5 min ago: …`` for a map row, found by its connection."""
    connection = (row.connection or "").lower()
    found = next((v for v in verifications.for_service(db, row.service) if v.connection == connection), None)
    return f" — {words(found, now)}" if found else ""


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{max(seconds // 60, 0)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
