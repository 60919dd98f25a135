"""Issue 12: the request form in the browser, against the real natlink: the composer's shortcut
menu opens it, its pickers ask natlink for options as the person types, an error shows under its
field, and a submission becomes the request."""

from __future__ import annotations

from typing import Any

from sandbox.slack.driver import Driver
from tests.e2e import harness
from tests.sandbox.slack.web.test_browser import SLOW, _expect, browser, product, tab

__all__ = ["browser", "product", "tab"]


def test_the_shortcut_opens_the_form_and_its_pickers_fill_it(product: Any, tab: Any) -> None:
    # product before tab: the page closes before its servers stop, so no fetch of it fails
    expect = _expect()
    slack, bot = product
    harness.create_rdp_vmb(Driver(f"{bot.url}/slack/events", slack.config), slack)  # bob may request from A

    tab.goto(slack.config["base_url"] + "/?user=bob")
    expect(tab.get_by_test_id("me")).to_contain_text("bob")
    tab.get_by_test_id("shortcuts-button").click()
    tab.locator('[data-testid=shortcut-item][data-callback-id="natlink_request_shortcut"]').click()
    modal = tab.get_by_test_id("modal")
    expect(modal).to_have_attribute("data-callback-id", "natlink_request_modal", timeout=SLOW)

    def pick(block: str, typed: str, text: str) -> None:
        modal.locator(f'[data-testid=picker-search][data-block-id="{block}"]').fill(typed)
        option = modal.locator(f'[data-block-id="{block}"] [data-testid=picker-option]').filter(has_text=text)
        expect(option).to_have_count(1, timeout=SLOW)
        option.click()

    pick("service", "rdp", "rdp-vmb")
    modal.get_by_test_id("modal-submit").click()  # no VM and no subnet: said under the VM picker
    expect(modal.locator('[data-testid=modal-error][data-block-id="vm"]')).to_contain_text("Pick your VM")

    search = modal.locator('[data-testid=picker-search][data-block-id="vm"]')
    search.fill("Win")
    options = modal.locator('[data-block-id="vm"] [data-testid=picker-option]')
    expect(options).to_have_count(1, timeout=SLOW)  # team B's VM-Win2019-2 is not bob's to use
    pick("vm", "Win", "VM-Win2019 (")
    modal.locator('[data-testid=modal-input][data-block-id="reason"]').fill("RDP from the form")
    modal.get_by_test_id("modal-submit").click()
    expect(tab.get_by_test_id("modal")).to_have_count(0, timeout=SLOW)

    card = harness.wait_for(lambda: harness.find(slack, "team-b", "natlink_approve"), 60, "the approval card")
    assert "RDP from the form" in harness.text_of(card)
