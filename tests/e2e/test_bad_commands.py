"""Malformed commands through the real endpoint: a private, readable answer, and nothing queued."""

from __future__ import annotations

import json

from storage import operations
from storage.database import open_database
from tests.e2e.harness import database, ok

CREATE_USAGE = "/natlink create &lt;name&gt;"
REQUEST_USAGE = "/natlink request &lt;alias|service&gt;"

BAD = [
    ("frobnicate rdp-vmb", "unknown verb `frobnicate`", "/natlink &lt;verb&gt;"),
    ("create rdp-x --vm VM-Win2019-2 --port 3389 --colour red", "unknown flag `--colour`", CREATE_USAGE),
    ("create rdp-x --vm VM-Win2019-2 --port 99999", "port 99999 is out of range", CREATE_USAGE),
    (
        "request foo.bad.alias.azure.privatelinkservice --vm VM-Win2019",
        "is not an alias like",
        REQUEST_USAGE,
    ),
    ("request", "missing &lt;target&gt;", REQUEST_USAGE),
    (
        "request rdp-vmb --vm VM-Win2019 --reason '" + "x" * 130 + "'",
        "reason is 130 characters",
        REQUEST_USAGE,
    ),
]


def test_bad_commands_are_answered_privately(bot, driver, slack) -> None:
    """One bot answers the whole table (a bot per row would cost seconds each)."""
    for text, problem, usage in BAD:
        reply = driver.slash_command("alice", "#team-b", text)
        answer = ok(reply)
        shown = json.dumps(answer)
        assert answer["response_type"] == "ephemeral", (text, answer)
        assert problem in shown, (text, shown)
        assert "Usage:" in shown and usage in shown, (text, shown)
        assert "Traceback" not in reply.text, text
    assert operations.list_operations(open_database(database(bot))) == []
    assert slack.messages() == [], "each answer is the ack itself; nothing is posted"
    # auth.test only: bolt's own, and natlink doctor's at serve start
    assert {c["method"] for c in slack.calls()} <= {"auth.test"}, slack.calls()
    assert "Traceback" not in bot.log.read_text()
