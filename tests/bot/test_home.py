"""App Home at scale: a person with hundreds of services and requests gets the most urgent and newest
few of each, within Slack's limits, and the command that lists the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import home as home_view
from bot import views
from commands.context import Config, Context
from commands.escapes import free_text
from commands.home import SHOWN, gather
from sandbox.slack.blocks import MESSAGE_TEXT_TOTAL, view_errors
from storage import owners, requests, services
from storage.database import open_database

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_many_items_show_the_first_few_within_slacks_limits(tmp_path: Path) -> None:
    db = open_database(tmp_path / "natlink.db")
    for i in range(150):
        name = f"svc-{i:03d}-" + "x" * 60
        services.upsert_service(
            db,
            name=name,
            pls_id=f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateLinkServices/{name}",
            subscription="s",
            resource_group="rg",
            location="japaneast",
            alias=f"{name}.guid.japaneast.azure.privatelinkservice",
            created_by="U0ALICE",
            details={"ports": [3389]},
            now=START + timedelta(minutes=i),
        )
        owners.add_owner(db, name, "U0ALICE", added_by="U0ALICE")
        requests.create_request(
            db,
            request_id=f"req-{i:03d}",
            service=name,
            requester="U0BOB",
            consumer_subscription="c",
            pe_name=f"pe-{i}",
            reason="*why* " + "y" * 400,
            state="pending",
            now=START + timedelta(minutes=i),
        )
    config = Config(frozenset(), False, ("s",))
    alice = gather(Context(db, config, "U0ALICE"), None)
    mine, waiting, endpoints, alerts = alice.parts
    assert (mine.total, waiting.total, len(mine.lines)) == (150, 150, SHOWN)
    assert views.unlinked(mine.lines[0]).startswith("*svc-149-"), "the newest service first"
    assert mine.lines[0].startswith("*<https://portal.azure.com/#/resource/subscriptions/s/"), "it links"
    assert waiting.lines[0].startswith("`req-000`"), "the longest wait first"
    assert endpoints.total == 0 and alerts.total == 0

    shown = home_view.view(alice)
    assert not view_errors(shown), view_errors(shown)
    assert len(shown["blocks"]) <= views.MAX_BLOCKS
    assert views.text_size(shown["blocks"]) < MESSAGE_TEXT_TOTAL
    # the links would leave lines out: they go, their labels stay, and the page is as full as without
    assert "portal.azure.com" not in str(shown) and "*svc-149-" in str(shown)
    notes = [b["elements"][0]["text"] for b in shown["blocks"] if b["type"] == "context"]
    assert any("of 150 shown; `/natlink list --mine` lists them all" in n for n in notes), notes
    assert any("of 150 shown; `/natlink pending --mine` lists them all" in n for n in notes), notes
    assert free_text("*why*") in str(shown) and "*why*" not in str(shown), "user text cannot format"

    admin = gather(Context(db, Config(frozenset({"U0ADMIN"}), False, ("s",)), "U0ADMIN"), None)
    assert admin.parts[1].total == 150 and admin.parts[1].more == "pending", "an admin may decide them all"

    bob = gather(Context(db, config, "U0BOB"), None)
    assert bob.parts[2].total == 150 and views.unlinked(bob.parts[2].lines[0]).startswith("*svc-149-")
    assert bob.parts[0].lines == () and bob.parts[1].lines == ()
