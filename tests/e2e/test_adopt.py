"""Issue 11 section 2 from Slack: `/natlink adopt` takes on the private link services the seed
world's Terraform and AKS made, posts their waiting connections' cards, and never changes them;
`forget` drops them, `delete` and `create` refuse them, `adopt --scan` lists them."""

from __future__ import annotations

import pytest
from azure.mgmt.network import NetworkManagementClient

from sandbox.arm.seed import AKS_GROUP, AKS_LB, AKS_PLS, TF_ENDPOINTS, TF_GROUP, TF_PLS
from storage import audit, services
from storage.database import open_database
from tests.arm_story import B_RG, create_lb, disable_pls_policies, pls_body
from tests.conftest import TEAM_B
from tests.e2e.harness import (
    arm_count,
    database,
    ephemerals,
    find,
    ok,
    request_id_of,
    text_of,
    wait_for,
)

AKS_ID = f"/subscriptions/{TEAM_B}/resourceGroups/{AKS_GROUP}/providers/Microsoft.Network/privateLinkServices/{AKS_PLS}"
SCOPE = f"{TEAM_B}/{TF_GROUP}"


@pytest.fixture(autouse=True)
def seed_world(sandbox) -> None:
    """The sandbox's default world, with the services natlink did not make (the other tests run on
    the walkthrough alone)."""
    sandbox.control("POST", "reset", {"world": "seed"})


def _azure(net_b: NetworkManagementClient) -> dict[str, str | None]:
    """The Terraform service's connections as Azure holds them: endpoint name → status."""
    pls = net_b.private_link_services.get(TF_GROUP, TF_PLS)
    return {
        c.private_endpoint.id.rsplit("/", 1)[1]: c.private_link_service_connection_state.status
        for c in pls.private_endpoint_connections
    }


def _cards(slack) -> list[dict]:
    return [r for r in slack.messages(slack.channel("team-b")) if "natlink_approve" in text_of(r)]


def _adopt_orders(driver, slack) -> str:
    alice = slack.user("alice")
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {SCOPE}"))
    ok(driver.slash_command("alice", "#team-b", f"adopt {TF_PLS} --channel <#C0TEAMB|team-b>"))
    return text_of(wait_for(lambda: find(slack, "team-b", f"{TF_PLS} adopted"), 60, "the adoption"))


def test_the_terraform_service_gets_two_cards_and_one_approval_reaches_azure(
    bot, driver, slack, net_b: NetworkManagementClient
) -> None:
    before = _azure(net_b)
    assert before == dict.fromkeys(TF_ENDPOINTS, "Pending")
    adopted = _adopt_orders(driver, slack)
    assert "lb-orders-api" in adopted and "2 connection(s) wait for a decision" in adopted
    assert "instance vmss-orders-api_0 10.5.0.4:443" in adopted, "the backends are read from Azure"

    cards = wait_for(lambda: len(_cards(slack)) == 2 and _cards(slack), 60, "two approval cards")
    assert {pe for pe in TF_ENDPOINTS for card in cards if pe in text_of(card)} == set(TF_ENDPOINTS)
    batch = next(c for c in cards if TF_ENDPOINTS[0] in text_of(c))
    ok(driver.click("alice", "#team-b", batch["message"]["ts"], "natlink_approve"))
    wait_for(
        lambda: "Approved* by" in text_of(slack.messages(batch["channel"], ts=batch["message"]["ts"])[0]),
        60,
        "the card to show the approval",
    )
    approved = {TF_ENDPOINTS[0]: "Approved", TF_ENDPOINTS[1]: "Pending"}
    wait_for(lambda: _azure(net_b) == approved, 60, "Azure to hold the approval")

    # Reject and revoke touch only the connection, as for natlink's own services.
    reports = next(c for c in cards if TF_ENDPOINTS[1] in text_of(c))
    ok(driver.slash_command("alice", "#team-b", f"reject {request_id_of(reports)} not this quarter"))
    rejected = {TF_ENDPOINTS[0]: "Approved", TF_ENDPOINTS[1]: "Rejected"}
    wait_for(lambda: _azure(net_b) == rejected, 60, "Azure to hold the rejection")
    ok(driver.slash_command("alice", "#team-b", f"revoke {request_id_of(batch)}"))
    wait_for(lambda: _azure(net_b).get(TF_ENDPOINTS[0], "gone") != "Approved", 60, "the revoke")
    assert net_b.private_link_services.get(TF_GROUP, TF_PLS).provisioning_state == "Succeeded"

    # Adopting it again, by name or by resource ID, is refused before anything is queued.
    again = ok(driver.slash_command("admin", "#team-b", f"adopt {TF_PLS}"))
    assert "already knows" in str(again) and "(adopted)" in str(again)


def test_natlink_never_changes_an_adopted_service(bot, driver, slack, sandbox, net_b) -> None:
    _adopt_orders(driver, slack)
    wait_for(lambda: len(_cards(slack)) == 2, 60, "two approval cards")
    lb_before = net_b.load_balancers.get(TF_GROUP, "lb-orders-api").as_dict()
    writes = arm_count(sandbox, "PUT", "") + arm_count(sandbox, "DELETE", "")
    alice = slack.user("alice")

    # create under the adopted name: refused before Azure is read for it.
    ok(driver.slash_command("alice", "#team-b", f"create {TF_PLS} --vm VM-Win2019-2 --port 3389"))
    wait_for(
        lambda: ephemerals(slack, "team-b", alice, "is adopted") or find(slack, "team-b", "is adopted"),
        60,
        "create's refusal",
    )

    # delete points at forget, and deletes nothing.
    ok(driver.slash_command("alice", "#team-b", f"delete {TF_PLS} --force"))
    refusal = wait_for(lambda: find(slack, "team-b", "not natlink's to delete"), 60, "delete's refusal")
    assert f"/natlink forget {TF_PLS}" in text_of(refusal)

    ok(driver.slash_command("alice", "#team-b", f"forget {TF_PLS}"))
    wait_for(lambda: find(slack, "team-b", f"{TF_PLS} forgotten"), 60, "forget")
    db = open_database(database(bot))
    assert services.get_service(db, TF_PLS).state == "deleted"
    closed = wait_for(
        lambda: all(
            "natlink_approve" not in text_of(slack.messages(c["channel"], ts=c["message"]["ts"])[0])
            for c in _cards(slack)
        ),
        30,
        "the cards to lose their buttons",
    )
    assert closed
    assert arm_count(sandbox, "PUT", "") + arm_count(sandbox, "DELETE", "") == writes, (
        "natlink wrote nothing to Azure"
    )
    assert _azure(net_b) == dict.fromkeys(TF_ENDPOINTS, "Pending")
    assert net_b.load_balancers.get(TF_GROUP, "lb-orders-api").as_dict() == lb_before
    trail = [(e.action, e.outcome) for e in audit.list_entries(db, limit=100) if e.target == TF_PLS]
    assert ("forget", "succeeded") in trail and ("delete", "succeeded") not in trail

    # Forgotten, it can be adopted again: the connections still waiting get their cards back.
    ok(driver.slash_command("alice", "#team-b", f"adopt {TF_PLS}"))
    again = wait_for(lambda: len(_cards(slack)) == 2 and _cards(slack), 60, "new cards, with buttons")
    assert {pe for pe in TF_ENDPOINTS for card in again if pe in text_of(card)} == set(TF_ENDPOINTS)


def test_the_aks_service_by_resource_id(bot, driver, slack) -> None:
    ok(
        driver.slash_command(
            "admin", "#team-b", f"adopt {AKS_ID} --name orders-web --owners <@U0ALICE|alice>"
        )
    )
    adopted = text_of(wait_for(lambda: find(slack, "team-b", "orders-web adopted"), 60, "the adoption"))
    assert AKS_LB in adopted and "No connection waits" in adopted
    assert "instance aks-nodepool1-25419131-vmss_0 10.224.0.5:8080 (running)" in adopted
    ok(driver.slash_command("alice", "#team-b", "status orders-web"))
    status = wait_for(lambda: find(slack, "team-b", "orders-web* ok", ephemeral=True), 60, "its status")
    assert "2 of 2 backends running" in text_of(status)


def test_who_may_adopt_and_the_refusals_are_audited(bot, driver, slack, net_b) -> None:
    bob, carol = slack.user("bob"), slack.user("carol")
    db = open_database(database(bot))

    # bob holds no create grant: refused at once, nothing queued, audited.
    refused = ok(driver.slash_command("bob", "#team-b", f"adopt {TF_PLS}"))
    assert "you hold no *create* grant" in str(refused)
    # carol's grant covers another resource group: refused once Azure says where the service is.
    ok(driver.slash_command("admin", "#team-b", f"grant <@{carol}|carol> create {TEAM_B}/rg-team-b"))
    ok(driver.slash_command("carol", "#team-b", f"adopt {TF_PLS}"))
    wait_for(lambda: find(slack, "team-b", f"no create grant covering {SCOPE}"), 60, "carol's refusal")
    trail = [(e.actor, e.action, e.outcome) for e in audit.list_entries(db, limit=100)]
    assert (bob, "adopt", "denied") in trail and (carol, "adopt", "denied") in trail
    assert services.get_service(db, TF_PLS) is None
    assert _azure(net_b) == dict.fromkeys(TF_ENDPOINTS, "Pending")
    assert not _cards(slack)


def test_scan_lists_what_natlink_could_adopt(bot, driver, slack) -> None:
    ok(driver.slash_command("admin", "#team-b", "adopt --scan"))
    listed = text_of(wait_for(lambda: find(slack, "team-b", "could adopt"), 60, "the scan"))
    assert f"*{TF_PLS}* in `{TEAM_B}`/{TF_GROUP}, load balancer lb-orders-api: 2 pending of 2" in listed
    assert f"*{AKS_PLS}* in `{TEAM_B}`/{AKS_GROUP}, load balancer {AKS_LB}: 0 pending of 0" in listed

    _adopt_orders(driver, slack)
    ok(driver.slash_command("admin", "#team-b", f"adopt --scan {TEAM_B}"))
    again = wait_for(
        lambda: [r for r in slack.messages(slack.channel("team-b")) if "could adopt" in text_of(r)][1:],
        60,
        "the second scan",
    )
    assert TF_PLS not in text_of(again[0]) and AKS_PLS in text_of(again[0])


def test_a_service_natlink_made_is_not_adopted(bot, driver, slack, net_b) -> None:
    """natlink's tag says who made it, even when natlink's records do not know it (a lost database)."""
    create_lb(net_b)
    disable_pls_policies(net_b)
    body = pls_body() | {"tags": {"managed-by": "natlink", "natlink": "pls-rdp"}}
    net_b.private_link_services.begin_create_or_update(B_RG, "pls-rdp", body).result()
    ok(driver.slash_command("admin", "#team-b", "adopt pls-rdp"))
    refusal = wait_for(lambda: find(slack, "team-b", "natlink made *pls-rdp*"), 60, "the refusal")
    assert "nothing to adopt" in text_of(refusal)
    assert services.get_service(open_database(database(bot)), "pls-rdp") is None


def test_an_owner_channel_natlink_cannot_post_in_is_refused_before_anything_is_recorded(
    bot, driver, slack
) -> None:
    ops = slack.control("POST", "channels", {"name": "ops", "private": False})["id"]
    ok(driver.slash_command("admin", "#team-b", f"adopt {TF_PLS} --channel <#{ops}|ops>"))
    refusal = wait_for(lambda: find(slack, "team-b", f"natlink is not in <#{ops}>"), 60, "the refusal")
    assert "/invite @natlink" in text_of(refusal) and "Nothing was recorded" in text_of(refusal)
    assert services.get_service(open_database(database(bot)), TF_PLS) is None
    assert not _cards(slack)


def test_a_connection_approved_before_adoption_can_be_revoked(
    bot, driver, slack, net_b: NetworkManagementClient
) -> None:
    """Terraform approved one endpoint itself (auto-approval, or by hand): after adoption natlink
    records it, names it in the reply, and revoke reaches it."""
    pls = net_b.private_link_services.get(TF_GROUP, TF_PLS)
    first = next(c for c in pls.private_endpoint_connections if TF_ENDPOINTS[0] in c.private_endpoint.id)
    first.private_link_service_connection_state.status = "Approved"
    net_b.private_link_services.update_private_endpoint_connection(TF_GROUP, TF_PLS, first.name, first)
    adopted = _adopt_orders(driver, slack)
    assert "1 connection(s) wait for a decision" in adopted
    assert "1 connection(s) were already approved" in adopted and TF_ENDPOINTS[0] in adopted
    request_id = adopted.split("already approved: `", 1)[1].split("`", 1)[0]
    ok(driver.slash_command("alice", "#team-b", f"revoke {request_id}"))
    wait_for(
        lambda: _azure(net_b).get(TF_ENDPOINTS[0], "gone") != "Approved", 60, "the revoke to reach Azure"
    )
    assert _azure(net_b)[TF_ENDPOINTS[1]] == "Pending", "the other connection is left as it was"
