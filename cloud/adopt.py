"""Private link services natlink did not make: find one to adopt, and list those it could adopt.

Terraform, Bicep, the portal and AKS make private link services natlink never saw. Adopting one
starts with reading it: by resource ID (one GET), or by name across natlink's subscriptions (one
list per subscription, as ARM has no lookup by name alone). Two services with one name are never
told apart by guessing: the person is asked for the resource ID.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from azure.mgmt.network.models import PrivateLinkService

from . import ids
from .clients import Clients
from .errors import CloudError, read_or_unreadable
from .lb import is_natlink_made
from .model import Unreadable
from .services import get_pls


@dataclass(frozen=True)
class Adoptable:
    """A private link service as adopt and the scan show it: where it is, who made it, what waits."""

    id: str
    name: str
    subscription: str
    resource_group: str
    alias: str | None
    load_balancer: str | None
    pending: int
    connections: int
    natlink_made: bool
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scan:
    """Every private link service in the subscriptions read, and the subscriptions natlink could not read."""

    services: tuple[Adoptable, ...]
    unreadable: tuple[Unreadable, ...]


def scan(clients: Clients, subscriptions: Iterable[str]) -> Scan:
    """The private link services of ``subscriptions``: one list call each, all at once."""
    subs = tuple(dict.fromkeys(s.lower() for s in subscriptions))
    results = clients.per_subscription(subs, lambda sub: read_or_unreadable(sub, lambda: _list(clients, sub)))
    return Scan(
        tuple(a for r in results if not isinstance(r, Unreadable) for a in r),
        tuple(r for r in results if isinstance(r, Unreadable)),
    )


def find(clients: Clients, subscriptions: Iterable[str], reference: str) -> Adoptable:
    """The private link service a person named: by resource ID, or by a name that is unique across
    ``subscriptions``; ``PrivateLinkServiceNotFound`` or ``AmbiguousPrivateLinkServiceName`` else."""
    if reference.startswith("/"):
        return adoptable(get_pls(clients, reference))
    found = scan(clients, subscriptions)
    matches = [s for s in found.services if s.name.lower() == reference.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CloudError(
            # AmbiguousPrivateLinkServiceName: natlink's own code
            "AmbiguousPrivateLinkServiceName",
            f"{len(matches)} private link services are called {reference!r}: "
            + ", ".join(m.id for m in matches)
            + ".",
            hint="Adopt the one you mean by its resource ID.",
        )
    unread = "".join(
        f"; subscription {u.subscription} could not be read ({u.code})" for u in found.unreadable
    )
    raise CloudError(
        # PrivateLinkServiceNotFound: natlink's own code
        "PrivateLinkServiceNotFound",
        f"No private link service called {reference!r} in {', '.join(_looked_in(found, subscriptions))}{unread}.",
        hint="Check the name, or give its resource ID; `/natlink adopt --scan` lists what natlink can see.",
    )


def _looked_in(found: Scan, subscriptions: Iterable[str]) -> list[str]:
    """The subscriptions that were read, for saying where natlink looked."""
    unread = {u.subscription.lower() for u in found.unreadable}
    return [f"subscription {s}" for s in subscriptions if s.lower() not in unread] or ["no subscription"]


def adoptable(pls: PrivateLinkService) -> Adoptable:
    """The SDK's private link service as a plain record."""
    sub, group, name = ids.network_path(pls.id or "")
    statuses = [
        (c.private_link_service_connection_state.status if c.private_link_service_connection_state else None)
        for c in pls.private_endpoint_connections or []
    ]
    frontends = pls.load_balancer_frontend_ip_configurations or []
    return Adoptable(
        id=pls.id or "",
        name=pls.name or name,
        subscription=sub,
        resource_group=group,
        alias=pls.alias,
        load_balancer=ids.name(ids.parent(frontends[0].id)) if frontends and frontends[0].id else None,
        pending=sum(1 for s in statuses if s == "Pending"),
        connections=len(statuses),
        natlink_made=is_natlink_made(pls),
        tags=tuple(sorted((pls.tags or {}).items())),
    )


def _list(clients: Clients, subscription: str) -> list[Adoptable]:
    """One subscription's services; ``read_or_unreadable`` turns a refusal into an unreadable mark."""
    return [adoptable(p) for p in clients.network(subscription).private_link_services.list_by_subscription()]
