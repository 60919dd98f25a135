"""The invariants: natlink's view (database, replies, audit, map) compared with Azure's truth.

Each check is a pure function of what was read and of what the model remembers (``Memory``: which
connections the portal changed and when, which endpoints it made, each service's private link
service for its life). A difference is a ``Discrepancy``; an empty list means natlink and Azure agree.

A change made in the portal is natlink's to notice only at its next sweep: until the model has run
one, a request whose connection the portal touched *after natlink last wrote or said anything about
it* is not judged. natlink's own actions are judged at once, whatever the portal did before them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .azure import Connection, Truth, key
from .natlink import Request, View
from .reports import Report, Reports

_CHILD = re.compile(r"^(?:fe|pool)-(?P<a>.+)$|^(?:rule|probe)-(?P<b>.+)-\d+$")


def child_of(child: str) -> str | None:
    """The service a child of natlink's load balancer belongs to (``fe-svc``, ``rule-svc-443``...)."""
    m = _CHILD.match(child)
    return (m["a"] or m["b"]).lower() if m else None


NOT_ACCESS = ("rejected", "removed", "failed", "gone", "pending", "requested")
EXPIRY_JOB_SECONDS = 60  # bot/scheduler.py EXPIRY_SECONDS: how often the expiry job runs
LEASE_SECONDS = 30  # bot/scheduler.py LEASE_TTL: a killed holder blocks the jobs this long
EXPIRY_GRACE = EXPIRY_JOB_SECONDS + LEASE_SECONDS + 15


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.subject}: {self.detail}"


@dataclass
class Memory:
    """What the model knows that neither natlink nor Azure records."""

    touched: dict[str, float] = field(
        default_factory=dict
    )  # key(conn or pe id) -> last portal change, since the last sweep
    portal_history: dict[str, float] = field(default_factory=dict)  # the same, never forgotten
    portal_endpoints: dict[str, float] = field(default_factory=dict)  # key(pe id) the portal made -> when
    lives: dict[str, str] = field(default_factory=dict)  # service name -> key(pls id) of its current life
    excused: set[str] = field(default_factory=set)  # what a create natlink reported failed left in Azure
    failed_since_sweep: set[str] = field(
        default_factory=set
    )  # services an operation failed on since the sweep
    swept_at: float = 0.0  # when the model's last sweep finished

    def touch(self, *ids: str | None, at: float) -> None:
        for arm_id in ids:
            if arm_id:
                self.touched[key(arm_id)] = at
                self.portal_history[key(arm_id)] = at

    def excuse_leftovers(self, truth: Truth, view: View, create_failed: set[str]) -> None:
        """A failed create is reported with what it left in Azure ("Already in Azure: ..."), and a rerun
        converges on it: what of the names in ``create_failed`` no active service uses right after is
        excused. What an active service uses is its own again, so a later delete must remove it."""
        active = view.active()
        owned = {key(s.pls_id) for s in active.values()}
        failed = {n.lower() for n in create_failed} - set(active)
        self.excused |= {
            k
            for k, s in truth.services.items()
            if s.natlink_made and k not in owned and s.name.lower() in failed
        }
        self.excused |= {
            f"{key(lb.id)}/{child}"
            for lb in truth.balancers
            if lb.natlink_made
            for child in lb.children
            if child_of(child) in failed
        }
        for name, service in active.items():
            self.excused.discard(key(service.pls_id))
            live = truth.services.get(key(service.pls_id))
            for frontend in live.frontends if live else ():
                lb = frontend.split("/frontendipconfigurations/")[0]
                self.excused -= {
                    e
                    for e in self.excused
                    if e.startswith(lb + "/") and child_of(e.rsplit("/", 1)[-1]) == name
                }

    def unseen(self, at: float) -> None:
        """natlink's step failed because every read of Azure did (503s): it learned nothing, so what
        the portal changed since the last sweep is still natlink's to notice at the next sweep, not
        a discrepancy of the request it failed to act on. Found by the soak (seed 534693630): an
        approval refused by unreadable connections, after the portal had removed the connection."""
        for k in self.touched:
            self.touched[k] = at

    def swept(self, at: float) -> None:
        self.touched.clear()
        self.failed_since_sweep.clear()
        self.swept_at = at


def matches(truth: Truth, request: Request) -> list[Connection]:
    """The connections that are this request's: by token for natlink's, by connection ID for adopted ones."""
    if request.outside:
        found = truth.by_id(request.connection_id)
        return [found] if found else []
    return truth.with_token(request.token)


def _touched_after(
    book: dict[str, float], request: Request | None, conns: list[Connection], since: float
) -> bool:
    keys = {key(c.id) for c in conns} | {key(c.pe_id) for c in conns}
    if request is not None:
        keys |= {key(request.connection_id), key(request.pe_id)}
    return any(book.get(k, -1.0) > since for k in keys if k)


def _describe(conns: list[Connection]) -> str:
    return (
        ", ".join(f"{c.status} on {c.pls_name} (endpoint {c.pe_id.rsplit('/', 1)[-1]})" for c in conns)
        or "none"
    )


def check(truth: Truth, view: View, reports: Reports, memory: Memory, now: float) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    found += requests_match_azure(truth, view, memory, now)
    found += no_unshown_access(truth, view, memory)
    found += outside_connections_adopted(truth, view, memory)
    found += reports_match_azure(truth, view, reports, memory)
    found += audit_matches(view, reports, memory)
    found += services_match_azure(truth, view, memory)
    found += cards(view, reports)
    return found


def requests_match_azure(truth: Truth, view: View, memory: Memory, now: float) -> list[Discrepancy]:
    """An approved request: exactly one Approved connection with its token, on its service and endpoint.
    Any other state: no Approved connection. A pending one still has its connection in Azure."""
    out = []
    for r in view.requests:
        conns = matches(truth, r)
        if _touched_after(memory.touched, r, conns, r.updated_at):
            continue
        approved = [c for c in conns if c.approved]
        if r.state == "approved":
            if len(approved) != 1:
                out.append(
                    Discrepancy(
                        "approved-request-without-exactly-one-approved-connection",
                        r.id,
                        f"natlink says approved; Azure has {_describe(conns)}",
                    )
                )
                continue
            conn = approved[0]
            service = view.services.get(r.service.lower())
            if service is None or key(conn.pls_id) != key(service.pls_id):
                out.append(
                    Discrepancy(
                        "approved-connection-on-another-service",
                        r.id,
                        f"natlink's {r.service} is {service.pls_id if service else 'unknown'}; the connection is on {conn.pls_id}",
                    )
                )
            if r.pe_id and key(conn.pe_id) != key(r.pe_id):
                out.append(
                    Discrepancy(
                        "approved-connection-on-another-endpoint",
                        r.id,
                        f"natlink recorded endpoint {r.pe_id}; the Approved connection is {conn.pe_id}",
                    )
                )
            if r.expires_at is not None and r.expires_at < now - EXPIRY_GRACE:
                out.append(
                    Discrepancy(
                        "expiry-overdue", r.id, f"expired {now - r.expires_at:.0f}s ago and still approved"
                    )
                )
        elif r.state in NOT_ACCESS and approved:
            out.append(
                Discrepancy(
                    f"{r.state}-request-with-approved-connection",
                    r.id,
                    f"natlink says {r.state}; Azure has {_describe(approved)}",
                )
            )
        if r.state == "pending" and not r.outside and not [c for c in conns if c.status == "Pending"]:
            out.append(
                Discrepancy(
                    "pending-request-without-pending-connection",
                    r.id,
                    f"natlink shows it waiting; Azure has {_describe(conns)}",
                )
            )
    return out


def _natlink_services(truth: Truth, view: View) -> set[str]:
    ids = {key(s.pls_id) for s in view.services.values()}
    return {k for k, s in truth.services.items() if s.natlink_made or k in ids}


def no_unshown_access(truth: Truth, view: View, memory: Memory) -> list[Discrepancy]:
    """Every Approved connection on a natlink service is a request natlink shows approved (a
    connection made in the portal is shown by the map instead, which the machine checks)."""
    out = []
    mine = _natlink_services(truth, view)
    claimed = {key(c.id) for r in view.requests if r.state == "approved" for c in matches(truth, r)}
    for conn in truth.connections:
        if not conn.approved or key(conn.pls_id) not in mine or key(conn.id) in claimed:
            continue
        if key(conn.pe_id) in memory.portal_endpoints or _touched_after(memory.touched, None, [conn], -1):
            continue
        owners = [r for r in view.requests if r.token == conn.token or key(r.connection_id) == key(conn.id)]
        said = ", ".join(f"{r.id} {r.state}" for r in owners) or "no request"
        out.append(
            Discrepancy(
                "access-natlink-does-not-show",
                conn.id.rsplit("/", 1)[-1],
                f"Approved on {conn.pls_name} (token {conn.token}); natlink has {said}",
            )
        )
    return out


def outside_connections_adopted(truth: Truth, view: View, memory: Memory) -> list[Discrepancy]:
    """After a sweep, a Pending connection made in the portal on an active service is a request."""
    out = []
    active = {key(s.pls_id) for s in view.active().values()}
    known = {key(r.connection_id) for r in view.requests}
    for conn in truth.connections:
        made = memory.portal_endpoints.get(key(conn.pe_id))
        if (
            made is None
            or made > memory.swept_at
            or conn.status != "Pending"
            or key(conn.pls_id) not in active
        ):
            continue
        if key(conn.id) not in known:
            out.append(
                Discrepancy(
                    "portal-connection-not-adopted-after-sweep",
                    conn.id.rsplit("/", 1)[-1],
                    f"Pending on {conn.pls_name} since before the last sweep; natlink has no request for it",
                )
            )
    return out


def deletion_reports(view: View, reports: Reports) -> list[Report]:
    """``*svc* and its private link service are gone`` says every open request of svc is gone too."""
    out = []
    for at, name in reports.deleted:
        for r in view.requests:
            if r.service.lower() == name.lower() and r.created_at <= at:
                out.append(Report(at, r.id, "removed", f"the reply that {name} was deleted"))
    return out


def reports_match_azure(truth: Truth, view: View, reports: Reports, memory: Memory) -> list[Discrepancy]:
    """The latest thing natlink said about each request holds in Azure, unless the portal changed it since."""
    latest: dict[str, Report] = {}
    for report in sorted([*reports.said, *deletion_reports(view, reports)], key=lambda r: r.time):
        latest[report.request] = report
    out = []
    for request_id, report in latest.items():
        request = view.request(request_id)
        conns = matches(truth, request) if request else truth.with_token(f"natlink:{request_id}")
        if _touched_after(memory.touched, request, conns, report.time):
            continue
        approved = [c for c in conns if c.approved]
        if report.state == "approved" and len(approved) != 1:
            out.append(
                Discrepancy(
                    "reported-approved-not-in-azure",
                    request_id,
                    f"natlink said {report.said!r}; Azure has {_describe(conns)}",
                )
            )
        elif report.state != "approved" and approved:
            out.append(
                Discrepancy(
                    f"reported-{report.state}-but-approved-in-azure",
                    request_id,
                    f"natlink said {report.said!r}; Azure has {_describe(approved)}",
                )
            )
    return out


DECIDING = ("request", "approve", "reject", "revoke", "expire")


def audit_matches(view: View, reports: Reports, memory: Memory) -> list[Discrepancy]:
    """A request natlink holds approved was last audited as approved (or as a request natlink said
    Azure approved at once), unless the portal changed it after that row."""
    out = []
    approved_at_once = {r.request for r in reports.said if r.on_request and r.state == "approved"}
    for r in view.requests:
        if r.outside or r.state != "approved":
            continue
        rows = [
            a for a in view.audit if a.outcome == "succeeded" and a.action in DECIDING and a.reason == r.id
        ]
        last = rows[-1] if rows else None
        since = last.at if last else -1.0
        if _touched_after(memory.portal_history, r, [], since):
            continue
        if last is None or not (
            last.action == "approve" or (last.action == "request" and r.id in approved_at_once)
        ):
            out.append(
                Discrepancy(
                    "approved-without-an-audited-approval",
                    r.id,
                    f"natlink holds it approved; its last audited change is {last.action if last else 'none'}",
                )
            )
    return out


def services_match_azure(truth: Truth, view: View, memory: Memory) -> list[Discrepancy]:
    """One service name, one private link service for its life; a deleted service leaves nothing."""
    out = []
    active = view.active()
    for name, service in active.items():
        if key(service.pls_id) not in truth.services and name not in memory.failed_since_sweep:
            out.append(
                Discrepancy(
                    "active-service-missing-in-azure", service.name, f"{service.pls_id} is not in Azure"
                )
            )
        life = memory.lives.get(name)
        if life is not None and life != key(service.pls_id):
            out.append(
                Discrepancy(
                    "service-re-pointed", service.name, f"was {life} for its life, now {service.pls_id}"
                )
            )
    owned = {key(s.pls_id) for s in active.values()}
    for pls_key, pls in truth.services.items():
        if pls.natlink_made and pls_key not in owned and pls_key not in memory.excused:
            out.append(
                Discrepancy(
                    "natlink-service-in-azure-natlink-does-not-show",
                    pls.name,
                    f"{pls.id} (tagged managed-by natlink) is no active natlink service",
                )
            )
    for name, service in view.services.items():
        if service.state != "deleted" or name in active:
            continue
        if key(service.pls_id) in truth.services and key(service.pls_id) not in memory.excused:
            out.append(Discrepancy("deleted-service-still-in-azure", service.name, service.pls_id))
        left = [
            f"{lb.name}/{child}"
            for lb in truth.balancers
            if lb.natlink_made
            for child in lb.children
            if child_of(child) == name and f"{key(lb.id)}/{child}" not in memory.excused
        ]
        if left:
            out.append(Discrepancy("deleted-service-left-lb-parts", service.name, ", ".join(left)))
    return out


def cards(view: View, reports: Reports) -> list[Discrepancy]:
    """One approval card per request; a request waiting for a decision has one."""
    out = []
    for request_id, count in Counter(reports.cards_posted).items():
        if count > 1:
            out.append(Discrepancy("approval-card-posted-more-than-once", request_id, f"{count} cards"))
    for r in view.requests:
        if r.state == "pending" and reports.cards_posted[r.id] == 0:
            out.append(
                Discrepancy("pending-request-without-a-card", r.id, f"{r.service}, no approval card posted")
            )
    return out


_MAP_ROW = re.compile(r"^\*(?P<service>[^*]+)\* (?P<status>\S+): .*? → (?P<pe>\S+?)(?::\d+)? ⇒")
_LINK = re.compile(r"<[^|<>]+\|([^<>]+)>")
"""A portal link (``commands/portal.py``): the row is read by what it says, its label."""


def map_rows(lines: list[str]) -> Counter[tuple[str, str, str]]:
    """``(service, status, endpoint address)`` of each row of a ``/natlink map`` reply."""
    rows: Counter[tuple[str, str, str]] = Counter()
    for line in lines:
        if m := _MAP_ROW.match(_LINK.sub(r"\1", line)):
            rows[(m["service"].lower(), m["status"], m["pe"])] += 1
    return rows


def map_matches(lines: list[str], truth: Truth, view: View) -> list[Discrepancy]:
    """The map shows every connection of natlink's active services, as Azure holds it, and nothing else."""
    active = {key(s.pls_id) for s in view.active().values()}
    wanted: Counter[tuple[str, str, str]] = Counter(
        (c.pls_name.lower(), c.status, c.pe_ip or "not") for c in truth.connections if key(c.pls_id) in active
    )
    shown = map_rows(lines)
    if shown == wanted:
        return []
    extra, missing = shown - wanted, wanted - shown
    return [
        Discrepancy(
            "map-differs-from-azure",
            "map",
            f"shows but Azure has not: {sorted(extra)}; Azure has but not shown: {sorted(missing)}",
        )
    ]
