"""Owners: membership per service, idempotent add, case-insensitive service names."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from storage import owners
from storage.errors import NotFoundError
from storage.records import Service
from tests.storage.conftest import T0, add_web_service, at


def test_add_list_and_is_owner(db: Database, web: Service) -> None:
    first = owners.add_owner(db, "web", "UALICE", added_by="UPROVIDER", now=T0)
    owners.add_owner(db, "WEB", "UBOB", added_by="UALICE", now=at(1))
    assert first.service == "Web"
    assert [o.user_id for o in owners.list_owners(db, "Web")] == ["UALICE", "UBOB"]
    assert owners.is_owner(db, "wEB", "UBOB")
    assert not owners.is_owner(db, "Web", "UCAROL")


def test_adding_twice_keeps_the_first_record(db: Database, web: Service) -> None:
    first = owners.add_owner(db, "Web", "UALICE", added_by="UPROVIDER", now=T0)
    again = owners.add_owner(db, "web", "UALICE", added_by="USOMEONE", now=at(9))
    assert again == first
    assert len(owners.list_owners(db, "Web")) == 1


def test_remove(db: Database, web: Service) -> None:
    owners.add_owner(db, "Web", "UALICE", added_by="UPROVIDER")
    assert owners.remove_owner(db, "WEB", "UALICE") is True
    assert owners.remove_owner(db, "Web", "UALICE") is False
    assert owners.list_owners(db, "Web") == []


def test_owner_of_unknown_service_is_refused(db: Database) -> None:
    with pytest.raises(NotFoundError):
        owners.add_owner(db, "ghost", "UALICE", added_by="UPROVIDER")


def test_services_owned_by(db: Database, web: Service) -> None:
    add_web_service(db, name="Api")
    owners.add_owner(db, "Web", "UALICE", added_by="UPROVIDER")
    owners.add_owner(db, "Api", "UALICE", added_by="UPROVIDER")
    assert owners.services_owned_by(db, "UALICE") == ["Api", "Web"]
    assert owners.services_owned_by(db, "UBOB") == []
