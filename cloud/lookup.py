"""Finding one resource by name: exactly one match, or an error that says where natlink looked.

People type names (``VM-Win2019-2``), ARM wants IDs. A name is matched case-insensitively, as
ARM does; two matches are never resolved by guessing, the error lists both IDs instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from difflib import get_close_matches
from typing import TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.network.models import LoadBalancer

from . import ids
from .clients import Clients
from .errors import CloudError

T = TypeVar("T")


WORDS = {"Vm": "VM", "LoadBalancer": "load balancer", "VirtualNetwork": "VNet"}
"""How a person names each kind: the error code keeps Azure's CamelCase, the sentence does not."""


def unique(
    matches: Sequence[T],
    kind: str,
    name: str,
    ident: Callable[[T], str],
    looked_in: Sequence[str],
    known: Iterable[str] = (),
) -> T:
    """The single match; ``Ambiguous<Kind>Name`` or ``<Kind>NotFound`` otherwise.

    ``kind`` is the CamelCase resource word used in the error code (``Vm``, ``LoadBalancer``).
    ``known`` are the names that do exist, for a "did you mean" when the name was mistyped.
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
    word = WORDS.get(kind, kind)
    near = _near(name, known)
    raise CloudError(
        f"{kind}NotFound",
        f"natlink found no {word} named {name!r}"
        + (f"; did you mean {' or '.join(near)}?" if near else ".")
        + f" It looked in {', '.join(looked_in) or 'no subscriptions'}.",
        hint=f"Check the {word}'s name; if it is right, an admin can check that natlink may read its "
        "subscription (`natlink doctor`).",
    )


def _near(name: str, known: Iterable[str]) -> list[str]:
    """Up to three existing names close to ``name``, compared as ARM compares names: ignoring case."""
    by_lower = {k.lower(): k for k in known if k}
    return sorted(by_lower[m] for m in get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6))


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
