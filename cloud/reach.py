"""Can natlink reach Azure at all: a token from Entra ID, and each subscription readable.

``natlink doctor`` (and ``natlink serve`` at start) asks these before anyone types /natlink, so a
wrong secret, tenant or subscription shows as one line with its fix, not as a failed sweep later.
"""

from __future__ import annotations

from azure.core.exceptions import AzureError

from .clients import Clients
from .errors import CloudError, read_or_unreadable
from .model import Unreadable


def token_problem(clients: Clients) -> str | None:
    """Why no ARM token can be had for the configured cloud, or None when one can (it is then cached
    for the calls that follow)."""
    try:
        clients.credential.get_token(clients.settings.cloud.scope)
    except AzureError as error:
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return None


def regions(clients: Clients, subscription: str) -> tuple[str, ...] | Unreadable:
    """The regions of ``subscription``'s private link services (first page), read with the sweep's own
    list call; an ``Unreadable`` when ARM refuses it. Azure Monitor is then asked about one of them."""

    def read() -> tuple[str, ...]:
        pager = clients.network(subscription).private_link_services.list_by_subscription()
        first = next(iter(pager.by_page()), [])
        return tuple(dict.fromkeys(service.location for service in first if service.location))

    try:
        return read_or_unreadable(subscription, read)
    except CloudError as error:
        return Unreadable(subscription, error.code, error.message)
