"""Finding one resource by name: exactly one match, or an error that says where natlink looked.

People type names (``VM-Win2019-2``), ARM wants IDs. A name is matched case-insensitively, as
ARM does; two matches are never resolved by guessing, the error lists both IDs instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.network.models import LoadBalancer

from . import ids
from .clients import Clients
from .errors import CloudError

T = TypeVar("T")


def unique(
    matches: Sequence[T], kind: str, name: str, ident: Callable[[T], str], looked_in: Sequence[str]
) -> T:
    """The single match; ``Ambiguous<Kind>Name`` or ``<Kind>NotFound`` otherwise.

    ``kind`` is the CamelCase resource word used in the error code (``Vm``, ``LoadBalancer``).
    """
    if len(matches) == 1:
        return matches[0]
    if matches:
        found = ", ".join(ident(m) for m in matches)
        raise CloudError(
            f"Ambiguous{kind}Name",
            f"The name {name!r} matches {len(matches)} resources: {found}.",
            hint="Rename one of them, or name the resource group or subscription to pick one.",
        )
    raise CloudError(
        f"{kind}NotFound",
        f"No {kind} named {name!r} in {', '.join(looked_in) or 'no subscriptions'}.",
        hint="Check the name and that natlink's identity can read the subscription (NATLINK_SUBSCRIPTIONS).",
    )


def get_or_none(getter: Callable[..., T], *args: str) -> T | None:
    """A GET that answers None for a resource that does not exist, instead of raising."""
    try:
        return getter(*args)
    except ResourceNotFoundError:
        return None


def load_balancer(clients: Clients, lb_id: str) -> LoadBalancer | None:
    """The load balancer with this ID, or None when it does not exist."""
    sub, group, name = ids.network_path(lb_id)
    return get_or_none(clients.network(sub).load_balancers.get, group, name)
