"""Issue 9: natlink meets Azure's rules before it writes, and tells the person what to do.

Rule 4: Azure never approves a rejected connection, also when the rejection was made in the
portal; natlink records the rejection, tells both sides the way on, and never reopens the card.
Rule 5: names natlink sends or makes obey each resource type's rule.
"""

from __future__ import annotations

from cloud.tokens import token
from storage import requests, services
from storage.database import open_database
from tests.arm_story import A_RG, pe_body
from tests.e2e.harness import (
    create_rdp_vmb,
    database,
    find,
    ok,
    pending_request,
    request_id_of,
    text_of,
    wait_for,
)

B_RG, SERVICE = "rg-team-b", "rdp-vmb"


def _reject_in_portal(net_b) -> None:
    (conn,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, SERVICE)
    conn.private_link_service_connection_state.status = "Rejected"
    conn.private_link_service_connection_state.description = "no, says the portal"
    net_b.private_link_services.update_private_endpoint_connection(B_RG, SERVICE, conn.name, conn)


def test_approving_a_connection_rejected_in_the_portal(bot, driver, slack, sandbox, net_a, net_b) -> None:
    card = pending_request(driver, slack)
    request_id, ts = request_id_of(card), card["message"]["ts"]
    _reject_in_portal(net_b)
    sandbox.control("DELETE", "requests")

    ok(driver.click("alice", "#team-b", ts, "natlink_approve"))
    bob = slack.user("bob")
    told = wait_for(lambda: find(slack, bob, "already rejected in Azure"), 60, "bob to be told")
    assert f"/natlink request {SERVICE} --vnet RG-normal-vnet --subnet default" in text_of(told)
    db = open_database(database(bot))
    settled = requests.get_request(db, request_id)
    assert (settled.state, settled.decided_by) == ("rejected", None), "nobody in natlink is credited"
    shown = slack.messages(card["channel"], ts=ts)[0]
    assert "natlink_approve" not in str(shown["message"]), "the card is not reopened"
    assert "Rejected* outside natlink" in text_of(shown)
    puts = [k for k in sandbox.control("GET", "requests")["counts"] if k.startswith("PUT ")]
    assert puts == [], "natlink made no write"

    ok(driver.slash_command("bob", "#team-a", f"request {SERVICE} --vm VM-Win2019"))
    wait_for(
        lambda: len(requests.list_requests(db)) == 2 and requests.list_requests(db)[1].state == "pending",
        60,
        "the new request",
    )
    again = requests.list_requests(db)[1]
    (pe,) = net_a.private_endpoints.list_by_subscription()
    assert pe.tags["natlink-token"] == token(again.id), "the rejected endpoint was replaced"
    (conn,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, SERVICE)
    assert conn.private_link_service_connection_state.status == "Pending"


def test_approving_a_request_whose_endpoint_was_deleted_in_the_portal(
    bot, driver, slack, sandbox, net_a, net_b
) -> None:
    """Found by the soak: the endpoint went before any sweep saw it; the click read Azure, found no
    connection, and natlink still showed the request waiting."""
    card = pending_request(driver, slack)
    request_id, ts = request_id_of(card), card["message"]["ts"]
    (pe,) = net_a.private_endpoints.list_by_subscription()
    net_a.private_endpoints.begin_delete(A_RG, pe.name).result()

    ok(driver.click("alice", "#team-b", ts, "natlink_approve"))
    bob = slack.user("bob")
    told = wait_for(lambda: find(slack, bob, "is gone; there is nothing to decide"), 60, "bob to be told")
    assert f"/natlink request {SERVICE} --vnet RG-normal-vnet --subnet default" in text_of(told)
    assert requests.get_request(open_database(database(bot)), request_id).state == "gone"
    shown = slack.messages(card["channel"], ts=ts)[0]
    assert "natlink_approve" not in str(shown["message"]) and "Gone: its connection was removed" in text_of(
        shown
    )


def test_an_endpoint_name_azure_would_refuse_is_never_sent(bot, driver, slack, sandbox) -> None:
    """Rule 5: a private endpoint takes 2-64 characters; a 70-character one used to reach Azure."""
    create_rdp_vmb(driver, slack)
    sandbox.control("DELETE", "requests")
    answer = ok(
        driver.slash_command("bob", "#team-a", f"request {SERVICE} --vm VM-Win2019 --name {'p' * 70}")
    )
    assert "Azure allows 2 to 64 for a private endpoint" in str(answer), answer
    assert not [k for k in sandbox.control("GET", "requests")["counts"] if "privateEndpoints" in k]


def test_create_survives_a_late_another_operation_in_progress(bot, driver, slack, sandbox, net_b) -> None:
    """Rule 8: ARM fails the load balancer's long-running PUT with AnotherOperationInProgress (the
    operation's error, not the request's); natlink sends the same PUT again and the service is made."""
    sandbox.control(
        "POST", "lro-failures", {"type": "loadBalancers", "code": "AnotherOperationInProgress", "count": 1}
    )
    sandbox.control("DELETE", "requests")
    done = create_rdp_vmb(driver, slack)
    assert "failed" not in text_of(done), text_of(done)
    lb_puts = [
        r["status"]
        for r in sandbox.control("GET", "requests")["recent"]
        if r["method"] == "PUT" and "/loadBalancers/natlink-lb" in r["path"]
    ]
    assert lb_puts == [201, 200], "the load balancer's PUT was sent again after the late failure"
    (lb,) = [b for b in net_b.load_balancers.list(B_RG) if b.name.startswith("natlink-lb")]
    assert lb.provisioning_state == "Succeeded"
    assert net_b.private_link_services.get(B_RG, SERVICE).provisioning_state == "Succeeded"


def test_status_and_drift_go_on_while_azure_monitor_fails(bot, driver, slack, sandbox, net_a) -> None:
    """Rule 9: every Azure Monitor read fails; a refresh still answers with the service's status, and
    an endpoint made in the portal still gets its approval card."""
    create_rdp_vmb(driver, slack)
    (service,) = services.list_services(open_database(database(bot)))
    sandbox.control(
        "POST", "faults", {"method": "GET", "path": "Insights/metrics", "status": 500, "count": 1000}
    )
    net_a.private_endpoints.begin_create_or_update(
        A_RG, "pe-portal", pe_body(service.alias, "from the portal")
    ).result()
    ok(driver.slash_command("alice", "#team-b", f"status {SERVICE} --refresh"))
    status = wait_for(lambda: find(slack, "team-b", "this refresh read Azure"), 60, "the refreshed status")
    assert f"*{SERVICE}* ok" in text_of(status) and "connections 1 pending" in text_of(status)
    card = wait_for(lambda: find(slack, "team-b", "natlink_approve"), 60, "the portal endpoint's card")
    assert "pe-portal" in text_of(card)
