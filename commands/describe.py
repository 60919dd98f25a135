"""Services and mappings in words, for Slack: what each side connects to and what it sees."""

from __future__ import annotations

from datetime import datetime

from cloud.model import Backend, BackendKind, Forward, Mapping, Service

from . import portal
from .escapes import escape


def until(when: datetime) -> str:
    """How long a timed approval lasts, as every message about it (card, answer, DM) says it."""
    return f"until {when:%Y-%m-%d %H:%M} UTC"


def mapping_sentence(m: Mapping, whose: str | None = None, portal_home: str | None = None) -> str:
    """ "from VM-Win2019 (10.0.0.4) connect to 10.0.0.5:3389; it arrives at VM-Win2019-2 10.2.0.5:3389,
    which sees you as 10.2.0.6" — the line people otherwise reconstruct from ten portal pages.

    Written to the requester; with ``whose`` (the requester, as ``replies.requester`` names them)
    in the third person, for the owners: "<@U0BOB>'s VM-Win2019 (10.0.0.4) connects to …; it
    arrives at … as 10.2.0.6". With ``portal_home`` the VMs and the endpoint (its address) link
    to the portal."""
    backend = f"{portal.named(portal_home, m.backend_vm_id, m.backend_vm)} " if m.backend_vm else ""
    arrival = f"{backend}{m.backend_ip}:{m.backend_port}" if m.backend_ip else "no backend yet"
    seen_as = " or ".join(m.nat_ips) or "a NAT IP not yet allocated"
    goes_to = destination(m)
    if m.consumer_visible and m.consumer_destination:
        goes_to = portal.named(portal_home, m.endpoint_id, m.consumer_destination)
    vm = portal.named(portal_home, m.consumer_vm_id, m.consumer_vm) if m.consumer_vm else ""
    if whose is not None:
        source = f"{vm} ({m.consumer_source_ip})" if m.consumer_vm else "subnet"
        return f"{whose}'s {source} connects to {goes_to}; it arrives at {arrival} as {seen_as}"
    source = f"from {vm} ({m.consumer_source_ip})" if m.consumer_vm else "from your subnet"
    return f"{source} connect to {goes_to}; it arrives at {arrival}, which sees you as {seen_as}"


def destination(m: Mapping) -> str:
    """What the consumer connects to, or exactly why natlink cannot say: the endpoint lies in a
    subscription natlink cannot read, or Azure has given it no address yet."""
    if not m.consumer_visible:
        return "not visible (the endpoint's subscription is not readable)"
    return m.consumer_destination or "no address yet"


def mapping_row(m: Mapping, portal_home: str | None = None) -> str:
    """One line of the map: consumer source → PE IP:port ⇒ NAT IP → LB frontend:port (how) → backend.

    With ``portal_home`` the service and the endpoint (its address) link to the portal
    (``commands.portal``): the two Private Link resources the row is about. The VMs and the load
    balancer stay plain names: each link costs about 220 characters, and with all five a row took
    1,133, so a page within Slack's 12,000 held 9 rows; with two it holds twice as many. The map's
    CSV carries every resource's portal page (``commands.usecases.status.MAP_COLUMNS``)."""
    source = f"{escape(m.consumer_vm)} {m.consumer_source_ip}" if m.consumer_vm else "consumer"
    nat = ", ".join(m.nat_ips) or "?"
    via = f" ({escape(m.via)})" if m.via else ""
    port = m.port if m.port is not None else "?"
    goes_to = destination(m)
    if m.consumer_visible and m.consumer_destination and m.endpoint_id:
        goes_to = portal.named(portal_home, m.endpoint_id, m.consumer_destination)
    return (
        f"*{portal.named(portal_home, m.service_id, m.service)}* {m.status or '?'}: {source} → {goes_to} ⇒ "
        f"NAT {nat} → {escape(m.load_balancer or 'frontend')} {m.frontend_ip or '?'}:{port}{via} → "
        f"{escape(m.backend_vm or 'backend')} {m.backend_ip or '?'}:{m.backend_port or '?'} (sees {nat})"
    )


def exposed_lines(service: Service, portal_home: str | None = None) -> tuple[str, ...]:
    """What the provider needs after create: the alias to share, and who sees what on their side.
    With ``portal_home`` the service and its backend VMs link to the portal."""
    ports = ", ".join(_forward_words(f) for f in service.forwards) or "? (no load-balancing or NAT rule)"
    backends = ", ".join(backend_words(b, portal_home) for b in service.backends)
    return (
        f"Alias: `{escape(service.alias or '?')}` of {portal.named(portal_home, service.id, service.name)}",
        f"Frontend {service.frontend_ip}, ports {ports}; NAT IPs {', '.join(service.nat_ips) or '?'} "
        "(what your backends will see as the source)",
        f"Backends: {backends or 'none'}",
        f"Share it: `/natlink share {escape(service.name)} #channel`",
    )


def _forward_words(forward: Forward) -> str:
    """``3389``, or ``3389 (NAT rule RDP)``; a NAT rule's port Azure did not give reads ``?``."""
    port = "?" if forward.frontend_port is None else str(forward.frontend_port)
    return f"{port} ({escape(forward.via)})" if forward.via else port


def backend_words(b: Backend, portal_home: str | None = None) -> str:
    """A backend as people name it: a VM or scale set instance by name, an IP-based pool member by
    its address ("IP 10.2.0.40:8080 (unknown, not a VM)")."""
    if b.kind == BackendKind.IP:
        return f"IP {b.ip}:{b.port} ({b.power_state or '?'})"
    what = "instance " if b.kind == BackendKind.SCALE_SET else ""
    return f"{what}{portal.named(portal_home, b.vm_id, b.vm_name or b.nic_id)} {b.ip}:{b.port} ({b.power_state or '?'})"
