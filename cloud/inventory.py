"""One sweep of Azure: five list calls per subscription, however many services there are.

A load balancer pool may hold scale set instances (an AKS cluster's internal LB): their NICs are
not in the subscription's NIC list (Azure/azure-cli#817), so for each scale set a pool refers to,
and only then, two more list calls read its NICs and its instances with their power state.

Per-resource GETs would grow with the estate and hit ARM throttling; list-by-subscription calls
grow only by pages. Subscriptions are swept concurrently (a bounded pool, each paced by ARM's
remaining-reads header: see :mod:`cloud.retry`), and one the identity may not read is recorded as
unreadable so the rest of the map still shows.

The list calls go through each SDK client's own pipeline (authentication, retry, logging) with
the SDK's own request builders, but their pages are read as JSON and converted directly:
building SDK models for thousands of resources costs several times the HTTP work and the
converter only reads the JSON underneath them.

Pages are streamed into records, one subscription at a time: a subscription's NICs are indexed as
their pages arrive, then its endpoints and services are converted page by page, so no sweep holds
the whole estate's JSON at once (10,000 services held that way took over half a gigabyte). This is
exact because Azure keeps everything a record draws on in the subscription of the resource
itself: a NIC is in its virtual network's subscription (so an endpoint's NIC and subnet are its
own), and a service's NAT subnet, load balancer and backend NICs share one virtual network. The
one thing read across subscriptions is an endpoint's own request message, for a connection whose
description no longer carries the natlink token; those tokens are kept, and filled in last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import orjson
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

from . import convert, ids
from .clients import MAX_WORKERS, Clients
from .errors import raise_for_status, read_or_unreadable
from .model import Endpoint, Service, Snapshot, Unreadable

Json = dict[str, Any]

# A subscription's VM list (4 pages of 50 a subscription in the big bench) is read on a thread of
# its own while its load balancers, NICs and endpoints stream in: only the services need the power
# states, so the sweep waits for none of those pages. One thread for each subscription read at once.
_BACKGROUND = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="natlink-vm-list")


@dataclass(frozen=True)
class _Part:
    """One subscription's records, and the natlink tokens its endpoints' request messages carry."""

    services: list[Service]
    endpoints: list[Endpoint]
    tokens: dict[str, str]


def snapshot(clients: Clients, subscriptions: Iterable[str]) -> Snapshot:
    """Everything natlink maps, read from ``subscriptions`` at once."""
    subs = tuple(dict.fromkeys(s.lower() for s in subscriptions))
    taken_at = datetime.now(UTC)
    results = clients.per_subscription(subs, lambda sub: _read(clients, sub))
    parts = [r for r in results if isinstance(r, _Part)]
    tokens = {pe: token for part in parts for pe, token in part.tokens.items()}
    return Snapshot(
        taken_at=taken_at,
        subscriptions=subs,
        services=tuple(_with_tokens(s, tokens) for part in parts for s in part.services),
        endpoints=tuple(pe for part in parts for pe in part.endpoints),
        unreadable=tuple(r for r in results if isinstance(r, Unreadable)),
    )


def _read(clients: Clients, subscription: str) -> _Part | Unreadable:
    return read_or_unreadable(subscription, lambda: _list(clients, subscription))


def _list(clients: Clients, subscription: str) -> _Part:
    """The five list calls, and two per scale set that a backend pool refers to; NICs are indexed
    as their pages arrive, endpoints and services converted a page at a time."""
    network, compute = clients.network(subscription).send_request, clients.compute(subscription).send_request
    vm_power = _BACKGROUND.submit(copy_context().run, _vm_power, compute, subscription)
    load_balancers = list(pages(network, build_load_balancers_list_all_request(subscription)))
    names: dict[str, str] = {}
    power: dict[str, str] = {}  # of scale set instances; the VMs' own come from the VM list
    scale_set_nics: list[Iterator[Json]] = []
    for group, scale_set in scale_sets_in_pools(load_balancers, subscription):
        scale_set_nics.append(
            pages(
                network,
                build_network_interfaces_list_virtual_machine_scale_set_network_interfaces_request(
                    group, scale_set, subscription
                ),
            )
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
    nics = chain(pages(network, build_network_interfaces_list_all_request(subscription)), *scale_set_nics)
    resources = convert.Resources.index(nics=nics, load_balancers=_drained(load_balancers), vm_names=names)
    endpoints, tokens = [], {}
    for pe in pages(network, build_private_endpoints_list_by_subscription_request(subscription)):
        endpoints.append(convert.endpoint(pe, resources))
        if token := convert.endpoint_token(pe):
            tokens[ids.key(pe.get("id"))] = token
    resources = resources.with_power(vm_power.result() | power)  # only the services need it
    services = [
        convert.service(pls, resources)
        for pls in pages(network, build_private_link_services_list_by_subscription_request(subscription))
    ]
    return _Part(services, endpoints, tokens)


def _vm_power(compute: Callable[..., Any], subscription: str) -> dict[str, str]:
    """Each VM's power state, from the subscription's VM list with ``statusOnly=true``."""
    vms = pages(compute, build_virtual_machines_list_all_request(subscription, status_only="true"))
    return {vm["id"]: state for vm in vms if (state := convert.power_state(_statuses(vm)))}


def _drained(items: list[Json]) -> Iterator[Json]:
    """Each item once, dropped from ``items`` as it is given: the index reads the load balancers
    before the NIC pages, so their JSON (a subscription's LBs take megabytes) is freed before the
    NICs stream in, and each subscription read at once holds that much less."""
    items.reverse()
    while items:
        yield items.pop()


def _with_tokens(service: Service, tokens: dict[str, str]) -> Service:
    """The service with each connection's token read from its endpoint's request message when its
    description had none (the provider's decision overwrites the description)."""
    found = [tokens.get(ids.key(c.private_endpoint_id)) if not c.token else None for c in service.connections]
    if not any(found):
        return service
    connections = tuple(
        replace(c, token=token) if token else c for c, token in zip(service.connections, found, strict=True)
    )
    return replace(service, connections=connections)


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

    Each page is asked for as a stream and its bytes parsed with orjson: a sweep of a large estate
    reads hundreds of megabytes of JSON, and the pipeline's own decoding (bytes to text, then the
    standard library's parser) was the largest single CPU cost of the sweep. A stream skips that
    decoding (azure-core's ContentDecodePolicy leaves streamed bodies alone) and keeps no text copy.
    """
    while True:
        pipeline_response = send(request, stream=True, _return_pipeline_response=True)
        response = pipeline_response.http_response
        content = response.read()
        raise_for_status(response)
        body = orjson.loads(content)
        del content
        yield from body.get("value") or []
        next_link = body.get("nextLink")
        if not next_link:
            return
        request = HttpRequest("GET", next_link, headers={"Accept": "application/json"})
