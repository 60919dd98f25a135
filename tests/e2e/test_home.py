"""App Home end to end: opening the Home tab sends a signed app_home_opened through the real bolt
app; natlink publishes what that person has, read from its records and the sandbox ARM, afresh on
every open; a Home tab Slack refuses is told to the person."""

from __future__ import annotations

import json
import re
from typing import Any

from commands.context import Config
from commands.sweep import sweep
from storage.database import open_database
from tests.cloud.arm_log import clients_for
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import ADMIN, database, find, ok, pending_request, request_id_of, text_of, wait_for
from tests.e2e.test_seed_story import MAPPING

VM_B = f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b/providers/Microsoft.Compute/virtualMachines/VM-Win2019-2"


def _home(slack, user: str, after: str | None = None, needle: str = "") -> dict[str, Any]:
    """``user``'s Home tab once it is published (anew, when ``after`` is the hash it had) with ``needle``."""

    def published() -> dict[str, Any] | None:
        view = slack.control("GET", "home", query={"user": slack.user(user)})["view"]
        fresh = view and view["hash"] != after and needle in _read(view)
        return view if fresh else None

    return wait_for(published, 30, f"{user}'s Home tab with {needle!r}")


def _read(view: dict[str, Any]) -> str:
    """A Home tab's text as stored and as a person reads its links (by their labels)."""
    return text_of({"message": {"blocks": view["blocks"]}})


def test_home_shows_each_person_theirs_refreshed_on_open(bot, driver, slack, sandbox, monkeypatch) -> None:
    card = pending_request(driver, slack)
    request = request_id_of(card)

    # alice owns rdp-vmb: her Home lists it, and bob's request waiting for her.
    ok(driver.open_home("alice"))
    alice = _home(slack, "alice", needle=request)
    shown = _read(alice)
    portal = f"<https://portal.azure.com/#@{sandbox.config['tenant_id']}/resource/subscriptions/"
    assert re.search(re.escape(portal) + r"[^|>]*/privateLinkServices/[^|>]*\|rdp-vmb>\* — ports", shown), (
        shown
    )
    assert alice["type"] == "home" and "*rdp-vmb* — ports 3389" in shown and "1 waiting" in shown
    assert f"`{request}` *rdp-vmb* from <@{slack.user('bob')}>" in shown and "RDP please" in shown

    # bob's Home shows his endpoint, waiting; he owns nothing.
    ok(driver.open_home("bob"))
    bob = _home(slack, "bob", needle=request)
    shown = _read(bob)
    assert "*rdp-vmb* pending" in shown and "You own no service." in shown
    subnet = r"[^|>]*/virtualNetworks/RG-normal-vnet/subnets/default\|RG-normal-vnet / default>"
    assert re.search(re.escape(f"{portal}{TEAM_A}/") + subnet, shown), "his endpoint's subnet links too"

    # alice approves; bob opens Home again and sees the mapping, read from Azure now.
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    wait_for(lambda: find(slack, slack.user("bob"), MAPPING), 60, "the approval to reach bob")
    ok(driver.open_home("bob"))
    again = _home(slack, "bob", after=bob["hash"], needle=MAPPING)
    assert again["id"] == bob["id"], "one Home tab per person, republished in place"
    shown = _read(again)
    assert "*rdp-vmb* approved" in shown and f"{portal}{TEAM_A}/" in shown, "bob's endpoint links to it"
    assert "/virtualMachines/VM-Win2019|VM-Win2019>" in shown, "so does the mapping's VM"

    # The backend stops: the sweep's alert is in alice's Home (she owns rdp-vmb) and in bob's (his
    # endpoint reaches it); alice's no longer lists the request as waiting.
    for key, value in sandbox.environment().items():
        monkeypatch.setenv(key, value)
    config = Config(frozenset({ADMIN}), False, (TEAM_A, TEAM_B))
    sweep(open_database(database(bot)), config, clients_for(sandbox, [TEAM_A, TEAM_B]))  # the baseline
    sandbox.control("POST", "power", {"vm": VM_B, "state": "stopped"})
    ok(driver.slash_command("alice", "#team-b", "status rdp-vmb --refresh"))
    alert = wait_for(lambda: find(slack, "team-b", "is *stopped*"), 60, "the alert in #team-b")
    assert re.search(re.escape(portal) + r"[^|>]*/privateLinkServices/[^|>]*\|rdp-vmb>", text_of(alert))
    assert alert["message"]["text"].startswith("rdp-vmb: "), "the lock screen reads the name, not the link"
    ok(driver.open_home("alice"))
    latest = _home(slack, "alice", after=alice["hash"], needle="is *stopped*")
    assert "Nothing waits for your decision." in json.dumps(latest["blocks"], ensure_ascii=False)
    ok(driver.open_home("bob"))
    _home(slack, "bob", after=again["hash"], needle="is *stopped*")

    # Slack refuses one publish: bob's Home tab still shows older information, and he is told so in
    # plain words, with the commands that show the same now.
    slack.control("POST", "faults", {"method": "views.publish", "error": "invalid_blocks", "count": 1})
    ok(driver.open_home("bob"))
    told = wait_for(lambda: find(slack, slack.user("bob"), "could not refresh your Home tab"), 30, "bob told")
    assert "older information" in text_of(told) and "`/natlink list --mine`" in text_of(told)
    assert (
        "invalid_blocks" not in text_of(told)
        and "views.publish for U0BOB failed: invalid_blocks" in bot.log.read_text()
    )

    # Opening the Messages tab publishes nothing.
    publishes = len(slack.calls("views.publish"))
    ok(driver.open_home("carol", tab="messages"))

    # A workspace where the Home tab is off: Slack refuses, and carol is told by DM why.
    slack.control("PUT", "app-home", {"home_tab_enabled": False})
    ok(driver.open_home("carol"))
    told = wait_for(lambda: find(slack, slack.user("carol"), "not_enabled"), 30, "carol to be told")
    assert "Home tab" in text_of(told)
    calls = slack.calls("views.publish")
    assert [c["args"]["user_id"] for c in calls[publishes:]] == [slack.user("carol")]
    assert "views.publish for U0CAROL failed: not_enabled" in bot.log.read_text()
