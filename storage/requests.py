"""The ``requests`` table: a consumer's request for a private endpoint to a service (the "link").

The caller gives each request its id (``cloud.tokens.new_request_id`` makes them, ``r-7k2m9x``);
storage imports nothing of natlink, so it knows nothing of their format and only keeps them unique.
Approving and rejecting go through :func:`decide`, a compare-and-set on
``state = 'pending'``: when two owners click at once exactly one decision is recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import require_choice
from storage.errors import NotFoundError, StorageError
from storage.records import DECISIONS, REQUEST_STATES, Decision, LinkRequest, RequestState
from storage.services import get_service
from storage.transactions import write

TABLE = "requests"
_ID_ATTEMPTS = 8


class RequestIdTaken(StorageError, ValueError):
    """A request id given for a new request belongs to an existing one."""


def create_request(
    db: Database,
    *,
    request_id: str | Callable[[], str],
    service: str,
    requester: str,
    consumer_subscription: str,
    vnet: str | None = None,
    subnet: str | None = None,
    pe_name: str | None = None,
    reason: str = "",
    state: RequestState = "requested",
    expires_at: datetime | None = None,
    operation_id: int | None = None,
    now: datetime | None = None,
) -> LinkRequest:
    """Record a new request for an existing service (stored under the service's canonical name).

    ``operation_id`` is the queued operation making it, so that operation's rerun finds it
    (:func:`made_by`) and no other request is ever reused.

    ``request_id`` is the new request's id, or a function that makes fresh ones
    (``cloud.tokens.new_request_id``): given a function, storage draws again on the rare collision;
    given an id that is taken, it raises :class:`RequestIdTaken`.
    """
    require_choice(state, REQUEST_STATES, "state")
    at = clock.stamp(now)
    with write(db):
        found = get_service(db, service)
        if found is None:
            raise NotFoundError(f"no service named {service!r}")
        row = {
            "service": found.name,
            "requester": requester,
            "consumer_subscription": consumer_subscription,
            "vnet": vnet,
            "subnet": subnet,
            "pe_name": pe_name,
            "reason": reason,
            "state": state,
            "expires_at": None if expires_at is None else clock.to_text(expires_at),
            "operation_id": operation_id,
            "created_at": at,
            "updated_at": at,
        }
        made = _insert_with_fresh_id(db, row, request_id)
        return _require(db, made)


def get_request(db: Database, request_id: str) -> LinkRequest | None:
    """The request with this id, or ``None``."""
    return _one(db, "id = ?", [request_id])


def find_by_pe_id(db: Database, pe_id: str) -> LinkRequest | None:
    """The newest request for this private endpoint ARM id (case-insensitive), or ``None``."""
    return _one(db, "pe_id = ?", [pe_id])


def find_by_connection_id(db: Database, connection_id: str) -> LinkRequest | None:
    """The newest request for this PLS connection ARM id (case-insensitive), or ``None``."""
    return _one(db, "connection_id = ?", [connection_id])


def list_pending(db: Database, *, service: str | None = None) -> list[LinkRequest]:
    """Requests awaiting a decision, oldest first, so the longest-waiting are seen first."""
    return list_requests(db, service=service, states=("pending",))


def made_by(db: Database, operation_id: int) -> LinkRequest | None:
    """The request the operation ``operation_id`` made, if it made one."""
    for row in db.table(TABLE).rows_where("operation_id = ?", [operation_id], limit=1):
        return _record(row)
    return None


def list_requests(
    db: Database, *, service: str | None = None, states: tuple[RequestState, ...] | None = None
) -> list[LinkRequest]:
    """Requests filtered by service and/or states, oldest first."""
    wheres: list[str] = []
    args: list[Any] = []
    if service is not None:
        wheres.append("service = ?")
        args.append(service)
    if states is not None:
        for state in states:
            require_choice(state, REQUEST_STATES, "state")
        wheres.append(f"state IN ({', '.join('?' for _ in states)})")
        args.extend(states)
    where = " AND ".join(wheres) if wheres else None
    rows = db.table(TABLE).rows_where(where, args, order_by="created_at, rowid")
    return [_record(row) for row in rows]


def set_state(
    db: Database, request_id: str, state: RequestState, *, now: datetime | None = None
) -> LinkRequest:
    """Record a state seen or caused outside a decision (pending, removed, failed, gone...)."""
    require_choice(state, REQUEST_STATES, "state")
    return _update(db, request_id, {"state": state}, now)


def attach_endpoint(
    db: Database,
    request_id: str,
    *,
    pe_id: str | None = None,
    pe_name: str | None = None,
    vnet: str | None = None,
    subnet: str | None = None,
    subnet_id: str | None = None,
    connection_id: str | None = None,
    link_identifier: str | None = None,
    now: datetime | None = None,
) -> LinkRequest:
    """Record what Azure assigned (endpoint and its subnet, connection, link id); ``None`` leaves a
    field as is."""
    given = {
        "pe_id": pe_id,
        "pe_name": pe_name,
        "vnet": vnet,
        "subnet": subnet,
        "subnet_id": subnet_id,
        "connection_id": connection_id,
        "link_identifier": link_identifier,
    }
    return _update(db, request_id, {k: v for k, v in given.items() if v is not None}, now)


def set_expiry(
    db: Database, request_id: str, expires_at: datetime | None, *, now: datetime | None = None
) -> LinkRequest:
    """When access granted for a while (``approve --for``) ends; None means it does not."""
    value = None if expires_at is None else clock.to_text(expires_at)
    return _update(db, request_id, {"expires_at": value}, now)


def set_card(
    db: Database, request_id: str, channel: str, ts: str, *, now: datetime | None = None
) -> LinkRequest:
    """Remember where the approval card was posted, so it can be updated in place."""
    return _update(db, request_id, {"card_channel": channel, "card_ts": ts}, now)


def decide(
    db: Database,
    request_id: str,
    state: Decision,
    *,
    by: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[LinkRequest, bool]:
    """Approve or reject a pending request: a single conditional UPDATE, so the first decision wins.

    Returns the request as it now is and whether this call changed it; a loser (or a click on an
    already decided request) gets ``changed=False`` and the winning decision.
    """
    require_choice(state, DECISIONS, "decision")
    at = clock.stamp(now)
    with write(db):
        cursor = db.execute(
            f"UPDATE {TABLE} SET state = ?, decided_by = ?, decided_at = ?, decision_reason = ?, "
            "updated_at = ? WHERE id = ? AND state = 'pending'",
            [state, by, at, reason, at, request_id],
        )
        return _require(db, request_id), cursor.rowcount == 1


def decided_outside(
    db: Database, request_id: str, state: Decision, reason: str, *, now: datetime | None = None
) -> LinkRequest:
    """Record a decision Azure already held, made outside natlink: nobody in natlink decided it, so
    ``decided_by`` is cleared (a click that lost to it must not be credited with it)."""
    require_choice(state, DECISIONS, "decision")
    at = clock.stamp(now)
    return _update(
        db, request_id, {"state": state, "decided_by": None, "decided_at": at, "decision_reason": reason}, now
    )


def _update(db: Database, request_id: str, values: dict[str, Any], now: datetime | None) -> LinkRequest:
    """Apply ``values`` plus a fresh ``updated_at`` to an existing request."""
    with write(db):
        _require(db, request_id)
        db.table(TABLE).update(request_id, {**values, "updated_at": clock.stamp(now)})
        return _require(db, request_id)


def _insert_with_fresh_id(db: Database, row: dict[str, Any], given: str | Callable[[], str]) -> str:
    """Insert under the given id, or under fresh ones from ``given`` until one is free."""
    attempts = 1 if isinstance(given, str) else _ID_ATTEMPTS
    for _ in range(attempts):
        request_id = given if isinstance(given, str) else given()
        try:
            with write(db):
                db.table(TABLE).insert({"id": request_id, **row})
        except sqlite3.IntegrityError:
            if get_request(db, request_id) is None:
                raise  # not a collision: a real constraint failure
            continue
        return request_id
    if isinstance(given, str):
        raise RequestIdTaken(f"request id {given!r} is taken")
    raise RuntimeError("could not find a free request id")  # pragma: no cover


def _require(db: Database, request_id: str) -> LinkRequest:
    """The request, or ``NotFoundError`` for writes that need one."""
    found = get_request(db, request_id)
    if found is None:
        raise NotFoundError(f"no request {request_id!r}")
    return found


def _one(db: Database, where: str, args: list[Any]) -> LinkRequest | None:
    """The newest matching row as a record."""
    for row in db.table(TABLE).rows_where(where, args, order_by="created_at DESC, rowid DESC", limit=1):
        return _record(row)
    return None


def _record(row: dict[str, Any]) -> LinkRequest:
    """Row to record: decode instants."""
    return LinkRequest(
        id=row["id"],
        service=row["service"],
        requester=row["requester"],
        consumer_subscription=row["consumer_subscription"],
        vnet=row["vnet"],
        subnet=row["subnet"],
        pe_name=row["pe_name"],
        pe_id=row["pe_id"],
        reason=row["reason"],
        state=row["state"],
        connection_id=row["connection_id"],
        link_identifier=row["link_identifier"],
        decided_by=row["decided_by"],
        decided_at=clock.maybe_from_text(row["decided_at"]),
        decision_reason=row["decision_reason"],
        card_channel=row["card_channel"],
        card_ts=row["card_ts"],
        expires_at=clock.maybe_from_text(row["expires_at"]),
        created_at=clock.from_text(row["created_at"]),
        updated_at=clock.from_text(row["updated_at"]),
        operation_id=row.get("operation_id"),
        subnet_id=row.get("subnet_id"),
    )
