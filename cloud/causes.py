"""Why a connectivity check found the endpoint unreachable: the first cause natlink can name.

Network Watcher reports issues per hop (an NSG rule, a guest firewall, a route), but it cannot
see the private link's own states: a connection still pending or rejected, a port no rule
exposes, a stopped backend, a failing health probe. natlink knows those from its own reading of
Azure (the snapshot, the mapping, Azure Monitor), so it asks them first, in the order a packet
meets them, then the check's own issues. Pure: no Azure calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from .health import BackendState, backend_state, probe_failing
from .watcher import Issue, Reachability

APPROVED = "approved"
NSG = "NetworkSecurityRule"  # Network Watcher's IssueType (networkWatcher.json, ConnectivityIssue)


@dataclass(frozen=True)
class Situation:
    """What natlink read of the link being checked, besides the check itself."""

    connection_status: str | None
    port: int
    port_exposed: bool
    backend_vm: str | None
    power_state: str | None
    probe_percent: float | None
    request_id: str


@dataclass(frozen=True)
class Cause:
    """``kind`` is one of ``connection``, ``port``, ``backend``, ``probe``, ``nsg``, ``issue``, ``unnamed``."""

    kind: str
    sentence: str


def first_cause(situation: Situation, reach: Reachability) -> Cause:
    """The first cause along the packet's way; ``unnamed`` when neither natlink nor Azure names one."""
    for found in (
        _connection(situation),
        _port(situation),
        _backend(situation),
        _probe(situation),
        _nsg(reach.issues),
        _other(reach.issues),
    ):
        if found is not None:
            return found
    hops = " → ".join(h.address or h.type or "?" for h in reach.hops) or "none"
    return Cause("unnamed", f"neither natlink nor Network Watcher names a cause (hops: {hops})")


def _connection(s: Situation) -> Cause | None:
    status = (s.connection_status or "").lower()
    if status == APPROVED:
        return None
    if status == "pending":
        return Cause(
            "connection",
            f"the connection is *Pending*: an owner must approve it (`/natlink approve {s.request_id}`)",
        )
    if status in ("rejected", "disconnected"):
        return Cause(
            "connection",
            f"the connection is *{s.connection_status}*: no traffic passes until a new request is approved",
        )
    return Cause("connection", "the service holds no connection for this endpoint")


def _port(s: Situation) -> Cause | None:
    if s.port_exposed:
        return None
    return Cause(
        "port",
        f"port {s.port} is not exposed: no load-balancing or inbound NAT rule on the service's frontend forwards it",
    )


def _backend(s: Situation) -> Cause | None:
    if s.backend_vm is None:
        return Cause("backend", f"no backend VM receives port {s.port}: the backend pool is empty")
    if backend_state(s.backend_vm, s.power_state) is BackendState.STOPPED:
        return Cause("backend", f"the backend {s.backend_vm} is {s.power_state or 'not running'}")
    return None


def _probe(s: Situation) -> Cause | None:
    if not probe_failing(s.probe_percent):
        return None
    return Cause(
        "probe",
        f"the health probe of {s.backend_vm} fails ({s.probe_percent:.0f}% of probes answered), so the load "
        "balancer sends it no new flows",
    )


def _nsg(issues: tuple[Issue, ...]) -> Cause | None:
    found = next((i for i in issues if i.type == NSG), None)
    if found is None:
        return None
    return Cause("nsg", f"a network security group rule drops the traffic{_where(found)}")


def _other(issues: tuple[Issue, ...]) -> Cause | None:
    found = next((i for i in issues if (i.severity or "").lower() == "error"), None) or next(
        iter(issues), None
    )
    if found is None:
        return None
    return Cause("issue", f"Network Watcher reports *{found.type}*{_where(found)}")


def _where(issue: Issue) -> str:
    """``(outbound, RuleName=deny-rdp)``: where Azure saw it and its details."""
    words = ", ".join(filter(None, [(issue.origin or "").lower(), *issue.context]))
    return f" ({words})" if words else ""
