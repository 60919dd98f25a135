"""What natlink may do, asked of Azure before a verb's first write.

``create`` writes a load balancer, a NIC, a subnet and a private link service, in that order;
``delete`` the reverse. An identity that lacks the right for a later write (a role edited by hand,
an assignment at the wrong scope) would have the earlier writes applied and then be refused:
half-done. ARM answers a caller's effective actions at a scope (Permissions_ListForResourceGroup,
Microsoft.Authorization 2022-04-01; every caller may read its own), so natlink compares them with
the writes a verb will make and names every missing action, and the natlink role that grants it,
before it writes anything.

When the permissions cannot be read, natlink goes on: ARM still judges each write itself, and
the refusal names the action (``cloud/errors.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.rest import HttpRequest

from . import ids, roles
from .clients import Clients
from .errors import CloudError
from .inventory import pages

log = logging.getLogger("natlink.cloud")
API_VERSION = "2022-04-01"


@dataclass(frozen=True)
class Need:
    """Actions a verb's writes need at one resource group (``/subscriptions/…/resourceGroups/…``)."""

    scope: str
    actions: tuple[str, ...]


def group_of(resource_id: str) -> str:
    """The resource group scope an ARM ID lives in."""
    sub, group = ids.segment(resource_id, "subscriptions"), ids.segment(resource_id, "resourceGroups")
    return f"/subscriptions/{sub}/resourceGroups/{group}"


def require(clients: Clients, what: str, needs: Sequence[Need]) -> None:
    """Refuse ``what`` (e.g. "create rdp-vmb") before any write when natlink lacks an action it needs."""
    missing = [(need.scope, action) for need in _merged(needs) for action in _missing(clients, need)]
    if not missing:
        return
    listed = "; ".join(f"{action} at {scope}" for scope, action in missing)
    advice = sorted({roles.granting(action).advice for _, action in missing} - {""})
    raise CloudError(
        # MissingPermissions: natlink's own code
        "MissingPermissions",
        f"natlink's identity may not {what}: it lacks {listed}. Nothing was changed.",
        missing[0][0],
        "; ".join(advice) or "Ask your Azure administrator for these actions.",
    )


def allowed(permissions: Iterable[dict[str, Any]], action: str) -> bool:
    """Azure's rule: some permission's ``actions`` match and none of that permission's ``notActions``."""
    return any(
        any(_matches(p, action) for p in entry.get("actions") or [])
        and not any(_matches(p, action) for p in entry.get("notActions") or [])
        for entry in permissions
    )


def _matches(pattern: str, action: str) -> bool:
    """An action pattern: case-insensitive, ``*`` standing for any run of characters."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, action, re.IGNORECASE) is not None


def _merged(needs: Sequence[Need]) -> list[Need]:
    """One read per scope, the actions in the order first needed."""
    by_scope: dict[str, dict[str, None]] = {}
    for need in needs:
        by_scope.setdefault(need.scope.lower(), {}).update(dict.fromkeys(need.actions))
    scopes = {need.scope.lower(): need.scope for need in needs}
    return [Need(scopes[key], tuple(actions)) for key, actions in by_scope.items()]


def missing_at(clients: Clients, scope: str, actions: Iterable[str]) -> list[str] | None:
    """The ``actions`` natlink's identity lacks at ``scope`` (a subscription or resource group);
    None when the Permissions API did not answer. ``natlink doctor`` asks it per subscription, to
    name every gap before anyone types /natlink, not at a verb's first write."""
    held = _read(clients, scope)
    return None if held is None else [a for a in actions if not allowed(held, a)]


def _missing(clients: Clients, need: Need) -> list[str]:
    return missing_at(clients, need.scope, need.actions) or []


def _read(clients: Clients, scope: str) -> list[dict[str, Any]] | None:
    sub = ids.segment(scope, "subscriptions") or ""
    url = f"{scope}/providers/Microsoft.Authorization/permissions?api-version={API_VERSION}"
    try:
        return list(pages(clients.network(sub).send_request, HttpRequest("GET", url)))
    except (AzureError, CloudError) as error:
        log.warning("cannot read natlink's permissions at %s (%s); ARM will judge each write", scope, error)
        return None
