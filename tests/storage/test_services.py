"""Services: upsert, lookups by name, alias and PLS id in any case, listing and states."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from sqlite_utils import Database

from storage import services
from storage.errors import NotFoundError
from storage.records import Service
from tests.storage.conftest import ALIAS, PLS_ID, T0, add_web_service, at


def test_upsert_creates_a_frozen_record(web: Service) -> None:
    assert web.name == "Web"
    assert web.state == "active"
    assert web.lb_managed is True
    assert web.details == {"nat_ip_count": 1, "ports": [3389], "vm": "VM-Win2019-2"}
    assert web.created_at == web.updated_at == T0
    with pytest.raises(dataclasses.FrozenInstanceError):
        web.name = "other"  # type: ignore[misc]


def test_upsert_refreshes_but_keeps_creator_time_and_spelling(db: Database, web: Service) -> None:
    again = add_web_service(db, name="WEB", created_by="USOMEONE", location="westus", now=at(5))
    assert again.name == "Web"
    assert again.created_by == "UPROVIDER"
    assert again.created_at == T0
    assert again.location == "westus"
    assert again.updated_at == at(5)
    assert len(services.list_services(db)) == 1


def test_name_alias_and_pls_id_are_case_insensitive(db: Database, web: Service) -> None:
    assert services.get_service(db, "wEb") == web
    assert services.get_by_alias(db, ALIAS.upper()) == web
    assert services.get_by_pls_id(db, PLS_ID.lower()) == web
    assert services.get_service(db, "nope") is None
    assert services.get_by_alias(db, "nope") is None


def test_find_service_accepts_name_alias_or_pls_id(db: Database, web: Service) -> None:
    for reference in ("web", ALIAS, PLS_ID.upper()):
        assert services.find_service(db, reference) == web
    assert services.find_service(db, "missing") is None


def test_list_is_by_name_and_filters_by_state(db: Database) -> None:
    add_web_service(db, name="Zeta")
    add_web_service(db, name="Alpha")
    services.mark_state(db, "zeta", "gone", now=at(1))
    assert [s.name for s in services.list_services(db)] == ["Alpha", "Zeta"]
    assert [s.name for s in services.list_services(db, state="gone")] == ["Zeta"]
    assert [s.name for s in services.list_services(db, state="active")] == ["Alpha"]


def test_mark_state(db: Database, web: Service) -> None:
    deleted = services.mark_state(db, "web", "deleted", now=at(2))
    assert (deleted.state, deleted.updated_at) == ("deleted", at(2))
    with pytest.raises(ValueError, match="state must be one of"):
        services.mark_state(db, "web", "exploded")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        services.mark_state(db, "missing", "gone")


def test_alias_and_pls_id_are_unique_across_services(db: Database, web: Service) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        add_web_service(db, name="Other", alias=ALIAS.upper())
    assert services.get_service(db, "Other") is None
