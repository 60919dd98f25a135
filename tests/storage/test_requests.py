"""Link requests: ids, lookups by endpoint and connection id, pending order and race-free decide."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from cloud.tokens import new_request_id
from storage import requests
from storage.database import open_database
from storage.errors import NotFoundError
from storage.records import LinkRequest, Service
from tests.storage.conftest import T0, at

PE_ID = "/subscriptions/aaaa/resourceGroups/rg-a/providers/Microsoft.Network/privateEndpoints/pe-web"
CONN_ID = "/subscriptions/bbbb/resourceGroups/rg-b/providers/Microsoft.Network/privateLinkServices/pls-web/privateEndpointConnections/pe-web.1234"


def new(db: Database, minutes: float = 0, **overrides: object) -> LinkRequest:
    fields: dict[str, object] = {
        "request_id": new_request_id,
        "service": "web",
        "requester": "UCONSUMER",
        "consumer_subscription": "aaaa",
        "vnet": "vnet-a",
        "subnet": "default",
        "reason": "RDP from VM-Win2019",
        "now": at(minutes),
    }
    fields.update(overrides)
    return requests.create_request(db, **fields)  # type: ignore[arg-type]


def test_create_assigns_a_short_url_safe_id(db: Database, web: Service) -> None:
    request = new(db)
    assert re.fullmatch(r"r-[a-z2-9]{6}", request.id)
    assert request.service == "Web"
    assert request.state == "requested"
    assert request.created_at == request.updated_at == T0
    assert requests.get_request(db, request.id) == request
    assert requests.get_request(db, "r-nothere") is None


def test_ids_are_distinct(db: Database, web: Service) -> None:
    ids = {new(db).id for _ in range(50)}
    assert len(ids) == 50


def test_a_given_id_is_kept_and_a_taken_one_refused(db: Database, web: Service) -> None:
    assert new(db, request_id="r-given1").id == "r-given1"
    with pytest.raises(requests.RequestIdTaken):
        new(db, request_id="r-given1")
    assert len(requests.list_requests(db)) == 1


def test_a_collision_draws_a_fresh_id(db: Database, web: Service) -> None:
    new(db, request_id="r-taken1")
    drawn = iter(["r-taken1", "r-fresh1"])
    assert new(db, request_id=lambda: next(drawn)).id == "r-fresh1"


def test_request_for_unknown_service_is_refused(db: Database) -> None:
    with pytest.raises(NotFoundError):
        new(db, service="ghost")


def test_attach_endpoint_and_case_insensitive_lookups(db: Database, web: Service) -> None:
    request = new(db)
    updated = requests.attach_endpoint(
        db, request.id, pe_id=PE_ID, pe_name="pe-web", connection_id=CONN_ID, link_identifier="42", now=at(1)
    )
    assert (updated.pe_id, updated.pe_name, updated.link_identifier) == (PE_ID, "pe-web", "42")
    assert updated.vnet == "vnet-a"  # None leaves a field alone
    assert updated.updated_at == at(1)
    assert requests.find_by_pe_id(db, PE_ID.upper()) == updated
    assert requests.find_by_connection_id(db, CONN_ID.lower()) == updated
    assert requests.find_by_pe_id(db, "nope") is None


def test_list_pending_is_oldest_first(db: Database, web: Service) -> None:
    later = new(db, minutes=5)
    earlier = new(db, minutes=1)
    untouched = new(db, minutes=0)
    for request in (later, earlier):
        requests.set_state(db, request.id, "pending")
    assert [r.id for r in requests.list_pending(db)] == [earlier.id, later.id]
    assert [r.id for r in requests.list_pending(db, service="WEB")] == [earlier.id, later.id]
    assert [r.id for r in requests.list_requests(db, states=("requested",))] == [untouched.id]
    assert len(requests.list_requests(db, service="web")) == 3


def test_set_card_and_expiry(db: Database, web: Service) -> None:
    request = new(db, expires_at=at(60))
    assert request.expires_at == at(60)
    carded = requests.set_card(db, request.id, "CPROV", "1700000000.000100")
    assert (carded.card_channel, carded.card_ts) == ("CPROV", "1700000000.000100")


def test_set_state_validates(db: Database, web: Service) -> None:
    request = new(db)
    with pytest.raises(ValueError, match="state must be one of"):
        requests.set_state(db, request.id, "maybe")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        requests.set_state(db, "r-nothere", "gone")


def test_decide_changes_a_pending_request_once(db: Database, web: Service) -> None:
    request = new(db)
    requests.set_state(db, request.id, "pending")
    approved, changed = requests.decide(db, request.id, "approved", by="UOWNER", reason="ok", now=at(3))
    assert changed is True
    assert (approved.state, approved.decided_by, approved.decision_reason) == ("approved", "UOWNER", "ok")
    assert approved.decided_at == at(3)
    again, changed = requests.decide(db, request.id, "rejected", by="UOTHER", now=at(4))
    assert changed is False
    assert again == approved


def test_decide_refuses_requests_not_pending(db: Database, web: Service) -> None:
    request = new(db)  # still "requested": Azure has not shown the connection yet
    same, changed = requests.decide(db, request.id, "approved", by="UOWNER")
    assert (same.state, changed) == ("requested", False)


def test_decide_unknown_request_and_bad_decision(db: Database, web: Service) -> None:
    with pytest.raises(NotFoundError):
        requests.decide(db, "r-nothere", "approved", by="UOWNER")
    request = new(db)
    with pytest.raises(ValueError, match="decision must be one of"):
        requests.decide(db, request.id, "pending", by="UOWNER")  # type: ignore[arg-type]


def test_twenty_concurrent_clicks_produce_exactly_one_decision(
    db: Database, db_path: Path, web: Service
) -> None:
    request = new(db)
    requests.set_state(db, request.id, "pending")
    barrier = threading.Barrier(20)
    outcomes: list[tuple[str, LinkRequest, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def click(n: int) -> None:
        try:
            own = open_database(db_path)  # a connection per thread, as in the bot
            try:
                barrier.wait()
                decision = "approved" if n % 2 else "rejected"
                record, changed = requests.decide(own, request.id, decision, by=f"U{n}")
            finally:
                own.close()
            with lock:
                outcomes.append((f"U{n}", record, changed))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    winners = [(who, record) for who, record, changed in outcomes if changed]
    assert len(winners) == 1
    winner, decided = winners[0]
    assert decided.decided_by == winner
    final = requests.get_request(db, request.id)
    assert final == decided
    # Every loser saw the winning decision, not a half-made one.
    assert all(record.decided_by == winner for _, record, _ in outcomes)
