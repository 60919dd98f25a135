"""Issue 12, section 1: what real Slack refuses is never only in the log.

The owner channel is wherever `create` was typed; when natlink was never invited there, Slack
answers every card and alert with `not_in_channel` (or `channel_not_found` for a private channel).
These drive the bot through signed requests against the sandbox Slack, which refuses as Slack does.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from commands.context import Config
from commands.sweep import sweep
from storage import channel_subscriptions, requests
from storage.database import open_database
from tests.cloud.arm_log import clients_for
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import (
    create_rdp_vmb,
    database,
    find,
    ok,
    opened_view,
    pending_request,
    request_id_of,
    stored_service,
    text_of,
    wait_for,
)


def _uninvited(slack, name: str, private: bool = False) -> str:
    """A channel everyone is in except natlink."""
    return slack.control("POST", "channels", {"name": name, "private": private})["id"]


def _grants(driver, slack) -> None:
    alice, bob = slack.user("alice"), slack.user("bob")
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    ok(driver.slash_command("admin", "#team-a", f"grant <@{bob}|bob> request {TEAM_A}"))


def test_create_in_a_channel_without_natlink_says_so_and_cards_go_to_the_owners(bot, driver, slack) -> None:
    ops = _uninvited(slack, "ops", private=True)
    _grants(driver, slack)
    ok(driver.slash_command("alice", ops, "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    created = wait_for(
        lambda: find(slack, ops, "rdp-vmb is exposed", ephemeral=True), 60, "the create's answer"
    )
    assert f"natlink is not in <#{ops}>" in text_of(created) and "/invite @natlink" in text_of(created)
    assert "go to its owners by DM" in text_of(created)

    alice, bob = slack.user("alice"), slack.user("bob")
    ok(driver.slash_command("bob", "#team-a", "request rdp-vmb --vm VM-Win2019"))
    card = wait_for(lambda: find(slack, alice, "natlink_approve"), 60, "the card in alice's DM")
    assert f"natlink cannot post in <#{ops}> (channel_not_found)" in text_of(card)
    told = wait_for(lambda: find(slack, bob, "Where your request went"), 60, "bob told where the card went")
    assert f"could not reach <#{ops}>" in text_of(told) and f"<@{alice}>" in text_of(told)

    ok(driver.click("alice", card["channel"], card["message"]["ts"], "natlink_approve"))
    wait_for(lambda: find(slack, bob, "was approved"), 60, "the approval from the DM card")


def test_share_and_subscribe_to_a_channel_without_natlink_are_refused_until_invited(
    bot, driver, slack
) -> None:
    create_rdp_vmb(driver, slack)
    ops = _uninvited(slack, "ops")
    shared = ok(driver.slash_command("alice", "#team-b", f"share rdp-vmb <#{ops}|ops>"))
    assert f"natlink is not in <#{ops}>" in str(shared) and "/invite @natlink" in str(shared)
    subscribed = ok(driver.slash_command("alice", "#team-b", f"subscribe rdp-vmb <#{ops}|ops>"))
    assert f"natlink is not in <#{ops}>" in str(subscribed), subscribed
    assert channel_subscriptions.list_for_channel(open_database(database(bot)), ops) == [], "nothing recorded"
    assert slack.messages(ops) == []

    slack.control("POST", "invite", {"channel": ops})
    ok(driver.slash_command("alice", "#team-b", f"share rdp-vmb <#{ops}|ops>"))
    wait_for(lambda: find(slack, ops, "natlink_request_endpoint"), 30, "the share card once invited")


def test_an_alert_for_a_channel_natlink_left_goes_to_the_owners(
    bot, driver, slack, sandbox, monkeypatch
) -> None:
    ops = _uninvited(slack, "ops")
    slack.control("POST", "invite", {"channel": ops})
    _grants(driver, slack)
    ok(driver.slash_command("alice", ops, "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    wait_for(lambda: find(slack, ops, "rdp-vmb is exposed"), 60, "rdp-vmb exposed in #ops")
    for key, value in sandbox.environment().items():
        monkeypatch.setenv(key, value)
    config = Config(frozenset({"U0ADMIN"}), False, (TEAM_A, TEAM_B))
    sweep(open_database(database(bot)), config, clients_for(sandbox, [TEAM_A, TEAM_B]))  # the baseline
    slack.control("POST", "kick", {"channel": ops})
    sandbox.control("POST", "power", {"vm": _vm_b(), "state": "stopped"})
    ok(driver.slash_command("alice", "#team-b", "status rdp-vmb --refresh"))
    alice = slack.user("alice")
    alert = wait_for(lambda: find(slack, alice, "is *stopped*"), 60, "the alert in alice's DM")
    assert f"natlink cannot post in <#{ops}> (not_in_channel)" in text_of(alert)

    # The VM is back: the recovery reaches alice's DM too, and the alert there is marked resolved.
    sandbox.control("POST", "power", {"vm": _vm_b(), "state": "running"})
    sweep(open_database(database(bot)), config, clients_for(sandbox, [TEAM_A, TEAM_B]))  # the bot posts it
    where = {"channel": alert["channel"], "ts": alert["message"]["ts"]}
    wait_for(
        lambda: "all resolved" in text_of(slack.messages(**where)[0]), 60, "the DM alert marked resolved"
    )
    assert "cannot mark" not in bot.log.read_text()


def _vm_b() -> str:
    return f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b/providers/Microsoft.Compute/virtualMachines/VM-Win2019-2"


def test_a_final_answer_slack_refuses_to_edit_in_still_reaches_the_person(bot, driver, slack) -> None:
    """The progress message cannot be edited (Slack refuses every chat.update): the answer comes
    through the command's response URL instead of never."""
    _grants(driver, slack)
    slack.control("POST", "faults", {"method": "chat.update", "error": "cant_update_message", "count": 100})
    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    answer = wait_for(
        lambda: find(slack, "team-b", "rdp-vmb is exposed", ephemeral=True), 60, "the answer by response URL"
    )
    assert "Alias:" in text_of(answer)


def test_a_form_slack_will_not_open_is_told_not_silent(bot, driver, slack) -> None:
    """A click whose trigger expired (a slow network): views.open fails and the person learns it."""
    create_rdp_vmb(driver, slack)
    ok(driver.slash_command("alice", "#team-b", "share rdp-vmb <#C0TEAMA|team-a>"))
    card = wait_for(lambda: find(slack, "team-a", "natlink_request_endpoint"), 30, "the share card")
    slack.control("POST", "faults", {"method": "views.open", "error": "expired_trigger_id"})
    ok(driver.click("bob", "#team-a", card["message"]["ts"], "natlink_request_endpoint"))
    told = wait_for(lambda: find(slack, "team-a", "Click the button again", ephemeral=True), 30, "bob told")
    assert "expired_trigger_id" in text_of(told)


def test_a_thousand_services_are_listed_a_page_at_a_time(bot, driver, slack) -> None:
    """Issue 12: `list` at 1,000 services stays within Slack's limit, and every service is reachable."""
    db = open_database(database(bot))
    for i in range(1000):
        stored_service(db, f"svc-{i:04}", TEAM_B)
    first = ok(driver.slash_command("admin", "#team-b", "list"))
    # the lock screen reads the first service by its name, not its portal link's URL (issue 12)
    assert first["text"].startswith("Services you may request: svc-0000 — ports 443"), first["text"]
    assert "https:" not in first["text"] and "<" not in first["text"]
    pages = int(str(first).split("Page 1 of ")[1].split(",")[0])
    assert "`/natlink list --page 2`" in str(first) and pages > 1
    listed = set()
    for page in range(1, pages + 1):
        answer = ok(driver.slash_command("admin", "#team-b", f"list --page {page}"))
        listed |= set(re.findall(r"\*(?:<[^|]+\|)?(svc-\d{4})>?\*", str(answer)))
    assert listed == {f"svc-{i:04}" for i in range(1000)}


def test_a_read_and_a_share_answer_once(bot, driver, slack) -> None:
    """Issue 12: every read answered twice ("Queued … (operation N)", then the answer), and share
    left "Sharing rdp-vmb…" forever. Each now acks empty and answers once, with the result."""
    create_rdp_vmb(driver, slack)
    team_b = slack.channel("team-b")
    before = len(slack.messages(team_b))
    assert ok(driver.slash_command("alice", "#team-b", "status rdp-vmb")) == {}, "no 'Queued' for a read"
    wait_for(lambda: find(slack, "team-b", "backends running", ephemeral=True), 60, "the status answer")
    assert ok(driver.slash_command("alice", "#team-b", "share rdp-vmb <#C0TEAMA|team-a>")) == {}
    wait_for(lambda: find(slack, "team-b", "is shared in", ephemeral=True), 30, "the share's answer")
    status = find(slack, "team-b", "backends running", ephemeral=True)["message"]["text"]
    assert (
        status.startswith("Status: rdp-vmb ok: 1 of 1 backends running")
        and "<" not in status
        and "*" not in status
    ), status
    answers = [text_of(m) for m in slack.messages(team_b)[before:]]
    assert len(answers) == 2 and not [a for a in answers if "Queued" in a or "Sharing" in a], answers


def test_the_card_approves_for_seven_days_in_one_click(bot, driver, slack, sandbox, net_a) -> None:
    """Issue 12: the card offers 'approve for 7 / 30 days' beside Approve; its service, private
    endpoint and the endpoint's subnet link to the portal in the sandbox's tenant."""
    card = pending_request(driver, slack)
    request_id = request_id_of(card)
    portal = f"<https://portal.azure.com/#@{sandbox.config['tenant_id']}/resource/subscriptions/"
    fields = json.dumps(card["message"]["blocks"])
    assert re.search(re.escape(portal) + r"[^|>]*/privateLinkServices/[^|>]*\|rdp-vmb>", fields), fields
    assert re.search(re.escape(f"{portal}{TEAM_A}/") + r"[^|>]*/privateEndpoints/[^|>]*\|", fields), fields
    # the endpoint's subnet as Azure has it, not as natlink kept it
    (pe,) = net_a.private_endpoints.list_by_subscription()
    subnet = f"<https://portal.azure.com/#@{sandbox.config['tenant_id']}/resource{pe.subnet.id}|RG-normal-vnet / default>"
    assert f"*VNet / subnet*\\n{subnet}" in fields, fields
    labels = [
        e["text"]["text"] for b in card["message"]["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["Approve", "Approve for 7 days", "Approve for 30 days", "Reject"], labels
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve_7d"))
    told = wait_for(lambda: find(slack, slack.user("bob"), "was approved"), 60, "bob told of the approval")
    request = requests.get_request(open_database(database(bot)), request_id)
    assert request.state == "approved" and request.expires_at is not None
    left = request.expires_at - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7), left
    # What each phone's lock screen shows (the stored ``text``), and the expiry everywhere (issue 12).
    until = f"until {request.expires_at:%Y-%m-%d %H:%M} UTC"
    assert told["message"]["text"].startswith(f"rdp-vmb approved {until}: from VM-Win2019 ("), told
    assert "connect to" in told["message"]["text"] and "<@" not in told["message"]["text"]
    decided = find(slack, "team-b", f"rdp-vmb: {request_id} approved {until}")
    assert decided and decided["message"]["ts"] == card["message"]["ts"] and until in text_of(decided)
    assert find(slack, "team-b", f"was approved by <@{slack.user('alice')}> {until}"), "alice's answer"


def test_the_request_message_stops_waiting_once_decided(bot, driver, slack, sandbox) -> None:
    """Issue 12: the reply to a request said 'Waiting for an owner' after the approval. It links
    the endpoint, its subnet and the service to the portal."""
    card = pending_request(driver, slack)
    waiting = wait_for(lambda: find(slack, "team-a", "Waiting for an owner"), 30, "the request's reply")
    portal = f"<https://portal.azure.com/#@{sandbox.config['tenant_id']}/resource/subscriptions/"
    said = text_of(waiting)
    assert re.search(re.escape(f"{portal}{TEAM_A}/") + r"[^|>]*/privateEndpoints/[^|>]*\|", said), said
    assert re.search(
        re.escape(f"{portal}{TEAM_A}/") + r"[^|>]*/virtualNetworks/[^|>]*/subnets/[^|>]*\|", said
    )
    assert re.search(re.escape(portal) + r"[^|>]*/privateLinkServices/[^|>]*\|rdp-vmb>", said), said
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    wait_for(lambda: find(slack, slack.user("bob"), "was approved"), 60, "bob told of the approval")
    now = wait_for(
        lambda: (
            (m := find(slack, "team-a", "Approved")) and m["message"]["ts"] == waiting["message"]["ts"] and m
        ),
        30,
        "the request's own message to show the decision",
    )
    assert "Waiting for an owner" not in text_of(now) and "natlink_approve" not in str(now["message"])


def test_the_create_result_shares_with_one_button_and_a_channel_picker(bot, driver, slack, sandbox) -> None:
    """Issue 12: the create result has a *Share* button; it opens a channel picker and posts the card.
    It links the service and its backend VM to the portal, in the sandbox's tenant."""
    created = create_rdp_vmb(driver, slack)
    portal = f"<https://portal.azure.com/#@{sandbox.config['tenant_id']}/resource/subscriptions/{TEAM_B}/"
    assert f"{portal}resourceGroups/rg-team-b/providers/Microsoft.Network/privateLinkServices/" in text_of(
        created
    )
    assert "/virtualMachines/VM-Win2019-2|VM-Win2019-2>" in text_of(created)
    ok(driver.click("alice", "#team-b", created["message"]["ts"], "natlink_share"))
    form = opened_view(slack, "natlink_share_form", "the share form")
    ok(driver.submit_view("alice", form, {"channel": {"value": slack.channel("team-a")}}))
    wait_for(lambda: find(slack, "team-a", "natlink_request_endpoint"), 30, "the alias card in #team-a")
    wait_for(lambda: find(slack, "team-b", "is shared in", ephemeral=True), 30, "alice told where it went")
    ok(driver.click("bob", "#team-b", created["message"]["ts"], "natlink_share"))
    refused = wait_for(lambda: find(slack, "team-b", "not an owner", ephemeral=True), 30, "bob refused")
    assert "its owners are" in text_of(refused)


def test_a_deleted_card_is_posted_anew_when_decided_and_the_decider_told(bot, driver, slack) -> None:
    """Someone deleted the approval card; alice approves by command: the decided card comes back in
    the owner channel, remembered there, and alice learns it in plain words (no "could not post")."""
    from slack_sdk import WebClient

    card = pending_request(driver, slack)
    request, channel = request_id_of(card), card["channel"]
    WebClient(token=slack.bot_token, base_url=slack.api_url).chat_delete(
        channel=channel, ts=card["message"]["ts"]
    )
    ok(driver.slash_command("alice", "#team-b", f"approve {request}"))
    again = wait_for(lambda: find(slack, "team-b", "*Approved* by"), 60, "the decided card posted anew")
    assert request in text_of(again) and again["message"]["ts"] != card["message"]["ts"]
    told = wait_for(lambda: find(slack, "team-b", "posted it again", ephemeral=True), 30, "alice told")
    assert request in text_of(told) and "deleted" in text_of(told)
    assert not [m for m in slack.messages(include_deleted="1") if "could not post" in text_of(m)]
    stored = requests.get_request(open_database(database(bot)), request)
    assert stored is not None and (stored.card_channel, stored.card_ts) == (channel, again["message"]["ts"])
