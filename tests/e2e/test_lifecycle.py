"""The bot's process life: killed mid-operation it finishes the work once on restart; SIGTERM ends it cleanly."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.slack.driver import Driver
from storage import operations
from storage.database import open_database
from tests.conftest import TEAM_B
from tests.e2e.harness import arm_count, database, find, ok, start_bot, text_of, wait_for


def _progress_shows_a_step(slack) -> bool:
    for record in slack.messages(slack.channel("team-b")):
        if "create rdp-vmb" in text_of(record) and ":white_check_mark:" in text_of(record):
            return True
    return False


def test_killed_bot_finishes_the_create_once_after_restart(sandbox, slack, net_b, tmp_path: Path) -> None:
    sandbox.control("PUT", "settings", {"lro_seconds": 2})
    lbs_before = {lb.name for lb in net_b.load_balancers.list_all()}
    first = start_bot(sandbox, slack, tmp_path)
    second = None
    try:
        driver = Driver(f"{first.url}/slack/events", slack.config)
        alice = slack.user("alice")
        ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
        ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
        wait_for(lambda: _progress_shows_a_step(slack), 30, "the progress message's first step")
        first.process.kill()
        assert first.process.wait(10) == -signal.SIGKILL
        db = open_database(database(first))
        assert [op.state for op in operations.list_operations(db)] == ["running"], "killed mid-operation"

        second = start_bot(sandbox, slack, tmp_path)
        assert database(second) == database(first)
        wait_for(
            lambda: find(slack, "team-b", "rdp-vmb is exposed"), 90, "the create to finish after restart"
        )
        wait_for(lambda: not operations.unfinished(db), 30, "nothing left in flight")

        (op,) = operations.list_operations(db)
        assert op.state == "succeeded" and op.attempts == 2, op
        assert [s.name for s in net_b.private_link_services.list_by_subscription()].count("rdp-vmb") == 1
        lbs = {lb.name for lb in net_b.load_balancers.list_all()} - lbs_before
        assert len(lbs) == 1, lbs
        exposed = [r for r in slack.messages(slack.channel("team-b")) if "rdp-vmb is exposed" in text_of(r)]
        assert len(exposed) == 1, "the final message is posted once"
        assert arm_count(sandbox, "PUT", "/privateLinkServices/rdp-vmb") >= 1
        assert second.stop() == 0, second.log.read_text()[-3000:]
    finally:
        for running in (first, second):
            if running is not None and running.process.poll() is None:
                running.process.kill()
                running.process.wait(10)


def test_no_progress_message_is_left_working_after_a_restart(sandbox, slack, tmp_path: Path) -> None:
    sandbox.control("PUT", "settings", {"lro_seconds": 2})
    first = start_bot(sandbox, slack, tmp_path)
    second = None
    try:
        driver = Driver(f"{first.url}/slack/events", slack.config)
        alice = slack.user("alice")
        ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
        ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
        wait_for(lambda: _progress_shows_a_step(slack), 30, "the progress message's first step")
        first.process.kill()
        first.process.wait(10)
        second = start_bot(sandbox, slack, tmp_path)
        wait_for(
            lambda: find(slack, "team-b", "rdp-vmb is exposed"), 90, "the create to finish after restart"
        )
        stuck = [r for r in slack.messages(slack.channel("team-b")) if "working" in text_of(r)]
        assert stuck == [], [text_of(r) for r in stuck]
    finally:
        for running in (first, second):
            if running is not None and running.process.poll() is None:
                running.process.kill()
                running.process.wait(10)


def test_sigterm_stops_the_bot_cleanly(bot) -> None:
    assert bot.health()["ok"]
    started = time.monotonic()
    assert bot.stop(signal.SIGTERM, timeout=30) == 0, bot.log.read_text()[-3000:]
    assert time.monotonic() - started < 30
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{bot.url}/healthz", timeout=2)
    assert "natlink stopped" in bot.log.read_text()
