"""One sweep of Azure: five list calls per subscription, however many services there are.

Per-resource GETs would grow with the estate and hit ARM throttling; list-by-subscription calls
grow only by pages. Subscriptions are swept concurrently, and one the identity may not read is
recorded as unreadable so the rest of the map still shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.exceptions import AzureError, HttpResponseError
from azure.mgmt.network.models import LoadBalancer, NetworkInterface, PrivateEndpoint, PrivateLinkService

from . import convert
from .clients import Clients
from .errors import CloudError
from .model import Snapshot, Unreadable

MAX_WORKERS = 8
_UNREADABLE_STATUSES = {401, 403, 404}


@dataclass(frozen=True)
class _Listing:
    """The SDK objects one subscription's list calls returned."""

    services: list[PrivateLinkService]
    endpoints: list[PrivateEndpoint]
    nics: list[NetworkInterface]
    load_balancers: list[LoadBalancer]
    power: dict[str, str]


def snapshot(clients: Clients, subscriptions: Iterable[str]) -> Snapshot:
    """Everything natlink maps, read from ``subscriptions`` at once."""
    subs = tuple(dict.fromkeys(s.lower() for s in subscriptions))
    taken_at = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(subs)))) as pool:
        results = list(pool.map(lambda sub: _read(clients, sub), subs))
    listings = [r for r in results if isinstance(r, _Listing)]
    resources = convert.Resources.index(
        nics=[n for listing in listings for n in listing.nics],
        load_balancers=[lb for listing in listings for lb in listing.load_balancers],
        endpoints=[pe for listing in listings for pe in listing.endpoints],
        power={vm: state for listing in listings for vm, state in listing.power.items()},
    )
    return Snapshot(
        taken_at=taken_at,
        subscriptions=subs,
        services=tuple(convert.service(pls, resources) for listing in listings for pls in listing.services),
        endpoints=tuple(convert.endpoint(pe, resources) for listing in listings for pe in listing.endpoints),
        unreadable=tuple(r for r in results if isinstance(r, Unreadable)),
    )


def _read(clients: Clients, subscription: str) -> _Listing | Unreadable:
    """List one subscription; a refusal marks it unreadable, any other failure stops the sweep."""
    try:
        return _list(clients, subscription)
    except HttpResponseError as exc:
        error = CloudError.from_azure(exc, f"/subscriptions/{subscription}")
        if exc.status_code not in _UNREADABLE_STATUSES:
            raise error from exc
        return Unreadable(subscription, error.code, error.message)
    except AzureError as exc:
        raise CloudError.from_azure(exc, f"/subscriptions/{subscription}") from exc


def _list(clients: Clients, subscription: str) -> _Listing:
    network, compute = clients.network(subscription), clients.compute(subscription)
    return _Listing(
        services=list(network.private_link_services.list_by_subscription()),
        endpoints=list(network.private_endpoints.list_by_subscription()),
        nics=list(network.network_interfaces.list_all()),
        load_balancers=list(network.load_balancers.list_all()),
        power={
            vm.id: state
            for vm in compute.virtual_machines.list_all(status_only="true")
            if (state := convert.power_state(vm.instance_view.statuses if vm.instance_view else []))
        },
    )
