"""Access is exactly what natlink says it is: each reproduction from the red-team pass (issue 13).

Every test here ends by reading Azure itself, through the real SDK, and comparing it with what
natlink told people and recorded.
"""

from __future__ import annotations

import json

from cloud.tokens import token
from sandbox.slack.driver import Driver
from storage import audit, operations, requests, services
from storage.database import open_database
from tests.arm_story import A_SUBNET, B_RG, B_SUBNET
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import (
    create_rdp_vmb,
    database,
    ephemerals,
    find,
    ok,
    pending_request,
    request_id_of,
    start_bot,
    text_of,
    wait_for,
)

CONNECTION_PUT = r"/privateLinkServices/rdp-vmb/privateEndpointConnections/"


def _connections(net_b, name: str = "rdp-vmb") -> list:
    (pls,) = [s for s in net_b.private_link_services.list_by_subscription() if s.name == name]
    group = pls.id.split("/")[4]
    return list(net_b.private_link_services.list_private_endpoint_connections(group, name))


def _statuses(net_b, name: str = "rdp-vmb") -> list[str]:
    return [c.private_link_service_connection_state.status for c in _connections(net_b, name)]


def test_a_decision_azure_refused_once_reaches_azure_on_the_next_click(
    bot, driver, slack, sandbox, net_b
) -> None:
    card = pending_request(driver, slack)
    ts, request_id = card["message"]["ts"], request_id_of(card)
    sandbox.control(
        "POST", "faults", {"method": "PUT", "path": CONNECTION_PUT, "status": 409, "code": "Conflict"}
    )
    ok(driver.click("alice", "#team-b", ts, "natlink_approve"))
    wait_for(lambda: find(slack, "team-b", "Azure refused to approve"), 60, "the refusal")
    db = open_database(database(bot))
    wait_for(lambda: requests.get_request(db, request_id).state == "pending", 30, "the card to reopen")

    ok(driver.click("alice", "#team-b", ts, "natlink_approve"))
    wait_for(lambda: _statuses(net_b) == ["Approved"], 60, "Azure to hold the approval")
    assert requests.get_request(db, request_id).state == "approved"
    wait_for(lambda: operations.list_operations(db)[0].state == "succeeded", 30, "the approval to finish")
    kinds = [(op.kind, op.state) for op in operations.list_operations(db)]
    assert kinds.count(("approve", "failed")) == 1 and kinds.count(("approve", "succeeded")) == 1, kinds
    assert not ephemerals(slack, "team-b", slack.user("alice"), "already approved")
    bob = slack.user("bob")
    told = wait_for(lambda: find(slack, bob, "was approved"), 30, "bob's DM")
    assert "10.2.0." in text_of(told), "the requester gets the mapping"


def _open_cards(slack) -> dict[str, dict]:
    """Approval cards in #team-b that still carry their buttons, by request ID."""
    cards = {}
    for record in slack.messages(slack.channel("team-b")):
        try:
            cards[request_id_of(record)] = record
        except LookupError:
            continue
    return cards


def _approved_request(driver, slack, bot, ask: str) -> str:
    """bob asks (``ask``), alice approves the card; returns the request ID once Azure holds it."""
    before = set(_open_cards(slack))
    ok(driver.slash_command("bob", "#team-a", ask))
    request_id, card = wait_for(
        lambda: next(((k, v) for k, v in _open_cards(slack).items() if k not in before), None),
        60,
        "a new approval card",
    )
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    db = open_database(database(bot))
    wait_for(lambda: requests.get_request(db, request_id).state == "approved", 60, f"{request_id} approved")
    return request_id


def test_a_second_ask_from_elsewhere_is_a_new_request_and_revoke_removes_the_right_connection(
    bot, driver, slack, net_b
) -> None:
    """Item 1: the same endpoint name from another VNet used to reuse the approved request."""
    create_rdp_vmb(driver, slack)
    ok(driver.slash_command("admin", "#team-b", f"grant <@{slack.user('bob')}|bob> request {TEAM_B}"))
    from_a = f"request rdp-vmb --vnet RG-normal-vnet --subnet default --subscription {TEAM_A} --name pe-rdp"
    first = _approved_request(driver, slack, bot, from_a)
    db = open_database(database(bot))
    first_pe = requests.get_request(db, first).pe_id

    from_b = f"request rdp-vmb --vnet temp-vnet --subnet default --subscription {TEAM_B} --name pe-rdp"
    second = _approved_request(driver, slack, bot, from_b)
    assert second != first
    assert requests.get_request(db, first).pe_id == first_pe, "a request never changes its endpoint"
    tokens_in_azure = sorted(
        c.private_link_service_connection_state.description.split()[0] for c in _connections(net_b)
    )
    assert tokens_in_azure == sorted([token(first), token(second)]), "one connection per request"

    ok(driver.slash_command("alice", "#team-b", f"revoke {first}"))
    wait_for(lambda: requests.get_request(db, first).state == "removed", 60, "the revoke")
    left = {
        c.private_endpoint.id.lower(): c.private_link_service_connection_state.status
        for c in _connections(net_b)
    }
    assert first_pe.lower() not in left, left
    assert list(left.values()) == ["Approved"] and requests.get_request(db, second).state == "approved"


def test_asking_again_for_what_one_holds_is_refused(bot, driver, slack, net_b) -> None:
    create_rdp_vmb(driver, slack)
    ask = "request rdp-vmb --vm VM-Win2019"
    held = _approved_request(driver, slack, bot, ask)
    ok(driver.slash_command("bob", "#team-a", ask))
    refusal = wait_for(lambda: find(slack, "team-a", "you already have"), 60, "the refusal")
    assert held in text_of(refusal) and f"revoke {held}" in text_of(refusal)
    assert "/subnets/default|RG-normal-vnet/default>" in text_of(refusal), (
        "the held subnet links to the portal"
    )
    assert len(_connections(net_b)) == 1
    db = open_database(database(bot))
    assert [r.id for r in requests.list_requests(db)] == [held], "nothing new recorded"


def test_a_failed_request_leaves_no_endpoint_and_its_retry_works(bot, driver, slack, sandbox, net_a) -> None:
    """Also seen: an endpoint whose creation failed stayed in Azure and blocked the retry."""
    create_rdp_vmb(driver, slack)
    sandbox.control("POST", "lro-failures", {"type": "privateEndpoints", "code": "InternalServerError"})
    sandbox.control(
        "POST", "faults", {"method": "DELETE", "path": "/privateEndpoints/", "status": 500, "count": 50}
    )
    ask = "request rdp-vmb --vm VM-Win2019"
    ok(driver.slash_command("bob", "#team-a", ask))
    failed = wait_for(lambda: find(slack, "team-a", "Already in Azure"), 60, "the request to fail")
    assert "InternalServerError" in text_of(failed) and "pe-rdp-vmb-VM-Win2019" in text_of(failed)
    assert [pe.name for pe in net_a.private_endpoints.list_by_subscription()] == ["pe-rdp-vmb-VM-Win2019"]

    sandbox.control("DELETE", "faults")
    ok(driver.slash_command("bob", "#team-a", ask))
    wait_for(lambda: find(slack, "team-a", "Waiting for an owner"), 60, "the retry to succeed")
    (pe,) = net_a.private_endpoints.list_by_subscription()
    db = open_database(database(bot))
    live = [r for r in requests.list_requests(db) if r.state == "pending"]
    assert len(live) == 1 and live[0].pe_id.lower() == pe.id.lower()
    assert pe.tags["natlink-token"] == token(live[0].id), "the leftover was replaced, not adopted"


def test_a_failed_request_removes_the_endpoint_it_made(bot, driver, slack, sandbox, net_a) -> None:
    create_rdp_vmb(driver, slack)
    sandbox.control("POST", "lro-failures", {"type": "privateEndpoints", "code": "InternalServerError"})
    ok(driver.slash_command("bob", "#team-a", "request rdp-vmb --vm VM-Win2019"))
    failed = wait_for(
        lambda: find(slack, "team-a", "did not finish", ephemeral=True), 60, "the request to fail"
    )
    assert "InternalServerError" in text_of(failed) and "Already in Azure" not in text_of(failed)
    assert ":x:" in text_of(find(slack, "team-a", "/natlink request rdp-vmb", ephemeral=False))
    assert list(net_a.private_endpoints.list_by_subscription()) == []
    db = open_database(database(bot))
    assert [r.state for r in requests.list_requests(db)] == ["failed"]


def test_create_with_another_target_does_not_repoint_the_service(bot, driver, slack, net_a, net_b) -> None:
    """Item 2: a co-owner re-running create on team A's VM used to re-point rdp-vmb there."""
    create_rdp_vmb(driver, slack)
    alice = slack.user("alice")
    ok(driver.slash_command("admin", "#team-a", f"grant <@{alice}|alice> create {TEAM_A}"))
    (before,) = [s.id for s in net_b.private_link_services.list_by_subscription()]
    db = open_database(database(bot))
    pls_id = services.get_service(db, "rdp-vmb").pls_id

    ok(driver.slash_command("alice", "#team-a", "create rdp-vmb --vm VM-Win2019 --port 3389"))
    refusal = wait_for(lambda: find(slack, "team-a", "keeps its target for life"), 60, "the refusal")
    assert "VM-Win2019-2" in text_of(refusal) and "delete rdp-vmb" in text_of(refusal)
    assert list(net_a.private_link_services.list_by_subscription()) == []
    assert list(net_a.load_balancers.list_all()) == [], "nothing written in team A"
    assert [s.id for s in net_b.private_link_services.list_by_subscription()] == [before]
    assert services.get_service(db, "rdp-vmb").pls_id == pls_id

    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389 --nat-ips 2"))
    wait_for(lambda: len(services.get_service(db, "rdp-vmb").details["nat_ips"]) == 2, 60, "the rerun")


def test_a_vm_named_like_one_in_another_teams_subscription_is_requested_from_the_right_one(
    bot, driver, slack, sandbox, net_a
) -> None:
    """The request found bob's VM where he may request from, then looked it up again by name in
    every subscription natlink manages: a namesake in team B failed the request with
    AmbiguousVmName, naming team B's VM to bob."""
    sandbox.control(
        "POST", "vms", {"subscription": TEAM_B, "group": B_RG, "name": "VM-Win2019", "subnet": B_SUBNET}
    )
    card = pending_request(driver, slack)
    assert "VM-Win2019" in text_of(card)
    (pe,) = net_a.private_endpoints.list_by_subscription()
    assert pe.subnet.id.lower() == A_SUBNET.lower(), "the endpoint is in bob's VM's subnet, in team A"
    assert not find(slack, "team-a", "AmbiguousVmName") and not find(slack, slack.user("bob"), TEAM_B)


def test_an_approval_azure_did_not_keep_is_never_reported(bot, driver, slack, sandbox, net_b) -> None:
    """Invariant 3: Azure acknowledges the write, a concurrent writer undoes it; natlink reads back."""
    card = pending_request(driver, slack)
    request_id = request_id_of(card)
    sandbox.control("POST", "lost-writes", {"method": "PUT", "path": CONNECTION_PUT})
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    ts = card["message"]["ts"]
    # the card itself, not the failure's answer, which may be posted before the card is edited
    reopened = wait_for(
        lambda: next(
            (
                m
                for m in slack.messages(slack.channel("team-b"))
                if m["message"].get("ts") == ts and "DecisionNotApplied" in text_of(m)
            ),
            None,
        ),
        60,
        "the reopened card",
    )
    assert "natlink_approve" in str(reopened["message"]), "the card has its buttons back"
    db = open_database(database(bot))
    assert requests.get_request(db, request_id).state == "pending"
    assert _statuses(net_b) == ["Pending"]
    assert not find(slack, slack.user("bob"), "was approved"), "the requester is not told a false outcome"


def test_a_revoke_azure_did_not_keep_is_reported_and_the_owners_alerted(
    bot, driver, slack, sandbox, net_b
) -> None:
    card = pending_request(driver, slack)
    request_id = request_id_of(card)
    ok(driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve"))
    db = open_database(database(bot))
    wait_for(lambda: requests.get_request(db, request_id).state == "approved", 60, "the approval")
    sandbox.control("POST", "lost-writes", {"method": "DELETE", "path": CONNECTION_PUT, "count": 10})
    ok(driver.slash_command("alice", "#team-b", f"revoke {request_id}"))
    told = wait_for(lambda: find(slack, "team-b", "AccessStillOpen", ephemeral=False), 60, "the revoker told")
    assert "revoked by" not in text_of(told)
    alert = wait_for(lambda: find(slack, "team-b", "could not confirm"), 60, "the owners' alert")
    assert request_id in text_of(alert)
    assert requests.get_request(db, request_id).state == "approved", "natlink still says what Azure says"
    assert _statuses(net_b) == ["Approved"]
    assert not find(slack, slack.user("bob"), "Access revoked")


HOSTILE = "hi <!channel> <https://evil.example|click> <@U0ADMIN> &amp;"


def test_user_text_never_reaches_a_messages_fallback_text_unescaped(bot, driver, slack) -> None:
    """Item 5: Slack notifies from ``text``, so a mention or link typed by a user must be inert there too."""
    create_rdp_vmb(driver, slack)
    ok(driver.slash_command("bob", "#team-a", f"request rdp-vmb --vm VM-Win2019 --reason '{HOSTILE}'"))
    card = wait_for(lambda: find(slack, "team-b", "natlink_approve"), 60, "the approval card")
    ok(driver.slash_command("alice", "#team-b", f"reject {request_id_of(card)} {HOSTILE}"))
    wait_for(lambda: find(slack, slack.user("bob"), "was rejected"), 60, "bob's DM")
    db = open_database(database(bot))
    wait_for(lambda: operations.list_operations(db)[0].state == "succeeded", 60, "the rejection to finish")
    seen = 0
    for channel in ("team-a", "team-b", slack.user("bob"), slack.user("alice")):
        for record in slack.messages(channel if channel.startswith("U") else slack.channel(channel)):
            for version in [record["message"], *record.get("history", [])]:
                text, blocks = version.get("text") or "", json.dumps(version.get("blocks") or [])
                seen += "evil.example" in text + blocks
                for raw in ("<!channel>", "<https://evil", "<@U0ADMIN>"):
                    assert raw not in text and raw not in blocks, (channel, text)
    assert seen >= 2, "the reasons reached the card and the DM, made inert"


def test_an_operation_abandoned_after_repeated_crashes_is_told_to_its_author(
    sandbox, slack, tmp_path
) -> None:
    """Also seen: an operation that went stale three times failed with nobody told."""
    sandbox.control("PUT", "settings", {"lro_seconds": 30})
    alice, bots = slack.user("alice"), []
    try:
        bots.append(start_bot(sandbox, slack, tmp_path))
        driver = Driver(f"{bots[0].url}/slack/events", slack.config)
        ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
        ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
        db = open_database(tmp_path / "natlink.db")
        for attempt in (1, 2, 3):
            wait_for(  # killed once a step is on record, so its progress message is (see issue 13's note)
                lambda n=attempt: (
                    (op := operations.list_operations(db)[0]).attempts == n
                    and op.state == "running"
                    and op.step is not None
                ),
                30,
                f"attempt {attempt} running",
            )
            bots[-1].process.kill()
            bots[-1].process.wait(10)
            bots.append(start_bot(sandbox, slack, tmp_path))
        told = wait_for(lambda: find(slack, "team-b", "OperationAbandoned"), 30, "alice to be told")
        assert "create rdp-vmb" in text_of(told) and "run the command again" in text_of(told)
        assert operations.list_operations(db)[0].state == "failed"
        trail = [(e.actor, e.action, e.outcome) for e in audit.list_entries(db)]
        assert (alice, "create", "failed") in trail
        stuck = [text_of(r) for r in slack.messages(slack.channel("team-b")) if "working" in text_of(r)]
        assert not stuck, stuck
    finally:
        for running in bots:
            if running.process.poll() is None:
                running.process.kill()
                running.process.wait(10)
