"""The ``grants`` table: who may create services or request endpoints, and where.

A scope is ``"<subscription>"`` or ``"<subscription>/<resource-group>"``. Storage keeps the grants
and returns them; whether a grant covers an attempt is decided by the policy in ``commands``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage import clock
from storage.codec import require_choice
from storage.records import GRANT_ACTIONS, Grant, GrantAction
from storage.transactions import write

TABLE = "grants"


def make_scope(subscription: str, resource_group: str | None = None) -> str:
    """Build a scope string, so callers never hand-format one."""
    if not subscription or "/" in subscription:
        raise ValueError(f"invalid subscription for a scope: {subscription!r}")
    if resource_group is None:
        return subscription
    if not resource_group or "/" in resource_group:
        raise ValueError(f"invalid resource group for a scope: {resource_group!r}")
    return f"{subscription}/{resource_group}"


def add_grant(
    db: Database,
    user_id: str,
    action: GrantAction,
    scope: str,
    *,
    granted_by: str,
    now: datetime | None = None,
) -> Grant:
    """Grant ``action`` in ``scope``; granting again returns the original grant unchanged."""
    return grant_once(db, user_id, action, scope, granted_by=granted_by, now=now)[0]


def grant_once(
    db: Database,
    user_id: str,
    action: GrantAction,
    scope: str,
    *,
    granted_by: str,
    now: datetime | None = None,
) -> tuple[Grant, bool]:
    """Grant ``action`` in ``scope``, and say whether this call made the grant.

    ``False`` means it was already held (a replayed or repeated command): the caller then reports
    no change, and records none. One ``INSERT OR IGNORE`` under the write lock, so of two
    concurrent grants exactly one is told it made it.
    """
    require_choice(action, GRANT_ACTIONS, "action")
    _check_scope(scope)
    with write(db):
        cursor = db.execute(
            f"INSERT OR IGNORE INTO {TABLE} (user_id, action, scope, granted_by, granted_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [user_id, action, scope, granted_by, clock.stamp(now)],
        )
        grant = _get(db, user_id, action, scope)
        assert grant is not None  # just inserted or already there, under the write lock
        return grant, cursor.rowcount == 1


def remove_grant(db: Database, user_id: str, action: GrantAction, scope: str) -> bool:
    """Withdraw a grant; ``True`` if it existed."""
    with write(db):
        cursor = db.execute(
            f"DELETE FROM {TABLE} WHERE user_id = ? AND action = ? AND scope = ?",
            [user_id, action, scope],
        )
        return cursor.rowcount > 0


def grants_for(db: Database, user_id: str) -> list[Grant]:
    """Every grant held by ``user_id``: the input the policy decides on."""
    rows = db.table(TABLE).rows_where("user_id = ?", [user_id], order_by="action, scope")
    return [_record(row) for row in rows]


def list_grants(db: Database) -> list[Grant]:
    """All grants, for an admin listing."""
    return [_record(row) for row in db.table(TABLE).rows_where(order_by="user_id, action, scope")]


def _check_scope(scope: str) -> None:
    """Refuse scopes that are not ``sub`` or ``sub/rg``."""
    parts = scope.split("/")
    if len(parts) > 2 or not all(parts):
        raise ValueError(
            f"scope must be '<subscription>' or '<subscription>/<resource-group>', not {scope!r}"
        )


def _get(db: Database, user_id: str, action: str, scope: str) -> Grant | None:
    """One grant, or ``None``."""
    where = "user_id = ? AND action = ? AND scope = ?"
    for row in db.table(TABLE).rows_where(where, [user_id, action, scope], limit=1):
        return _record(row)
    return None


def _record(row: dict[str, Any]) -> Grant:
    """Row to record."""
    return Grant(
        user_id=row["user_id"],
        action=row["action"],
        scope=row["scope"],
        granted_by=row["granted_by"],
        granted_at=clock.from_text(row["granted_at"]),
    )
