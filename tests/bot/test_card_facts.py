"""An approval card's facts from the store: the "VNet / subnet" field links to the portal when the
request knows its endpoint's subnet (schema version 7), and reads as text when it does not (a
request stored before, or a connection made outside natlink)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from bot import slack_out, views
from sandbox.slack.blocks import message_errors
from storage import migrations, requests, services
from storage.database import open_database

HOME = "https://portal.azure.com/#@tenant-1"
SUB = "11111111-1111-1111-1111-111111111111"
SUBNET_ID = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a/subnets/default"
AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _field(card: views.Message, label: str) -> str:
    (shown,) = [
        f["text"] for b in card.blocks for f in b.get("fields") or [] if f["text"].startswith(f"*{label}*")
    ]
    return shown


def test_a_version_6_request_still_renders_and_a_new_one_links_its_subnet(tmp_path: Path) -> None:
    old = Database(sqlite3.connect(tmp_path / "natlink.db"))
    assert migrations.migrate(old, migrations.MIGRATIONS[:6]) == 6
    services.upsert_service(
        old,
        name="web",
        pls_id=f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.Network/privateLinkServices/web",
        subscription=SUB,
        resource_group="rg-b",
        location="japaneast",
        alias="web.guid.japaneast.azure.privatelinkservice",
        created_by="U0ALICE",
    )
    for request_id in ("r-old", "r-new"):
        requests.create_request(
            old, request_id=request_id, service="web", requester="U0BOB", consumer_subscription=SUB
        )
        requests.attach_endpoint(old, request_id, pe_id=f"/pe/{request_id}", vnet="vnet-a", subnet="default")
    old.close()

    db = open_database(tmp_path / "natlink.db")
    assert migrations.schema_version(db) == migrations.LATEST_VERSION
    stored = requests.get_request(db, "r-old")
    assert stored is not None and stored.subnet_id is None
    for card in (
        views.approval_card(slack_out.card_facts(stored, db, HOME)),
        views.decided_card(slack_out.card_facts(stored, db, HOME), "approved", "U0ALICE", AT, None),
        views.closed_card(slack_out.card_facts(stored, db, HOME), "Gone."),
    ):
        assert message_errors(card.blocks) == []
        assert _field(card, "VNet / subnet") == "*VNet / subnet*\nvnet-a / default", "the names, as before"

    linked = requests.attach_endpoint(db, "r-new", subnet_id=SUBNET_ID)
    card = views.approval_card(slack_out.card_facts(linked, db, HOME))
    assert message_errors(card.blocks) == []
    assert _field(card, "VNet / subnet") == f"*VNet / subnet*\n<{HOME}/resource{SUBNET_ID}|vnet-a / default>"
    requests.create_request(
        db, request_id="r-outside", service="web", requester="U0BOB", consumer_subscription=SUB
    )
    made_outside = requests.attach_endpoint(
        db, "r-outside", pe_id="/pe/r-outside"
    )  # as the sweep records one
    outside = views.approval_card(slack_out.card_facts(made_outside, db, HOME))
    assert _field(outside, "VNet / subnet") == "*VNet / subnet*\n? / ?", "no names, no link"
    db.close()
