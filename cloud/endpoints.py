"""The consumer's side: check an alias, request a private endpoint, delete it.

A request always uses a manual connection and carries the natlink token first in its request
message, so the provider's connection can be matched to the request exactly, whatever the
requester and reason add (Azure keeps at most 140 characters).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from azure.core.exceptions import AzureError
from azure.mgmt.network.models import (
    CheckPrivateLinkServiceVisibilityRequest,
    PrivateEndpoint,
    PrivateLinkServiceConnection,
    Subnet,
)

from . import convert, ids
from .clients import Clients
from .errors import CloudError
from .limits import REQUEST_MESSAGE_MAX
from .lookup import get_or_none, unique
from .model import Endpoint
from .steps import Progress, Steps, wait
from .tokens import PREFIX, parse_token
from .vms import find_vm


@dataclass(frozen=True)
class SubnetRef:
    """A consumer subnet named as people know it: subscription, VNet name, subnet name."""

    subscription: str
    vnet: str
    subnet: str


@dataclass(frozen=True)
class VmRef:
    """A consumer VM where it was found: its subscription and name. A VM name alone is looked up
    in every subscription natlink manages, where another team's namesake makes it ambiguous."""

    subscription: str
    name: str


@dataclass(frozen=True)
class _Place:
    subscription: str
    resource_group: str
    location: str
    subnet_id: str


def check_visibility(clients: Clients, subscription: str, location: str, alias: str) -> bool:
    """Whether the service behind ``alias`` lets ``subscription`` connect from ``location``."""
    network = clients.network(subscription)
    request = CheckPrivateLinkServiceVisibilityRequest(private_link_service_alias=alias)
    try:
        check = network.private_link_services.begin_check_private_link_service_visibility
        return bool(wait(clients, lambda: check(location, request), f"visibility check of {alias}").visible)
    except AzureError as exc:
        raise CloudError.from_azure(exc, f"/subscriptions/{subscription}") from exc


def request_message(token: str, requester: str, reason: str) -> str:
    """``<token> <requester>: <reason>`` within Azure's 140 characters; the token goes first so it survives.

    The requester is named only when the whole reason fits beside it: the reason (at most
    ``REASON_MAX``, checked at input) is what the owner reads in the portal, and natlink's own
    record names the requester anyway. Only a longer reason is cut."""
    if parse_token(token) != token:
        raise CloudError(
            # InvalidToken: natlink's own code
            "InvalidToken",
            f"{token!r} is not a natlink token ({PREFIX}<3-32 URL-safe characters>).",
        )
    whole = " ".join(part for part in (token, f"{requester}:" if requester else "", reason) if part)
    if len(whole) <= REQUEST_MESSAGE_MAX:
        return whole
    return " ".join(part for part in (token, reason) if part)[:REQUEST_MESSAGE_MAX]


def request_endpoint(
    clients: Clients,
    target: str,
    consumer: str | VmRef | SubnetRef,
    pe_name: str,
    token: str,
    requester: str,
    reason: str,
    progress: Progress | None = None,
    replacing: Collection[str] = (),
) -> Endpoint:
    """Create private endpoint ``pe_name`` to ``target`` (alias or service ID) with a manual request.

    ``consumer`` is a VM, by name in any subscription natlink manages or as a :class:`VmRef`
    (the endpoint goes in its subnet and resource group), or a :class:`SubnetRef` (the VNet's
    resource group). Idempotent by token: an endpoint of that name
    carrying the same token is returned as is. One carrying a token in ``replacing`` (natlink's
    own leftover of a failed request) is deleted first; any other is ``EndpointNameTaken``.
    """
    message = request_message(token, requester, reason)
    place = _consumer_place(clients, consumer)
    network = clients.network(place.subscription)
    steps = Steps(f"request endpoint {pe_name}", progress)
    with steps.step("read the current state"):
        existing = get_or_none(network.private_endpoints.get, place.resource_group, pe_name)
    if existing is not None and convert.endpoint_token(existing) in replacing:
        with steps.step(f"remove the endpoint a failed request left: {pe_name}"):
            delete_endpoint(clients, str(existing.id))
        existing = None
    if existing is not None:
        if convert.endpoint_token(existing) != token:
            raise CloudError(
                # EndpointNameTaken: natlink's own code
                "EndpointNameTaken",
                f"Private endpoint {existing.id} already exists for another request "
                f"({convert.endpoint_token(existing) or 'not made by natlink'}).",
                existing.id,
                "Pick another endpoint name.",
            )
        return _record(clients, place.subscription, existing)
    body = PrivateEndpoint(
        location=place.location,
        tags={"managed-by": "natlink", "natlink-token": token},
        subnet=Subnet(id=place.subnet_id),
        manual_private_link_service_connections=[
            PrivateLinkServiceConnection(
                name=pe_name, private_link_service_id=target, request_message=message
            )
        ],
    )
    with steps.step(f"private endpoint {pe_name}", f"{ids.parent(place.subnet_id)}"):
        created = wait(
            clients,
            lambda: network.private_endpoints.begin_create_or_update(place.resource_group, pe_name, body),
            f"private endpoint {pe_name}",
        )
        endpoint = _record(clients, place.subscription, created)
        steps.done(f"private endpoint {pe_name}: {endpoint.ip}, request {endpoint.status}")
    return endpoint


def discard_endpoint(clients: Clients, consumer: str | VmRef | SubnetRef, pe_name: str, token: str) -> bool:
    """Delete endpoint ``pe_name`` if it carries ``token`` (so a failed request leaves nothing in
    Azure); returns whether one was deleted. Any other endpoint of that name is not natlink's."""
    place = _consumer_place(clients, consumer)
    network = clients.network(place.subscription)
    try:
        existing = get_or_none(network.private_endpoints.get, place.resource_group, pe_name)
    except AzureError as exc:
        raise CloudError.from_azure(exc, f"/subscriptions/{place.subscription}") from exc
    if existing is None or convert.endpoint_token(existing) != token:
        return False
    delete_endpoint(clients, str(existing.id))
    return True


def delete_endpoint(clients: Clients, pe_id: str) -> None:
    """Delete a private endpoint (its connection on the service goes with it); a missing one is fine."""
    try:
        sub, group, name = ids.network_path(pe_id)
    except ValueError:
        # InvalidEndpointId: natlink's own code
        raise CloudError("InvalidEndpointId", f"{pe_id!r} is not a private endpoint ID.") from None
    try:
        wait(
            clients,
            lambda: clients.network(sub).private_endpoints.begin_delete(group, name),
            f"private endpoint {name}",
        )
    except AzureError as exc:
        raise CloudError.from_azure(exc, pe_id) from exc


def _record(clients: Clients, subscription: str, pe: PrivateEndpoint) -> Endpoint:
    """The endpoint with its address; the subscription's NICs also tell which VMs share its subnet."""
    nics = list(clients.network(subscription).network_interfaces.list_all())
    return convert.endpoint(pe, convert.Resources.index(nics=nics))


def _consumer_place(clients: Clients, consumer: str | VmRef | SubnetRef) -> _Place:
    if isinstance(consumer, str | VmRef):
        where, name = (
            ([consumer.subscription], consumer.name)
            if isinstance(consumer, VmRef)
            else (clients.settings.subscriptions, consumer)
        )
        vm = find_vm(clients, where, name)
        return _Place(vm.subscription, vm.resource_group, vm.location, vm.subnet_id)
    try:
        vnets = list(clients.network(consumer.subscription).virtual_networks.list_all())
    except AzureError as exc:
        raise CloudError.from_azure(exc, f"/subscriptions/{consumer.subscription}") from exc
    named = [v for v in vnets if (v.name or "").lower() == consumer.vnet.lower()]
    vnet = unique(
        named,
        "VirtualNetwork",
        consumer.vnet,
        lambda v: v.id,
        [f"subscription {consumer.subscription}"],
        (v.name or "" for v in vnets),
    )
    subnet = next((s for s in vnet.subnets or [] if (s.name or "").lower() == consumer.subnet.lower()), None)
    if subnet is None:
        names = ", ".join(s.name or "" for s in vnet.subnets or []) or "none"
        raise CloudError(
            # SubnetNotFound: natlink's own code
            "SubnetNotFound",
            f"VNet {vnet.name} has no subnet {consumer.subnet!r} (it has: {names}).",
            vnet.id,
        )
    _, group, _ = ids.network_path(vnet.id)
    return _Place(consumer.subscription, group, vnet.location, subnet.id)
