"""Grants: storage keeps and returns them; it makes no policy decision."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from storage import grants
from tests.storage.conftest import SUB, T0, at


def test_add_and_grants_for(db: Database) -> None:
    rg_scope = grants.make_scope(SUB, "rg-a")
    grants.add_grant(db, "UALICE", "request", rg_scope, granted_by="UADMIN", now=T0)
    grants.add_grant(db, "UALICE", "create", SUB, granted_by="UADMIN", now=T0)
    grants.add_grant(db, "UBOB", "create", SUB, granted_by="UADMIN", now=T0)
    mine = grants.grants_for(db, "UALICE")
    assert [(g.action, g.scope) for g in mine] == [("create", SUB), ("request", rg_scope)]
    assert (mine[0].subscription, mine[0].resource_group) == (SUB, None)
    assert (mine[1].subscription, mine[1].resource_group) == (SUB, "rg-a")
    assert len(grants.list_grants(db)) == 3


def test_granting_twice_is_harmless_and_scope_is_case_insensitive(db: Database) -> None:
    first = grants.add_grant(db, "UALICE", "create", f"{SUB}/RG-A", granted_by="UADMIN", now=T0)
    again = grants.add_grant(db, "UALICE", "create", f"{SUB}/rg-a", granted_by="UOTHER", now=at(1))
    assert again == first
    assert len(grants.grants_for(db, "UALICE")) == 1


def test_remove(db: Database) -> None:
    grants.add_grant(db, "UALICE", "create", SUB, granted_by="UADMIN")
    assert grants.remove_grant(db, "UALICE", "create", SUB) is True
    assert grants.remove_grant(db, "UALICE", "create", SUB) is False
    assert grants.grants_for(db, "UALICE") == []


@pytest.mark.parametrize("scope", ["", "/", f"{SUB}/", f"/{SUB}", f"{SUB}/rg/extra"])
def test_malformed_scopes_are_refused(db: Database, scope: str) -> None:
    with pytest.raises(ValueError, match="scope"):
        grants.add_grant(db, "UALICE", "create", scope, granted_by="UADMIN")


def test_unknown_action_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        grants.add_grant(db, "UALICE", "delete", SUB, granted_by="UADMIN")  # type: ignore[arg-type]


def test_make_scope_validates_parts() -> None:
    assert grants.make_scope(SUB) == SUB
    with pytest.raises(ValueError):
        grants.make_scope("a/b")
    with pytest.raises(ValueError):
        grants.make_scope(SUB, "")
