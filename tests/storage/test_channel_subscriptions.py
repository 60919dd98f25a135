"""Channel subscriptions: per service or "*", add/update/remove and lookups."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from storage import channel_subscriptions as subs
from storage.errors import NotFoundError
from storage.records import ALL_SERVICES, Service
from tests.storage.conftest import T0, add_web_service, at


def test_add_and_list_for_service_includes_star(db: Database, web: Service) -> None:
    add_web_service(db, name="Api")
    added = subs.add_subscription(db, "web", "CNET", created_by="U1", now=T0)
    subs.add_subscription(db, ALL_SERVICES, "COPS", created_by="U1", events="problems", digest="hourly")
    subs.add_subscription(db, "Api", "CAPI", created_by="U1")
    assert (added.service, added.events, added.digest, added.created_at) == ("Web", "all", "daily", T0)
    assert [(s.channel, s.service) for s in subs.list_for_service(db, "WEB")] == [
        ("CNET", "Web"),
        ("COPS", "*"),
    ]
    assert [s.channel for s in subs.list_for_service(db, "Api")] == ["CAPI", "COPS"]
    assert len(subs.list_subscriptions(db)) == 3
    assert [s.service for s in subs.list_for_channel(db, "COPS")] == ["*"]


def test_adding_again_updates_settings(db: Database, web: Service) -> None:
    subs.add_subscription(db, "Web", "CNET", created_by="U1", now=T0)
    again = subs.add_subscription(
        db, "web", "CNET", created_by="U2", events="problems", digest="off", now=at(1)
    )
    assert (again.events, again.digest, again.created_by, again.created_at) == ("problems", "off", "U1", T0)
    assert again.updated_at == at(1)
    assert len(subs.list_subscriptions(db)) == 1


def test_update_changes_only_what_is_given(db: Database, web: Service) -> None:
    subs.add_subscription(db, "Web", "CNET", created_by="U1", events="problems", digest="hourly")
    updated = subs.update_subscription(db, "web", "CNET", digest="off")
    assert (updated.events, updated.digest) == ("problems", "off")
    with pytest.raises(NotFoundError):
        subs.update_subscription(db, "web", "CELSEWHERE", digest="off")
    with pytest.raises(ValueError, match="digest must be one of"):
        subs.update_subscription(db, "web", "CNET", digest="weekly")  # type: ignore[arg-type]


def test_remove(db: Database, web: Service) -> None:
    subs.add_subscription(db, "Web", "CNET", created_by="U1")
    assert subs.remove_subscription(db, "WEB", "CNET") is True
    assert subs.remove_subscription(db, "Web", "CNET") is False
    assert subs.list_for_service(db, "Web") == []


def test_unknown_service_and_bad_events_are_refused(db: Database, web: Service) -> None:
    with pytest.raises(NotFoundError):
        subs.add_subscription(db, "ghost", "CNET", created_by="U1")
    with pytest.raises(ValueError, match="events must be one of"):
        subs.add_subscription(db, "Web", "CNET", created_by="U1", events="some")  # type: ignore[arg-type]
