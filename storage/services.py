"""The ``services`` table: private link services natlink exposes, found by name, alias or PLS id.

Names, aliases and Azure resource ids compare case-insensitively (``COLLATE NOCASE`` in the
schema), because Azure treats ids that way and people type names in any case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import dump_json, load_json_object, require_choice
from storage.errors import NotFoundError
from storage.records import SERVICE_STATES, Service, ServiceState
from storage.transactions import write

TABLE = "services"
ORIGINS = frozenset({"created", "adopted"})
"""``created``: natlink made the private link service (and may change or delete it); ``adopted``:
made elsewhere (Terraform, the portal, AKS) and only watched, its connections decided."""


def upsert_service(
    db: Database,
    *,
    name: str,
    pls_id: str,
    subscription: str,
    resource_group: str,
    location: str,
    alias: str,
    created_by: str,
    owner_channel: str | None = None,
    lb_managed: bool = False,
    details: Mapping[str, Any] | None = None,
    state: ServiceState = "active",
    origin: str = "created",
    now: datetime | None = None,
) -> Service:
    """Record a service, or refresh it if the name exists (keeping its creator, creation time and
    the name's original spelling), so a re-run create or a sweep can simply write what it saw."""
    require_choice(state, SERVICE_STATES, "state")
    require_choice(origin, ORIGINS, "origin")
    at = clock.stamp(now)
    values: dict[str, Any] = {
        "pls_id": pls_id,
        "subscription": subscription,
        "resource_group": resource_group,
        "location": location,
        "alias": alias,
        "owner_channel": owner_channel,
        "lb_managed": int(lb_managed),
        "details": dump_json(details or {}),
        "state": state,
        "origin": origin,
        "updated_at": at,
    }
    with write(db):
        existing = get_service(db, name)
        table = db.table(TABLE)
        if existing is None:
            table.insert({"name": name, "created_by": created_by, "created_at": at, **values})
        else:
            table.update(existing.name, values)
        return _require(db, name)


def get_service(db: Database, name: str) -> Service | None:
    """The service called ``name`` in any letter case, or ``None``."""
    return _one(db, "name = ?", [name])


def get_by_alias(db: Database, alias: str) -> Service | None:
    """The service with this private link alias (case-insensitive), or ``None``."""
    return _one(db, "alias = ?", [alias])


def get_by_pls_id(db: Database, pls_id: str) -> Service | None:
    """The service whose private link service has this ARM id (case-insensitive), or ``None``."""
    return _one(db, "pls_id = ?", [pls_id])


def find_service(db: Database, reference: str) -> Service | None:
    """Resolve what a user typed, which may be a name, an alias or a PLS id; names win."""
    return get_service(db, reference) or get_by_alias(db, reference) or get_by_pls_id(db, reference)


def is_adopted(db: Database, name: str) -> bool:
    """Whether the service called ``name`` was adopted rather than made by natlink."""
    return any(db.table(TABLE).rows_where("name = ? AND origin = 'adopted'", [name], limit=1))


def list_services(db: Database, *, state: ServiceState | None = None) -> list[Service]:
    """All services (or those in one state), ordered by name."""
    if state is None:
        rows = db.table(TABLE).rows_where(order_by="name")
    else:
        rows = db.table(TABLE).rows_where("state = ?", [state], order_by="name")
    return [_record(row) for row in rows]


def mark_state(db: Database, name: str, state: ServiceState, *, now: datetime | None = None) -> Service:
    """Move a service to ``state`` (e.g. ``gone`` when a sweep no longer finds it in Azure)."""
    require_choice(state, SERVICE_STATES, "state")
    with write(db):
        existing = _require(db, name)
        db.table(TABLE).update(existing.name, {"state": state, "updated_at": clock.stamp(now)})
        return _require(db, name)


def _require(db: Database, name: str) -> Service:
    """The service, or ``NotFoundError`` for writes that need one."""
    service = get_service(db, name)
    if service is None:
        raise NotFoundError(f"no service named {name!r}")
    return service


def _one(db: Database, where: str, args: list[Any]) -> Service | None:
    """The first matching row as a record."""
    for row in db.table(TABLE).rows_where(where, args, limit=1):
        return _record(row)
    return None


def _record(row: dict[str, Any]) -> Service:
    """Row to record: decode JSON, booleans and instants."""
    return Service(
        name=row["name"],
        pls_id=row["pls_id"],
        subscription=row["subscription"],
        resource_group=row["resource_group"],
        location=row["location"],
        alias=row["alias"],
        owner_channel=row["owner_channel"],
        created_by=row["created_by"],
        created_at=clock.from_text(row["created_at"]),
        updated_at=clock.from_text(row["updated_at"]),
        state=row["state"],
        lb_managed=bool(row["lb_managed"]),
        details=load_json_object(row["details"]),
    )
