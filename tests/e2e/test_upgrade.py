"""Operations queued by the previous release still run after an upgrade.

Release 1 queued a command's raw text (``{"text": ...}``) and a decision as kind ``decide`` with
its own arguments. Both are written here exactly as release 1 wrote them, with no bot running,
and the bot of this release must carry them out: the worker reads them once through the grammar.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.slack.driver import Driver
from storage import grants, operations, requests
from storage.database import open_database
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import ADMIN, RunningBot, find, ok, request_id_of, start_bot, wait_for


def _connection_status(net_b) -> str | None:
    service = net_b.private_link_services.get("rg-team-b", "rdp-vmb")
    (connection,) = service.private_endpoint_connections
    return connection.private_link_service_connection_state.status


def test_release_1_operations_still_run(sandbox, slack, net_b, tmp_path: Path) -> None:
    db = open_database(tmp_path / "natlink.db")
    alice, bob, team_b = slack.user("alice"), slack.user("bob"), slack.channel("team-b")
    grants.add_grant(db, alice, "create", TEAM_B, granted_by=ADMIN)
    grants.add_grant(db, bob, "request", TEAM_A, granted_by=ADMIN)
    release_1 = {"text": "create rdp-vmb --vm VM-Win2019-2 --port 3389"}
    operations.enqueue(db, "create", actor=alice, args=release_1, reply_channel=team_b)

    bot: RunningBot | None = start_bot(sandbox, slack, tmp_path)
    try:
        wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "the release-1 create to run")
        driver = Driver(f"{bot.url}/slack/events", slack.config)
        ok(driver.slash_command("bob", "#team-a", "request rdp-vmb --vm VM-Win2019"))
        card = wait_for(lambda: find(slack, "team-b", "natlink_approve"), 60, "the approval card")
        request_id = request_id_of(card)
        assert bot.stop() == 0, bot.log.read_text()[-3000:]
        bot = None

        # alice clicked Approve on release 1: the decision recorded, its Azure write queued.
        requests.decide(db, request_id, "approved", by=alice, reason=None)
        decide = {"request": request_id, "verb": "approve", "reason": "", "for_seconds": None}
        operations.enqueue(
            db,
            "decide",
            actor=alice,
            args=decide,
            idempotency_key=f"decide:{request_id}",
            reply_channel=team_b,
        )
        assert _connection_status(net_b) == "Pending"

        bot = start_bot(sandbox, slack, tmp_path)
        wait_for(lambda: _connection_status(net_b) == "Approved", 60, "the release-1 decision to reach Azure")
        wait_for(lambda: not operations.unfinished(db), 30, "nothing left in flight")
        assert sorted((op.kind, op.state) for op in operations.list_operations(db)) == [
            ("create", "succeeded"),
            ("decide", "succeeded"),
            ("request", "succeeded"),
        ]
        assert requests.get_request(db, request_id).state == "approved"
    finally:
        if bot is not None:
            assert bot.stop() == 0, bot.log.read_text()[-3000:]
