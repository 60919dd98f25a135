"""The page's ``/web/*`` endpoints over HTTP: what each user sees, and what reaches the bot and ARM."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

from slack_sdk import WebClient

from sandbox.slack import launch
from tests.conftest import TEAM_A, TEAM_B
from tests.sandbox.slack.web.conftest import Page


def _texts(state: dict[str, Any], channel: str) -> list[str]:
    return [
        json.dumps(m["message"].get("blocks") or [], ensure_ascii=False) + m["message"]["text"]
        for m in state["messages"][channel]
    ]


def _received(page: Page, kind: str) -> list[Any]:
    return [r for r in page.bot.received if r.kind == kind]


def test_the_page_and_its_files_are_served(page: Page) -> None:
    for path, kind, needle in [
        ("/", "text/html", b'data-testid="composer-input"'),
        ("/web/app.js", "text/javascript", b"EventSource"),
        ("/web/app.css", "text/css", b".message"),
    ]:
        with urllib.request.urlopen(page.url + path, timeout=10) as answer:
            assert answer.status == 200 and answer.headers["Content-Type"].startswith(kind)
            assert needle in answer.read()
    config = page.ok("/web/config")
    assert config["workspace"]["users"]["alice"] == {"id": "U0ALICE", "role": "owner", "team": "B"}
    assert config["bot_url"] == page.bot.url and config["arm"] is True


def test_ephemerals_and_dms_are_shown_only_to_their_user(page: Page) -> None:
    client = WebClient(token=page.slack.bot_token, base_url=page.slack.api_url)
    client.chat_postMessage(channel="C0TEAMB", text="for everyone")
    client.chat_postEphemeral(channel="C0TEAMB", user="U0ALICE", text="for alice only")
    client.chat_postMessage(channel="U0ALICE", text="alice's DM")
    page.ok("/web/message", {"user": "bob", "channel": "team-b", "text": "hello <@U0ALICE>"})

    alice = page.ok("/web/state?user=alice")
    bob = page.ok("/web/state?user=U0BOB")
    assert alice["me"] == {
        "id": "U0ALICE",
        "name": "alice",
        "real_name": "Alice",
        "role": "owner",
        "team": "B",
    }
    assert [c["id"] for c in alice["channels"]] == ["C0TEAMA", "C0TEAMB", "D0ALICE"]
    assert [c["id"] for c in bob["channels"]] == ["C0TEAMA", "C0TEAMB", "D0BOB"]
    shown = {m["message"]["text"]: m["ephemeral"] for m in alice["messages"]["C0TEAMB"]}
    assert shown == {"for everyone": False, "for alice only": True, "hello <@U0ALICE>": False}
    assert [m["message"]["text"] for m in bob["messages"]["C0TEAMB"]] == ["for everyone", "hello <@U0ALICE>"]
    assert [m["message"]["text"] for m in alice["messages"]["D0ALICE"]] == ["alice's DM"]
    assert "D0ALICE" not in bob["messages"]
    assert page.post("/web/message", {"user": "bob", "channel": "D0ALICE", "text": "peek"})[0] == 403
    assert page.get("/web/state?user=mallory")[0] == 400


def test_a_command_reaches_the_bot_signed_and_its_answer_is_shown(page: Page) -> None:
    answer = page.ok("/web/command", {"user": "alice", "channel": "C0TEAMB", "text": "/natlink card rdp-vmb"})
    assert answer["status"] == 200 and answer["reply"]["text"] == "Queued: card for *rdp-vmb*"
    (command,) = _received(page, "command")
    assert command.valid
    assert {k: command.payload[k] for k in ("command", "text", "user_id", "channel_id", "team_id")} == {
        "command": "/natlink",
        "text": "card rdp-vmb",
        "user_id": "U0ALICE",
        "channel_id": "C0TEAMB",
        "team_id": "T0NATLINK",
    }
    assert command.payload["trigger_id"] and command.payload["response_url"].startswith(page.url)

    alice, bob = page.ok("/web/state?user=alice"), page.ok("/web/state?user=bob")
    card = [m for m in alice["messages"]["C0TEAMB"] if not m["ephemeral"]]
    assert len(card) == 1 and "natlink_approve" in json.dumps(card[0]["message"]["blocks"])
    queued = [m for m in alice["messages"]["C0TEAMB"] if m["ephemeral"]]
    assert [m["message"]["text"] for m in queued] == ["Queued: card for *rdp-vmb*"]
    assert [m["ts"] for m in bob["messages"]["C0TEAMB"]] == [card[0]["ts"]]

    page.ok("/web/command", {"user": "bob", "channel": "team-a", "text": "/natlink shout"})
    assert [m["message"]["text"] for m in page.ok("/web/state?user=carol")["messages"]["C0TEAMA"]] == [
        "/natlink shout",
        "Everyone sees _this_",
    ]
    page.ok("/web/command", {"user": "carol", "channel": "team-a", "text": "/natlink whisper"})
    assert "psst, `only you`" in _texts(page.ok("/web/state?user=carol"), "C0TEAMA")[-1]
    assert not any("psst" in t for t in _texts(page.ok("/web/state?user=bob"), "C0TEAMA"))

    assert (
        page.ok("/web/command", {"user": "carol", "channel": "team-a", "text": "/deploy now"})["ok"] is False
    )
    assert "/deploy is not a valid command." in _texts(page.ok("/web/state?user=carol"), "C0TEAMA")[-1]
    assert len(_received(page, "command")) == 3  # /deploy never reached the bot


def test_plain_text_is_a_message_and_a_slash_line_is_a_command(page: Page) -> None:
    page.ok("/web/message", {"user": "carol", "channel": "team-a", "text": "just saying"})
    page.ok("/web/message", {"user": "carol", "channel": "team-a", "text": "/natlink help"})
    assert [r.payload["text"] for r in _received(page, "command")] == ["help"]
    stored = page.slack.messages("C0TEAMA")
    assert stored[0]["message"]["user"] == "U0CAROL" and stored[0]["message"]["text"] == "just saying"
    assert stored[1]["ephemeral"] and stored[1]["to"] == "U0CAROL"


def test_clicks_and_submissions_reach_the_bot_and_modals_follow_its_answers(page: Page) -> None:
    page.ok("/web/command", {"user": "alice", "channel": "team-b", "text": "/natlink card rdp-vmb"})
    card = next(m for m in page.ok("/web/state?user=alice")["messages"]["C0TEAMB"] if not m["ephemeral"])

    clicked = page.ok(
        "/web/click",
        {"user": "alice", "channel": "C0TEAMB", "ts": card["ts"], "action_id": "natlink_approve"},
    )
    assert clicked["ok"] and clicked["status"] == 200
    (action,) = _received(page, "block_actions")
    assert action.valid and action.payload["user"]["id"] == "U0ALICE"
    pressed = action.payload["actions"][0]
    assert (pressed["action_id"], pressed["value"], pressed["block_id"]) == (
        "natlink_approve",
        "rdp-vmb",
        "decide:rdp-vmb",
    )
    assert action.payload["container"]["message_ts"] == card["ts"]
    after = page.ok("/web/state?user=bob")["messages"]["C0TEAMB"]
    assert [m["ts"] for m in after] == [card["ts"]] and after[0]["edits"] == 1
    assert "*Approved* by <@U0ALICE>" in json.dumps(after[0]["message"]["blocks"])
    assert "natlink_approve" not in json.dumps(after[0]["message"]["blocks"])
    assert "approval of rdp-vmb" in _texts(page.ok("/web/state?user=alice"), "D0ALICE")[0]
    missing = {"user": "alice", "channel": "C0TEAMB", "ts": card["ts"], "action_id": "natlink_approve"}
    assert page.post("/web/click", missing)[0] == 404  # the button is gone

    page.ok("/web/command", {"user": "alice", "channel": "team-b", "text": "/natlink card other"})
    card = [m for m in page.ok("/web/state?user=alice")["messages"]["C0TEAMB"] if not m["ephemeral"]][-1]
    assert "other" in json.dumps(card["message"]["blocks"])
    click = {"user": "alice", "channel": "team-b", "ts": card["ts"], "action_id": "natlink_reject"}
    assert page.ok("/web/click", click)["ok"]
    view = page.ok("/web/state?user=alice")["view"]
    assert view["callback_id"] == "natlink_reject_reason" and view["title"]["text"] == "Reject request"
    assert page.ok("/web/state?user=bob")["view"] is None
    assert page.post("/web/submit", {"user": "bob", "view_id": view["id"], "values": {}})[0] == 404

    refused = page.ok(
        "/web/submit", {"user": "alice", "view_id": view["id"], "values": {"reason": {"value": "bad"}}}
    )
    assert refused["errors"] == {"reason": "That is not a reason"}
    assert page.ok("/web/state?user=alice")["view"]["id"] == view["id"]  # still open
    misplaced = {"user": "alice", "view_id": view["id"], "values": {"reason": {"value": "misplaced"}}}
    assert "'nowhere' is not the block_id" in page.ok("/web/submit", misplaced)["errors"][""]
    done = page.ok(
        "/web/submit", {"user": "alice", "view_id": view["id"], "values": {"reason": {"value": "no budget"}}}
    )
    assert done["ok"] and "errors" not in done
    submissions = _received(page, "view_submission")
    assert all(s.valid for s in submissions) and len(submissions) == 3
    assert submissions[-1].payload["view"]["state"]["values"] == {
        "reason": {"value": {"type": "plain_text_input", "value": "no budget"}}
    }
    assert page.ok("/web/state?user=alice")["view"] is None
    assert "*Rejected* by <@U0ALICE> — no budget" in _texts(page.ok("/web/state?user=bob"), "C0TEAMB")[-1]


def test_every_change_bumps_the_version_and_is_streamed(page: Page) -> None:
    before = page.ok("/web/version")["version"]
    events: list[str] = []
    got_two = threading.Event()

    def listen() -> None:
        with urllib.request.urlopen(page.url + "/web/events", timeout=30) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            for raw in stream:
                line = raw.decode().strip()
                if line.startswith("data:"):
                    events.append(line)
                    if len(events) == 2:
                        got_two.set()
                        return

    threading.Thread(target=listen, daemon=True).start()
    client = WebClient(token=page.slack.bot_token, base_url=page.slack.api_url)
    for _ in range(50):
        if events:
            break
        threading.Event().wait(0.05)
    posted = client.chat_postMessage(channel="C0TEAMA", text="v")
    assert got_two.wait(10), events
    first, second = (json.loads(e.removeprefix("data:"))["version"] for e in events)
    assert second > first >= before
    client.chat_update(channel="C0TEAMA", ts=posted["ts"], text="v2")
    assert page.ok("/web/version")["version"] > second
    client.auth_test()  # a read changes nothing
    assert page.ok("/web/version")["version"] == page.ok("/web/version")["version"]


def test_the_azure_world_and_what_each_side_sees(page: Page) -> None:
    world = page.ok("/web/azure")
    assert {(v["name"], v["team"], tuple(v["ips"]), v["power"]) for v in world["vms"]} == {
        ("VM-Win2019", "Team A", ("10.0.0.4",), "running"),
        ("VM-Win2019-2", "Team B", ("10.2.0.5",), "running"),
    }
    assert {v["name"] for v in world["vnets"]} == {"RG-normal-vnet", "temp-vnet"}
    assert world["links"] == [] and world["services"] == []

    page.arm.control("POST", "generate", {"subscriptions": 2, "services": 1, "endpoints": 2})
    world = page.ok("/web/azure")
    (pls,) = world["services"]
    assert pls["alias"].endswith(".azure.privatelinkservice") and pls["natIps"] and pls["lb"] == "lb-0"
    assert sorted(c["status"] for c in pls["connections"]) == ["Approved", "Pending"]
    links = {link["endpoint"]: link for link in world["links"]}
    assert set(links) == {"pe-0-0", "pe-0-1"}
    pe = next(e for e in world["endpoints"] if e["name"] == "pe-0-0")
    assert links["pe-0-0"]["destination"] == f"{pe['ips'][0]}:443" and links["pe-0-0"]["status"] == "Approved"
    assert (
        links["pe-0-0"]["natIps"] == pls["natIps"]
        and links["pe-0-0"]["bSees"] == f"source {pls['natIps'][0]}"
    )
    assert links["pe-0-0"]["backends"][0].startswith("vm-0 ")


def _vm_power(page: Page, name: str) -> str:
    state = page.arm.control("GET", "state")
    return next(r["powerState"] for r in state["resources"] if r["name"] == name)


def test_the_portal_powers_a_vm_off_and_on(page: Page) -> None:
    off = page.ok("/web/portal/power", {"vm": "VM-Win2019-2", "state": "stopped"})
    assert off["action"] == "powerOff" and off["vm"].startswith(f"/subscriptions/{TEAM_B}/")
    assert _vm_power(page, "VM-Win2019-2") == "stopped" and _vm_power(page, "VM-Win2019") == "running"
    vm = next(v for v in page.ok("/web/azure")["vms"] if v["name"] == "VM-Win2019-2")
    assert vm["power"] == "stopped"
    page.ok("/web/portal/power", {"vm": vm["id"], "state": "running"})
    assert _vm_power(page, "VM-Win2019-2") == "running"
    requests = page.arm.control("GET", "requests")["counts"]
    assert any(k.startswith("POST ") and k.endswith("/powerOff") for k in requests), requests
    assert page.post("/web/portal/power", {"vm": "VM-Nope", "state": "stopped"})[0] == 404
    assert page.post("/web/portal/power", {"vm": "VM-Win2019-2", "state": "sideways"})[0] == 400


def test_the_portal_rejects_a_connection_and_creates_an_endpoint_by_alias(page: Page) -> None:
    refused = page.post(
        "/web/portal/endpoint",
        {"alias": "nope.00000000-0000-0000-0000-000000000000.japaneast.azure.privatelinkservice"},
    )
    assert refused[0] == 400 and refused[1]["detail"]["error"]["code"] == "PrivateLinkServiceAliasNotFound"

    page.arm.control("POST", "generate", {"subscriptions": 2, "services": 1, "endpoints": 2})
    (pls,) = page.ok("/web/azure")["services"]
    approved = next(c for c in pls["connections"] if c["status"] == "Approved")
    answer = page.ok("/web/portal/reject", {"connection": approved["id"]})
    assert answer["arm"]["properties"]["privateLinkServiceConnectionState"]["status"] == "Rejected"
    world = page.ok("/web/azure")
    (pls,) = world["services"]
    assert next(c for c in pls["connections"] if c["id"] == approved["id"])["status"] == "Rejected"
    assert next(e for e in world["endpoints"] if e["id"] == approved["endpoint"])["status"] == "Rejected"

    consumer = next(e for e in world["endpoints"] if e["id"] == approved["endpoint"])
    subnet_id = next(
        s["id"]
        for v in world["vnets"]
        for s in v["subnets"]
        if v["team"] == consumer["team"] and s["name"] == "endpoints"
    )
    created = page.ok(
        "/web/portal/endpoint", {"alias": pls["alias"], "name": "pe-from-portal", "subnet": subnet_id}
    )
    assert created["endpoint"].endswith("/privateEndpoints/pe-from-portal")
    world = page.ok("/web/azure")
    mine = next(e for e in world["endpoints"] if e["name"] == "pe-from-portal")
    assert mine["status"] == "Pending" and mine["service"] == "pls-0" and mine["ips"]
    assert any(
        link["endpoint"] == "pe-from-portal" and link["destination"] == f"{mine['ips'][0]}:443"
        for link in world["links"]
    )


def test_the_portal_creates_in_team_a_by_default(page: Page) -> None:
    answer = page.post(
        "/web/portal/endpoint",
        {
            "alias": "x.00000000-0000-0000-0000-000000000000.japaneast.azure.privatelinkservice",
            "name": "pe-a",
        },
    )
    assert answer[0] == 400
    requests = page.arm.control("GET", "requests")["counts"]
    assert any(k.startswith(f"PUT /subscriptions/{TEAM_A}/resourceGroups/rg-team-a/") for k in requests), (
        requests
    )


def test_without_a_bot_or_arm_the_page_says_so() -> None:
    bare = launch.start()
    try:
        page = Page(bare, None, None)  # type: ignore[arg-type]
        status, answer = page.post(
            "/web/command", {"user": "alice", "channel": "team-a", "text": "/natlink help"}
        )
        assert status == 503 and answer["error"] == "bot_not_configured"
        assert "dispatch_failed" in _texts(page.ok("/web/state?user=alice"), "C0TEAMA")[-1]
        assert page.get("/web/azure") == (
            503,
            {
                "ok": False,
                "error": "arm_not_configured",
                "detail": "start the stand-in with --arm-config PATH",
            },
        )
        assert page.ok("/web/message", {"user": "alice", "channel": "team-a", "text": "still chatting"})["ok"]
    finally:
        assert bare.stop() == 0


def test_a_typed_command_reaches_the_bot_escaped_as_slack_sends_it(page: Page) -> None:
    """Issue 12 §4: the README's commands work typed as written. Slack escapes &<> and turns
    @member and #channel into their escaped forms; a name that matches nobody stays as typed."""
    typed = "/natlink card rdp-vmb for @bob in #team-a, not @nobody in #nowhere <b> & co"
    page.ok("/web/command", {"user": "alice", "channel": "C0TEAMB", "text": typed})
    (command,) = _received(page, "command")
    assert command.payload["text"] == (
        "card rdp-vmb for <@U0BOB|bob> in <#C0TEAMA|team-a>, not @nobody in #nowhere &lt;b&gt; &amp; co"
    )
