"""adopt's first check, on natlink's records, before anything is queued: what it knows is refused
with the reason, the words that cannot go together are refused with the usage, and who may not
adopt at all is told and audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.context import Config, Context
from commands.handle import Delivery, handle
from commands.replies import Queued, Refusal
from storage import audit, grants, operations, services
from storage.database import open_database

TEAM_B = "22222222-2222-2222-2222-222222222222"
ALICE, BOB, ADMIN = "U0ALICE", "U0BOB", "U0ADMIN"
ORDERS = f"/subscriptions/{TEAM_B}/resourceGroups/rg-orders/providers/Microsoft.Network/privateLinkServices/orders-api"


@pytest.fixture
def db(tmp_path: Path):
    database = open_database(tmp_path / "natlink.db")
    services.upsert_service(
        database,
        name="orders",
        pls_id=ORDERS,
        subscription=TEAM_B,
        resource_group="rg-orders",
        location="japaneast",
        alias="orders-api.0b1c2d3e-0000-4000-8000-000000000000.japaneast.azure.privatelinkservice",
        created_by=ALICE,
        origin="adopted",
    )
    grants.add_grant(database, ALICE, "create", f"{TEAM_B}/rg-orders", granted_by=ADMIN)
    return database


def run(db, actor: str, text: str):
    ctx = Context(db, Config(frozenset({ADMIN}), False, (TEAM_B,)), actor, channel="C0TEAMB")
    return handle(ctx, text, Delivery(key=None, response_url="http://127.0.0.1:1/hooks/x"))


@pytest.mark.parametrize("target", ["orders", ORDERS, ORDERS.upper()])
def test_a_service_natlink_knows_is_not_adopted_twice(db, target: str) -> None:
    refused = run(db, ALICE, f"adopt {target}")
    assert isinstance(refused, Refusal) and "natlink already knows" in refused.reason
    assert "the service *orders* (adopted)" in refused.reason
    assert operations.list_operations(db, limit=10) == []


def test_a_name_taken_by_a_known_service_is_refused(db) -> None:
    refused = run(db, ALICE, "adopt pls-other --name orders")
    assert isinstance(refused, Refusal) and "the service *orders* (adopted)" in refused.reason


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("adopt", "say which private link service to adopt"),
        ("adopt --scan --name x-y-z", "`--scan` only lists"),
        ("adopt --scan --owners <@U0BOB|bob>", "`--scan` only lists"),
    ],
)
def test_words_that_do_not_go_together(db, text: str, why: str) -> None:
    refused = run(db, ADMIN, text)
    assert isinstance(refused, Refusal) and why in refused.reason and refused.usage


def test_without_a_create_grant_nothing_is_queued_and_the_refusal_is_audited(db) -> None:
    refused = run(db, BOB, "adopt pls-new")
    assert isinstance(refused, Refusal) and "you hold no *create* grant" in refused.reason
    (entry,) = audit.list_entries(db, limit=10)
    assert (entry.actor, entry.action, entry.outcome, entry.target) == (BOB, "adopt", "denied", "pls-new")
    assert operations.list_operations(db, limit=10) == []


def test_a_grant_holder_and_an_admin_are_queued_for_azure_to_say(db) -> None:
    assert isinstance(run(db, ALICE, "adopt pls-new"), Queued)
    assert isinstance(run(db, ADMIN, "adopt --scan"), Queued)
    assert audit.list_entries(db, limit=10) == [], "allowed before Azure is read: judged again in the worker"
