"""App Home in the page, with the real natlink behind it: the sidebar's *natlink Home* sends
app_home_opened for the person acting, and the page draws what natlink published with its block
renderer. The story is set up through the driver (fast); the Home tab is driven in Chromium."""

from __future__ import annotations

from typing import Any

from sandbox.slack.driver import Driver
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e import harness
from tests.e2e.test_seed_story import MAPPING
from tests.sandbox.slack.web.test_browser import SLOW, _as, _channel, _expect, browser, product, tab

__all__ = ["browser", "product", "tab"]  # the fixtures, shared with the page's other browser tests


def test_app_home_in_the_page(tab: Any, product: Any) -> None:
    expect = _expect()
    slack, bot = product
    driver = Driver(f"{bot.url}/slack/events", slack.config)
    alice, bob = slack.user("alice"), slack.user("bob")
    harness.ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    harness.ok(driver.slash_command("admin", "#team-a", f"grant <@{bob}|bob> request {TEAM_A}"))
    harness.ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    harness.wait_for(lambda: harness.find(slack, "team-b", "rdp-vmb is exposed"), 60, "rdp-vmb to be exposed")
    harness.ok(
        driver.slash_command("bob", "#team-a", "request rdp-vmb --vm VM-Win2019 --reason 'RDP please'")
    )
    card = harness.wait_for(lambda: harness.find(slack, "team-b", "natlink_approve"), 60, "the approval card")
    request = harness.request_id_of(card)

    tab.goto(slack.config["base_url"] + "/?user=alice")
    expect(tab.get_by_test_id("me")).to_contain_text("alice")
    tab.get_by_test_id("app-home").click()
    home = tab.get_by_test_id("home-view")
    expect(tab.get_by_test_id("channel-header")).to_have_text("natlink — Home")
    expect(home).to_contain_text("Waiting for your decision", timeout=SLOW)
    expect(home.locator("[data-block-type=section]").filter(has_text=request)).to_contain_text("RDP please")
    expect(home).to_contain_text("rdp-vmb — ports 3389")
    expect(tab.get_by_test_id("composer")).to_be_hidden()

    # Switching to bob keeps the Home tab open: his opens, with his endpoint.
    _as(tab, "bob")
    expect(home).to_contain_text("Your endpoints", timeout=SLOW)
    expect(home).to_contain_text("rdp-vmb pending")
    expect(home).to_contain_text("You own no service.")

    # alice approves; bob opens Home again and reads who sees which address.
    harness.ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    harness.wait_for(lambda: harness.find(slack, bob, MAPPING), 60, "the approval to reach bob")
    tab.get_by_test_id("app-home").click()
    expect(home).to_contain_text("connect to 10.0.0.5:3389", timeout=SLOW)
    expect(home).to_contain_text("sees you as 10.2.0.6")

    _channel(tab, "team-a")  # back to a channel: the composer returns
    expect(tab.get_by_test_id("composer")).to_be_visible()
