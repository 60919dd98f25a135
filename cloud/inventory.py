"""One sweep of Azure: five list calls per subscription, however many services there are.

A load balancer pool may hold scale set instances (an AKS cluster's internal LB): their NICs are
not in the subscription's NIC list (Azure/azure-cli#817), so for each scale set a pool refers to,
and only then, two more list calls read its NICs and its instances with their power state.

Per-resource GETs would grow with the estate and hit ARM throttling; list-by-subscription calls
grow only by pages. Subscriptions are swept concurrently, and one the identity may not read is
recorded as unreadable so the rest of the map still shows.

The list calls go through each SDK client's own pipeline (authentication, retry, logging) with
the SDK's own request builders, but their pages are read as JSON and converted directly:
building SDK models for thousands of resources costs several times the HTTP work and the
converter only reads the JSON underneath them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.rest import HttpRequest
from azure.mgmt.compute.operations._operations import (
    build_virtual_machine_scale_set_vms_list_request,
    build_virtual_machines_list_all_request,
)
from azure.mgmt.network.operations._operations import (
    build_load_balancers_list_all_request,
    build_network_interfaces_list_all_request,
    build_network_interfaces_list_virtual_machine_scale_set_network_interfaces_request,
    build_private_endpoints_list_by_subscription_request,
    build_private_link_services_list_by_subscription_request,
)

from . import convert
from .clients import Clients
from .errors import raise_for_status, read_or_unreadable
from .model import Snapshot, Unreadable

Json = dict[str, Any]


@dataclass(frozen=True)
class _Listing:
    """The resources (REST JSON) one subscription's list calls returned."""

    services: list[Json]
    endpoints: list[Json]
    nics: list[Json]
    load_balancers: list[Json]
    power: dict[str, str]
    vm_names: dict[str, str]


def snapshot(clients: Clients, subscriptions: Iterable[str]) -> Snapshot:
    """Everything natlink maps, read from ``subscriptions`` at once."""
    subs = tuple(dict.fromkeys(s.lower() for s in subscriptions))
    taken_at = datetime.now(UTC)
    results = clients.per_subscription(subs, lambda sub: _read(clients, sub))
    listings = [r for r in results if isinstance(r, _Listing)]
    resources = convert.Resources.index(
        nics=[n for listing in listings for n in listing.nics],
        load_balancers=[lb for listing in listings for lb in listing.load_balancers],
        endpoints=[pe for listing in listings for pe in listing.endpoints],
        power={vm: state for listing in listings for vm, state in listing.power.items()},
        vm_names={vm: name for listing in listings for vm, name in listing.vm_names.items()},
    )
    return Snapshot(
        taken_at=taken_at,
        subscriptions=subs,
        services=tuple(convert.service(pls, resources) for listing in listings for pls in listing.services),
        endpoints=tuple(convert.endpoint(pe, resources) for listing in listings for pe in listing.endpoints),
        unreadable=tuple(r for r in results if isinstance(r, Unreadable)),
    )


def _read(clients: Clients, subscription: str) -> _Listing | Unreadable:
    return read_or_unreadable(subscription, lambda: _list(clients, subscription))


def _list(clients: Clients, subscription: str) -> _Listing:
    """The five list calls, in the order the SDK-model version made them, then two per scale set
    that a backend pool refers to."""
    network, compute = clients.network(subscription).send_request, clients.compute(subscription).send_request
    vms = pages(compute, build_virtual_machines_list_all_request(subscription, status_only="true"))
    services = list(pages(network, build_private_link_services_list_by_subscription_request(subscription)))
    endpoints = list(pages(network, build_private_endpoints_list_by_subscription_request(subscription)))
    nics = list(pages(network, build_network_interfaces_list_all_request(subscription)))
    load_balancers = list(pages(network, build_load_balancers_list_all_request(subscription)))
    power = {vm["id"]: state for vm in vms if (state := convert.power_state(_statuses(vm)))}
    names: dict[str, str] = {}
    for group, scale_set in scale_sets_in_pools(load_balancers, subscription):
        nics += pages(
            network,
            build_network_interfaces_list_virtual_machine_scale_set_network_interfaces_request(
                group, scale_set, subscription
            ),
        )
        for vm in pages(
            compute,
            build_virtual_machine_scale_set_vms_list_request(
                group, scale_set, subscription, expand="instanceView"
            ),
        ):
            names[vm["id"]] = vm.get("name") or ""
            if state := convert.power_state(_statuses(vm)):
                power[vm["id"]] = state
    return _Listing(services, endpoints, nics, load_balancers, power, names)


def scale_sets_in_pools(load_balancers: Iterable[Json], subscription: str) -> list[tuple[str, str]]:
    """``(resource group, name)`` of each scale set in ``subscription`` whose instances' NICs are in a
    backend pool of ``load_balancers`` (a pool lists them in ``backendIPConfigurations``)."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for lb in load_balancers:
        for pool in ((lb.get("properties") or {}).get("backendAddressPools")) or []:
            for config in ((pool.get("properties") or {}).get("backendIPConfigurations")) or []:
                where = convert.scale_set_of(config.get("id"))
                if where and where[0].lower() == subscription.lower():
                    found.setdefault((where[1].lower(), where[2].lower()), (where[1], where[2]))
    return list(found.values())


def _statuses(vm: Json) -> list[Json]:
    """The instance view's statuses of a VM listed with ``statusOnly=true``."""
    return ((vm.get("properties") or {}).get("instanceView") or {}).get("statuses") or []


def pages(send: Callable[..., Any], request: HttpRequest) -> Iterator[Json]:
    """The items of a list call and its ``nextLink`` pages, sent through the client's pipeline.

    The pipeline's content-decode policy has already parsed each page (as it does for the SDK's
    own pagers); azure-core's ``_return_pipeline_response`` hands that back, which saves a second
    ``json.loads`` of every page.
    """
    while True:
        pipeline_response = send(request, _return_pipeline_response=True)
        response = pipeline_response.http_response
        raise_for_status(response)
        body = pipeline_response.context.get("deserialized_data")
        if not isinstance(body, dict):
            body = response.json()
        yield from body.get("value") or []
        next_link = body.get("nextLink")
        if not next_link:
            return
        request = HttpRequest("GET", next_link, headers={"Accept": "application/json"})
