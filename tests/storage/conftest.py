"""Fixtures for storage tests: a fresh migrated database file per test and a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import services
from storage.database import open_database
from storage.records import Service

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SUB = "11111111-1111-1111-1111-111111111111"
PLS_ID = f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.Network/privateLinkServices/pls-web"
ALIAS = "pls-web.5f1c2a4e-0b7d-4c55-9d39-1d6c0e6f2b11.eastus.azure.privatelinkservice"


def at(minutes: float) -> datetime:
    """An instant ``minutes`` after T0, so tests can order events explicitly."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "natlink.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
    yield database
    database.close()


def add_web_service(db: Database, name: str = "Web", **overrides: object) -> Service:
    """A typical service row; override any field."""
    fields: dict[str, object] = {
        "name": name,
        "pls_id": PLS_ID if name == "Web" else PLS_ID.replace("pls-web", f"pls-{name.lower()}"),
        "subscription": SUB,
        "resource_group": "rg-b",
        "location": "eastus",
        "alias": ALIAS if name == "Web" else ALIAS.replace("pls-web", f"pls-{name.lower()}"),
        "created_by": "UPROVIDER",
        "owner_channel": "CPROV",
        "lb_managed": True,
        "details": {"ports": [3389], "vm": "VM-Win2019-2", "nat_ip_count": 1},
        "now": T0,
    }
    fields.update(overrides)
    return services.upsert_service(db, **fields)  # type: ignore[arg-type]


@pytest.fixture
def web(db: Database) -> Service:
    return add_web_service(db)
