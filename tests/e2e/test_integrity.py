"""Access is exactly what natlink says it is: each reproduction from the red-team pass (issue 13).

Every test here ends by reading Azure itself, through the real SDK, and comparing it with what
natlink told people and recorded.
"""

from __future__ import annotations

from storage import operations, requests
from storage.database import open_database
from tests.e2e.harness import (
    database,
    ephemerals,
    find,
    ok,
    pending_request,
    request_id_of,
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
    kinds = [(op.kind, op.state) for op in operations.list_operations(db)]
    assert kinds.count(("approve", "failed")) == 1 and kinds.count(("approve", "succeeded")) == 1, kinds
    assert not ephemerals(slack, "team-b", slack.user("alice"), "already approved")
    bob = slack.user("bob")
    told = wait_for(lambda: find(slack, bob, "was approved"), 30, "bob's DM")
    assert "10.2.0." in text_of(told), "the requester gets the mapping"
