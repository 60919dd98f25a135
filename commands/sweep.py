"""One sweep: read Azure, compare with what the last sweep saw, and queue an event for every change.

Changes made outside natlink (in the portal, the CLI, a script) show up here: a new pending
connection gets an approval card as if it had been requested in Slack; a status changed behind
natlink's back, a resource gone, a failed provisioning, a stopped backend, a failing probe or NAT
port pressure each become one event for the channels that asked to hear about the service.

Recording what was seen and queueing the events happen in one transaction, so a crash in the
middle of a sweep neither loses an event nor repeats one: the next sweep finds the same changes.
The first sweep only records a baseline; it has nothing to compare with.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlite_utils import Database

from cloud import health, ids, inventory, metrics, tokens
from cloud.clients import Clients
from cloud.health import BackendState
from cloud.limits import NAT_IPS_MAX
from cloud.metrics import Signals
from cloud.model import Service as LiveService
from storage import channel_subscriptions, events, observations, requests, services
from storage.observations import Keep
from storage.records import OUTSIDE, Changes, LinkRequest, NewEvent, RequestState, Service
from storage.transactions import write

from . import alerts, portal
from .context import Config
from .escapes import escape

LAST_SWEEP = "last_sweep"
ADVICE = {  # what a person can do about each kind of finding; good news needs none
    "service_gone": "It was deleted outside natlink, or a natlink delete was interrupted. `/natlink delete` finishes the delete and forgets it; `/natlink create` recreates it.",
    "provisioning_failed": "Run the same `/natlink create` again to converge it, or look at the service in the portal.",
    "connection_gone": "The endpoint was deleted, or the connection removed, outside natlink.",
    "status_changed": "Someone changed it in the portal or CLI; `/natlink status` shows the current state.",
    "backend_stopped": "Connections to the service fail while no backend runs. Start the VM.",
    "backend_removed": "Its NIC was removed from the load balancer's pool outside natlink. Run `/natlink create` again to put it back.",
    "probe_failing": "Check that the service listens on its port on the VM.",
}
STATES = {"pending": "pending", "approved": "approved", "rejected": "rejected", "disconnected": "removed"}
AZURE_STATUS = {
    "pending": "Pending",
    "approved": "Approved",
    "rejected": "Rejected",
    "removed": "Disconnected",
}
"""A request state as the connection status Azure shows for it: the inverse of ``STATES``."""


@dataclass(frozen=True)
class SweepResult:
    taken_at: datetime
    baseline: bool
    events: int
    services: int
    unreadable: tuple[str, ...]
    seconds: float = 0.0
    arm_requests: int = 0  # retries included


@dataclass(frozen=True)
class Finding:
    """One change, before it is addressed to channels."""

    kind: str
    service: Service
    key: str
    what: str  # the change, after the service's name (which ``_address`` links to the portal)
    advice: str = ""
    severity: str = "problem"
    request: str | None = None


def _finding(
    kind: str, service: Service, key: str, what: str, severity: str = "problem", advice: str | None = None
) -> Finding:
    """A finding whose line names the service first, with the advice for its kind unless given."""
    advice = ADVICE.get(kind, "") if advice is None else advice
    return Finding(kind, service, key, what, advice, severity)


def _transitions(changes: Changes) -> list[tuple[str, dict | None, dict]]:  # type: ignore[type-arg]
    """``(key, old, new)`` for every key seen now whose value changed; ``old`` is None when first seen."""
    moved = [(c.key, c.old or None, c.new) for c in (*changes.changed, *changes.reappeared)]
    return moved + [(o.key, None, o.value) for o in changes.appeared]


def _who(request: LinkRequest | None) -> str:
    """The request behind the connection and who asked; one made outside natlink still names its
    request, which is what ``revoke`` and the card's buttons act on."""
    if request is None:
        return ""
    if request.made_outside:
        return f" (`{request.id}`, made outside natlink)"
    return f" (`{request.id}` from <@{request.requester}>)"


def sweep(db: Database, config: Config, clients: Clients, now: datetime | None = None) -> SweepResult:
    """Read, compare, record and queue. ``now`` is the sweep's time (tests pass their own clock).

    Whatever started it (the scheduler, ``sweep --once``, a ``status --refresh``), its seconds and
    ARM requests go to ``clients.on_sweep`` (/metrics)."""
    began = time.monotonic()
    now = now or datetime.now(UTC)
    managed = {s.pls_id.lower(): s for s in services.list_services(db, state="active")}
    recorded = Recorded(managed, requests.list_requests(db, states=OPEN))  # before Azure: see Recorded
    with clients.counting() as counted:
        snapshot = inventory.snapshot(clients, config.subscriptions)
        signals = metrics.read_signals(clients, config.subscriptions, metrics.regions(snapshot))
    unreadable = sorted({u.subscription for u in (*snapshot.unreadable, *signals.unreadable)})
    keep = observations.subscription_prefixes(unreadable)
    live = {s.id.lower(): s for s in snapshot.services if s.id.lower() in managed}
    with write(db):
        baseline = observations.meta(db, LAST_SWEEP) is None
        findings = _observe(db, recorded, live, signals, keep, now)
        queued = [] if baseline else _address(db, findings, now, config.portal)
        if queued:
            events.add_many(db, queued, now=now)
        observations.set_meta(db, LAST_SWEEP, now.isoformat(), now=now)
    seconds = time.monotonic() - began
    clients.on_sweep(seconds, counted.total)
    return SweepResult(now, baseline, len(queued), len(live), tuple(unreadable), seconds, counted.total)


def last_sweep(db: Database) -> datetime | None:
    value = observations.meta(db, LAST_SWEEP)
    return datetime.fromisoformat(value) if value else None


# ------------------------------------------------------------------------------------ observe
Managed = dict[str, Service]  # natlink's services by lower-cased PLS id
Live = dict[str, LiveService]  # what Azure holds of them now, by the same key
OPEN: tuple[RequestState, ...] = ("pending", "approved")


@dataclass(frozen=True)
class Recorded:
    """What natlink recorded before this sweep read Azure: its active services and open requests.

    What natlink says is judged against Azure directly, not only against the last sweep: a service
    or connection that went before any sweep saw it never "disappears" from the observations, yet
    natlink must stop calling it active, pending or approved. Read before Azure, and each absence
    acted on only if the record is unchanged since, so a record written while Azure was being read
    (a create or request finishing) is left for the next sweep instead of being called gone.
    """

    services: Managed
    requests: list[LinkRequest]


def _observe(
    db: Database,
    recorded: Recorded,
    live: Live,
    signals: Signals,
    keep: Keep,
    now: datetime,
) -> list[Finding]:
    managed = recorded.services
    findings: list[Finding] = []
    findings += _services(db, recorded, live, keep, now)
    findings += _connections(db, recorded, live, keep, now)
    findings += _backends(db, managed, live, keep, now)
    findings += _probes(db, managed, live, signals, keep, now)
    findings += _nat(db, managed, live, signals, keep, now)
    return findings


def _services(db: Database, recorded: Recorded, live: Live, keep: Keep, now: datetime) -> list[Finding]:
    managed = recorded.services
    seen = {key: {"provisioning": s.provisioning_state} for key, s in live.items()}
    changes = observations.apply(db, "service", seen, keep=keep, now=now)
    kept = observations.keeper(keep)
    found = []
    for key, service in managed.items():
        if key in live or kept(key) or services.get_service(db, service.name) != service:
            continue
        services.mark_state(db, service.name, "gone", now=now)
        found.append(_finding("service_gone", service, key, "its private link service is gone from Azure."))
        found += _requests_gone_with(db, recorded, service, now)
    for change in (*changes.changed, *changes.reappeared):
        before, after = (change.old or {}).get("provisioning"), (change.new or {}).get("provisioning")
        if health.provisioning_failed(after) and not health.provisioning_failed(before):
            found.append(
                _finding(
                    "provisioning_failed", managed[change.key], change.key, "provisioning failed in Azure."
                )
            )
    return found


def _requests_gone_with(db: Database, recorded: Recorded, service: Service, now: datetime) -> list[Finding]:
    """A private link service takes its connections with it: its open requests are gone too (those
    the observations saw go are reported by ``_connections`` instead; this is for the rest)."""
    found = []
    for request in recorded.requests:
        if request.service != service.name or requests.get_request(db, request.id) != request:
            continue
        requests.set_state(db, request.id, "gone", now=now)
        key = (request.connection_id or f"{service.pls_id}/requests/{request.id}").lower()
        found.append(_connection_gone(service, key, request.pe_id, request))
    return found


def _connections(db: Database, recorded: Recorded, live: Live, keep: Keep, now: datetime) -> list[Finding]:
    managed = recorded.services
    seen = {}
    owner: dict[str, Service] = {}
    for key, service in live.items():
        for c in service.connections:
            seen[c.id.lower()] = {
                "status": c.status,
                "pe": c.private_endpoint_id,
                "token": c.token,
                "service": key,
                "link": c.link_identifier,
                "subscription": c.endpoint_subscription,
            }
            owner[c.id.lower()] = managed[key]
    changes = observations.apply(db, "connection", seen, keep=keep, now=now)
    found = []
    for new in changes.appeared:
        if (new.value or {}).get("status") == "Pending":
            adopted = record_outside(db, owner[new.key], new.key, new.value, now)
            if adopted is not None:
                found.append(Finding("approval_card", owner[new.key], new.key, "", request=adopted.id))
        found += _first_sighting(db, owner[new.key], new.key, new.value or {}, now)
    for change in (*changes.changed, *changes.reappeared):
        found += _status_change(db, owner[change.key], change.key, change.old or {}, change.new or {}, now)
    told = set()
    for gone in changes.disappeared:
        service = managed.get((gone.value or {}).get("service", ""))
        request = requests.find_by_connection_id(db, gone.key)
        if service is None or (request is not None and request.state in ("removed", "gone", "rejected")):
            continue
        if request is not None:
            requests.set_state(db, request.id, "gone", now=now)
            told.add(request.id)
        found.append(_connection_gone(service, gone.key, gone.value.get("pe"), request))
    return found + _never_seen_gone(db, recorded, live, set(seen), told, now)


def _never_seen_gone(
    db: Database, recorded: Recorded, live: Live, seen: set[str], told: set[str], now: datetime
) -> list[Finding]:
    """Open requests whose connection is absent from their live service, whether or not a sweep
    ever saw it (see :class:`Recorded`); those the observations already reported are skipped."""
    by_name = {s.name: (key, s) for key, s in recorded.services.items()}
    found = []
    for request in recorded.requests:
        key, service = by_name.get(request.service, ("", None))
        connection = (request.connection_id or "").lower()
        if service is None or key not in live or not connection or connection in seen or request.id in told:
            continue
        if requests.get_request(db, request.id) != request:
            continue  # changed while Azure was read: the next sweep judges it
        requests.set_state(db, request.id, "gone", now=now)
        found.append(_connection_gone(service, connection, request.pe_id, request))
    return found


def _connection_gone(service: Service, key: str, pe_id: str | None, request: LinkRequest | None) -> Finding:
    endpoint = escape(ids.name(pe_id) or "?")
    found = _finding(
        "connection_gone", service, key, f"the connection of endpoint *{endpoint}*{_who(request)} is gone."
    )
    return replace(found, request=request.id) if request else found


def record_outside(
    db: Database, service: Service, key: str, value: dict, now: datetime, state: RequestState = "pending"
) -> LinkRequest | None:
    """A connection natlink did not make: record it as a request, so its card's buttons work (a
    pending one) or ``revoke`` can reach it (one already approved when ``adopt`` finds it)."""
    own = tokens.request_id_of(value.get("token"))
    claimed = requests.get_request(db, own) if own else None
    if claimed is not None and _belongs(claimed, value.get("pe")):
        return None  # natlink's own request; its card was posted when it was made
    if requests.find_by_connection_id(db, key) is not None:
        return None
    request = requests.create_request(
        db,
        request_id=tokens.new_request_id,
        service=service.name,
        requester=OUTSIDE,
        consumer_subscription=value.get("subscription") or "?",
        pe_name=ids.name(value.get("pe")),
        reason=_outside_reason(claimed),
        state=state,
        now=now,
    )
    return requests.attach_endpoint(
        db,
        request.id,
        pe_id=value.get("pe"),
        pe_name=None,
        vnet=None,
        subnet=None,
        connection_id=key,
        link_identifier=value.get("link"),
        now=now,
    )


def _belongs(request: LinkRequest, pe_id: str | None) -> bool:
    """Whether a connection whose token names ``request`` is that request's own.

    Anyone can type a token into a request message, so the token alone proves nothing: the
    connection is the request's only when its endpoint is the one natlink recorded for it, or
    natlink has recorded none yet (the request is still making it).
    """
    return request.pe_id is None or (pe_id or "").lower() == request.pe_id.lower()


def _outside_reason(claimed: LinkRequest | None) -> str:
    """The card's reason for a connection natlink did not make; it names the request whose token it copied."""
    made = "made outside natlink (portal, CLI or script)"
    if claimed is None:
        return made
    endpoint = claimed.pe_name or ids.name(claimed.pe_id) or "?"
    return (
        f"{made}; its message carries the token of request {claimed.id}, which belongs to endpoint {endpoint}"
    )


def _first_sighting(db: Database, service: Service, key: str, new: dict, now: datetime) -> list[Finding]:
    """A connection seen for the first time may already hold a decision made outside natlink (the
    portal approved it before any sweep ran): compare it with what natlink recorded, not with an
    earlier sighting there is none of."""
    request = requests.find_by_connection_id(db, key)
    recorded = AZURE_STATUS.get(request.state) if request is not None else None
    if recorded is None:
        return []
    return _status_change(db, service, key, {"status": recorded}, new, now)


def _status_change(
    db: Database, service: Service, key: str, old: dict, new: dict, now: datetime
) -> list[Finding]:
    before, after = old.get("status"), new.get("status")
    if before == after:
        return []
    request = requests.find_by_connection_id(db, key)
    state = STATES.get((after or "").lower())
    if request is not None and (state is None or request.state == state):
        return []  # natlink made this change itself
    if request is not None and state is not None:
        requests.set_state(db, request.id, state, now=now)
    pe = escape(ids.name(new.get("pe")) or "?")
    found = _finding(
        "status_changed",
        service,
        key,
        f"endpoint *{pe}*{_who(request)} went from {before} to *{after}* outside natlink.",
        severity="problem" if after in ("Rejected", "Disconnected") else "info",
    )
    return [replace(found, request=request.id) if request else found]


def _backends(db: Database, managed: Managed, live: Live, keep: Keep, now: datetime) -> list[Finding]:
    seen = {
        f"{key}|{b.nic_id.lower()}": {"vm": b.vm_name, "ip": b.ip, "power": b.power_state, "service": key}
        for key, service in live.items()
        for b in health.unique_backends(service.backends)
    }
    changes = observations.apply(db, "backend", seen, keep=keep, now=now)
    found = []
    for key, old, new in _transitions(changes):
        state = health.backend_state(new.get("vm"), new.get("power"))
        was = BackendState.RUNNING if old is None else health.backend_state(old.get("vm"), old.get("power"))
        if state in (was, BackendState.UNKNOWN):
            continue  # what natlink could not read is not news, and a first sighting is news only if down
        running = state is BackendState.RUNNING
        found.append(
            _finding(
                "backend_started" if running else "backend_stopped",
                managed[new["service"]],
                key,
                _backend_line(key, new),
                severity="info" if running else "problem",
            )
        )
    for gone in changes.disappeared:
        service = managed.get((gone.value or {}).get("service", ""))
        if service is not None and service.pls_id.lower() in live:
            found.append(
                _finding(
                    "backend_removed",
                    service,
                    gone.key,
                    f"{escape(gone.value.get('vm') or '?')} ({gone.value.get('ip')}) left the backend pool.",
                )
            )
    return found


def _backend_line(key: str, value: dict) -> str:  # type: ignore[type-arg]
    if value.get("vm") is None:
        nic = ids.name(key.partition("|")[2]) or "?"
        return f"NIC {escape(nic)} ({value.get('ip')}) in the backend pool is attached to no VM."
    return f"backend {escape(value['vm'])} ({value.get('ip')}) is *{value.get('power')}*."


def _probes(
    db: Database, managed: Managed, live: Live, signals: Signals, keep: Keep, now: datetime
) -> list[Finding]:
    seen = {  # a probe is news only while its VM runs: a stopped VM has its own finding
        f"{key}|{b.ip}": {
            "failing": health.probe_failing(percent),
            "service": key,
            "vm": b.vm_name,
            "ip": b.ip,
        }
        for key, service in live.items()
        for b in service.backends
        if health.backend_state(b.vm_name, b.power_state) is BackendState.RUNNING
        and (percent := _probe(signals, service, b.ip)) is not None
    }
    changes = observations.apply(db, "probe", seen, keep=keep, now=now)
    found = []
    for key, old, new in _transitions(changes):
        failing = new["failing"]
        if failing == bool((old or {}).get("failing")):
            continue
        found.append(
            _finding(
                "probe_failing" if failing else "probe_recovered",
                managed[new["service"]],
                key,
                f"the health probe of {escape(new.get('vm') or '?')} ({new['ip']}) is "
                + ("*failing* although the VM runs." if failing else "passing again."),
                severity="problem" if failing else "info",
            )
        )
    return found


def _probe(signals: Signals, service: LiveService, ip: str | None) -> float | None:
    """The health probe of ``ip`` for this service alone: its own load balancer (addresses repeat
    across VNets), its frontend and its load-balancing rules' backend ports (a VM can serve several
    services). Inbound NAT rules have no probe: their backends are judged by power state alone."""
    if ip is None or service.frontend_ip is None:
        return None
    readings = [
        signals.probe(lb, ip, service.frontend_ip, forward.backend_port)
        for lb in service.load_balancer_ids
        for forward in service.forwards
        if not forward.nat
    ]
    found = [r for r in readings if r is not None]
    return min(found) if found else None


def _nat(
    db: Database, managed: Managed, live: Live, signals: Signals, keep: Keep, now: datetime
) -> list[Finding]:
    seen = {
        f"{key}|{ip}": {
            "pressure": health.nat_pressure(percent),
            "percent": percent,
            "service": key,
            "ip": ip,
        }
        for key, service in live.items()
        for ip in service.nat_ips
        if (percent := signals.nat(service.id, ip)) is not None
    }
    changes = observations.apply(db, "nat_ip", seen, keep=keep, now=now)
    found = []
    for key, old, value in _transitions(changes):
        if not value["pressure"] or (old or {}).get("pressure"):
            continue
        service = managed[value["service"]]
        room = health.headroom(live[value["service"]]).available
        advice = (
            f"Add NAT IPs: `/natlink create {service.name} … --nat-ips N`; {room} more possible before Azure's limit of {NAT_IPS_MAX}."
            if room
            else f"The service already has Azure's maximum of {NAT_IPS_MAX} NAT IPs; split the load across another service."
        )
        found.append(
            _finding(
                "nat_pressure",
                service,
                key,
                f"NAT IP {value['ip']} uses {value['percent']:.0f} % of its ports.",
                advice=advice,
            )
        )
    return found


# ------------------------------------------------------------------------------------ address
def _address(db: Database, findings: Iterable[Finding], now: datetime, home: str | None) -> list[NewEvent]:
    """Each finding to every channel that asked for it; the owner channel hears problems by default.
    Its line names the service first, linked to the portal (``home``, issue 12)."""
    stamp = now.isoformat()
    out = []
    for finding in findings:
        service = finding.service
        line = f"*{portal.named(home, service.pls_id, service.name)}*: {finding.what}"
        for channel in _channels(db, finding):
            payload = {"line": line, "advice": finding.advice, "since": stamp, "key": finding.key}
            if finding.kind == "approval_card":
                payload = {"request": finding.request}
            elif finding.request:  # a follow-up about one request: its card's thread (commands/cards.py)
                payload["request"] = finding.request
            out.append(
                NewEvent(
                    f"{finding.kind}:{finding.key}:{channel}:{stamp}",
                    channel,
                    finding.service.name,
                    finding.kind,
                    finding.severity,
                    payload,
                )
            )  # type: ignore[arg-type]
    return out


def _channels(db: Database, finding: Finding) -> list[str]:
    service = finding.service
    if finding.kind == "approval_card":
        return [service.owner_channel] if service.owner_channel else []
    chosen = {
        s.channel
        for s in channel_subscriptions.list_for_service(db, service.name)
        if s.events == "all" or finding.severity == "problem"
    }
    explicit = {s.channel for s in channel_subscriptions.list_for_service(db, service.name)}
    if service.owner_channel and service.owner_channel not in explicit and finding.severity == "problem":
        chosen.add(service.owner_channel)
    return sorted(chosen | alerts.alerted(db, finding.kind, finding.key))
