"""The ``owners`` table: who may approve or reject requests for a service.

Only membership is stored; deciding what an owner may do is the policy's job in ``commands``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.errors import NotFoundError
from storage.records import Owner
from storage.services import get_service
from storage.transactions import write

TABLE = "owners"


def add_owner(
    db: Database, service: str, user_id: str, *, added_by: str, now: datetime | None = None
) -> Owner:
    """Make ``user_id`` an owner of ``service``; adding an existing owner returns the original
    record unchanged, so repeating the command is harmless."""
    with write(db):
        name = _service_name(db, service)
        db.table(TABLE).insert(
            {"service": name, "user_id": user_id, "added_by": added_by, "added_at": clock.stamp(now)},
            ignore=True,
        )
        owner = _get(db, name, user_id)
        assert owner is not None  # just inserted or already there, under the write lock
        return owner


def remove_owner(db: Database, service: str, user_id: str) -> bool:
    """Remove an owner; ``True`` if they were one."""
    with write(db):
        cursor = db.execute(f"DELETE FROM {TABLE} WHERE service = ? AND user_id = ?", [service, user_id])
        return cursor.rowcount > 0


def list_owners(db: Database, service: str) -> list[Owner]:
    """The owners of ``service`` in the order they were added."""
    rows = db.table(TABLE).rows_where("service = ?", [service], order_by="added_at, rowid")
    return [_record(row) for row in rows]


def is_owner(db: Database, service: str, user_id: str) -> bool:
    """Whether ``user_id`` owns ``service`` (service name in any case)."""
    return _get(db, service, user_id) is not None


def services_owned_by(db: Database, user_id: str) -> list[str]:
    """Names of the services ``user_id`` owns, for "my services" views."""
    rows = db.table(TABLE).rows_where("user_id = ?", [user_id], select="service", order_by="service")
    return [row["service"] for row in rows]


def _service_name(db: Database, service: str) -> str:
    """The canonical spelling of an existing service's name."""
    found = get_service(db, service)
    if found is None:
        raise NotFoundError(f"no service named {service!r}")
    return found.name


def _get(db: Database, service: str, user_id: str) -> Owner | None:
    """One ownership, or ``None``."""
    for row in db.table(TABLE).rows_where("service = ? AND user_id = ?", [service, user_id], limit=1):
        return _record(row)
    return None


def _record(row: dict[str, Any]) -> Owner:
    """Row to record."""
    return Owner(
        service=row["service"],
        user_id=row["user_id"],
        added_by=row["added_by"],
        added_at=clock.from_text(row["added_at"]),
    )
