"""The provider's decision on a connection: approve, reject or remove, matched exactly and read back.

Connections are re-read before every decision and matched by private endpoint ID or by the
natlink token, never by position or name prefix: between the card being posted and the click,
other requests may have arrived or been removed. A decision already in place is not written
again. A rejected connection is never approved: Azure refuses it (see sandbox/arm/privatelink.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import PrivateEndpointConnection

from . import convert, ids
from .clients import Clients
from .errors import CloudError
from .limits import REQUEST_MESSAGE_MAX
from .lookup import get_or_none
from .model import Connection
from .services import service_path
from .steps import wait
from .tokens import PREFIX, parse_token

STATUSES = {"approve": "Approved", "reject": "Rejected"}


def decide(clients: Clients, service_id: str, match: str, decision: str, description: str = "") -> Connection:
    """Apply ``decision`` (approve | reject) to the connection ``match`` names, and read it back.

    ``match`` is a private endpoint ID (any case) or a natlink token. The written description
    starts with the token, so later decisions still match. Azure's answer to the write is not
    believed: the connection is read again, and ``DecisionNotApplied`` is raised unless it shows
    the decision.
    """
    if decision not in STATUSES:
        # InvalidDecision: natlink's own code
        raise CloudError("InvalidDecision", f"A decision is one of {', '.join(STATUSES)}, not {decision!r}.")
    sub, group, name = service_path(service_id)
    network = clients.network(sub)
    try:
        connections = list(network.private_link_services.list_private_endpoint_connections(group, name))
        conn, token = find_connection(clients, connections, match, service_id)
        current = dataclasses.replace(convert.connection(conn, service_id, convert.Resources()), token=token)
        if current.status == STATUSES[decision]:
            return current
        if current.status == "Rejected" and decision == "approve":
            raise CloudError(  # natlink's own code, checked before Azure's BadRequest for the same rule
                "ConnectionRejected",
                f"Connection {conn.name} on {ids.name(service_id)} was rejected; Azure cannot approve a "
                "rejected connection (by design: the consumer deletes the endpoint and asks again).",
                service_id,
            )
        state = conn.private_link_service_connection_state
        state.status = STATUSES[decision]
        state.description = decision_description(token, description)
        network.private_link_services.update_private_endpoint_connection(group, name, conn.name, conn)
        read = read_back_connection(clients, service_id, conn.name, STATUSES[decision])
    except ResourceNotFoundError as exc:
        # ServiceNotFound: natlink's own code
        raise CloudError("ServiceNotFound", f"No private link service {service_id}.", service_id) from exc
    except AzureError as exc:
        raise CloudError.from_azure(exc, service_id) from exc
    return dataclasses.replace(convert.connection(read, service_id, convert.Resources()), token=token)


def remove_access(clients: Clients, service_id: str, pe_id: str | None, token: str, description: str) -> int:
    """Remove the request's connection, then read the service back: returns how many were removed
    (0: already gone), or raises ``AccessStillOpen`` when Azure still shows it.

    The connection is the one on the request's endpoint ``pe_id``; only a request with no endpoint
    recorded is matched by its ``token``, since anyone can copy a token into their own request
    message. A service Azure no longer has holds no access.
    """
    sub, group, name = service_path(service_id)
    network = clients.network(sub)
    try:
        removed = 0
        for conn in _carrying(clients, network, group, name, pe_id, token):
            wait(
                clients,
                lambda conn=conn: network.private_link_services.begin_delete_private_endpoint_connection(
                    group, name, conn.name
                ),
                f"removal of connection {conn.name}",
            )
            removed += 1
        left = _carrying(clients, network, group, name, pe_id, token)
    except ResourceNotFoundError:
        return 0
    except AzureError as exc:
        raise CloudError.from_azure(exc, service_id) from exc
    if left:
        raise CloudError(  # natlink's own code: Azure acknowledged the removal but still shows it
            "AccessStillOpen",
            f"Azure still shows {', '.join(_describe(c) for c in left)} on {ids.name(service_id)} "
            f"after natlink removed it ({description}).",
            service_id,
            "Someone may have re-approved it in the portal meanwhile; try again, or remove the "
            "connection in the portal. The owners have been told.",
        )
    return removed


def _carrying(
    clients: Clients, network: NetworkManagementClient, group: str, name: str, pe_id: str | None, token: str
) -> list[PrivateEndpointConnection]:
    connections = list(network.private_link_services.list_private_endpoint_connections(group, name))
    if pe_id:
        return [
            c for c in connections if c.private_endpoint and ids.key(c.private_endpoint.id) == ids.key(pe_id)
        ]
    return [c for c in connections if _token_of(clients, c) == token]


def _describe(conn: PrivateEndpointConnection) -> str:
    state = conn.private_link_service_connection_state
    return f"connection {conn.name} ({state.status if state else '?'})"


READ_BACK_TRIES, READ_BACK_PAUSE_SECONDS = 3, 0.5
"""ARM may serve a read from a replica that has not seen the write yet; a few short re-reads tell a
slow replica from a decision that did not hold."""


def read_back_connection(
    clients: Clients, service_id: str, connection: str, wanted: str
) -> PrivateEndpointConnection:
    """The connection as Azure now shows it; ``DecisionNotApplied`` when it does not show ``wanted``."""
    sub, group, name = service_path(service_id)
    network = clients.network(sub)
    for attempt in range(READ_BACK_TRIES):
        if attempt:
            time.sleep(READ_BACK_PAUSE_SECONDS)
        read = network.private_link_services.get_private_endpoint_connection(group, name, connection)
        state = read.private_link_service_connection_state
        if state and state.status == wanted:
            return read
    raise CloudError(  # natlink's own code: the write was acknowledged, the read-back disagrees
        "DecisionNotApplied",
        f"Azure accepted the change to {wanted} but {ids.name(service_id)} still shows connection "
        f"{connection} as {state.status if state else 'unknown'}.",
        service_id,
        "Someone may have changed it in the portal at the same time; check it there and decide again.",
    )


def decision_description(token: str | None, description: str) -> str:
    """The provider's description, token first, within Azure's 140 characters."""
    return " ".join(part for part in (token, description) if part)[:REQUEST_MESSAGE_MAX]


def find_connection(
    clients: Clients, connections: Sequence[PrivateEndpointConnection], match: str, service_id: str
) -> tuple[PrivateEndpointConnection, str | None]:
    """The one connection ``match`` names, and its token.

    A token is looked for in the connection's description first; a decision made outside natlink
    may have overwritten it, so then in the endpoint's own request message (if natlink can read it).
    """
    if match.startswith("/"):
        found = [
            c for c in connections if c.private_endpoint and ids.key(c.private_endpoint.id) == ids.key(match)
        ]
        return _one(found, match, service_id), _token_of(clients, found[0]) if found else None
    token = match if match.startswith(PREFIX) else PREFIX + match
    if parse_token(token) != token:
        # InvalidToken: natlink's own code
        raise CloudError("InvalidToken", f"{match!r} is neither a private endpoint ID nor a natlink token.")
    found = [c for c in connections if _description_token(c) == token]
    if not found:
        found = [c for c in connections if _description_token(c) is None and _token_of(clients, c) == token]
    return _one(found, match, service_id), token


def _one(found: list[PrivateEndpointConnection], match: str, service_id: str) -> PrivateEndpointConnection:
    if len(found) > 1:
        raise CloudError(
            # AmbiguousConnection: natlink's own code
            "AmbiguousConnection",
            f"{match} matches {len(found)} connections on {ids.name(service_id)}: {', '.join(c.name for c in found)}.",
            service_id,
        )
    if not found:
        raise CloudError(
            # ConnectionNotFound: natlink's own code
            "ConnectionNotFound",
            f"No connection matching {match} on private link service {ids.name(service_id)}.",
            service_id,
            "The endpoint may have been deleted or the connection removed; run /natlink status.",
        )
    return found[0]


def _description_token(conn: PrivateEndpointConnection) -> str | None:
    state = conn.private_link_service_connection_state
    return parse_token(state.description if state else None)


def _token_of(clients: Clients, conn: PrivateEndpointConnection) -> str | None:
    """The token from the description, else from the endpoint's request message; None if unreadable."""
    token = _description_token(conn)
    if token or not conn.private_endpoint:
        return token
    try:
        sub, group, name = ids.network_path(conn.private_endpoint.id)
        return convert.endpoint_token(get_or_none(clients.network(sub).private_endpoints.get, group, name))
    except (AzureError, ValueError):
        return None
