"""The model's checks can fail: each invariant is shown a world where natlink and Azure disagree.

These are plain records, no processes: they pin down what each check calls a discrepancy, so a
check that silently stopped looking would fail here rather than pass forever in the machine.
"""

from __future__ import annotations

from collections import Counter

from tests.model import checks
from tests.model.azure import Balancer, Connection, Service, Truth
from tests.model.checks import Memory
from tests.model.natlink import AuditRow, Request, View
from tests.model.natlink import Service as Stored
from tests.model.reports import Report, Reports, extract

PLS = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateLinkServices/svc-a"
OTHER_PLS = "/subscriptions/t/resourceGroups/h/providers/Microsoft.Network/privateLinkServices/svc-a"
PE = "/subscriptions/c/resourceGroups/g/providers/Microsoft.Network/privateEndpoints/pe-1"
PE2 = "/subscriptions/c/resourceGroups/g/providers/Microsoft.Network/privateEndpoints/pe-2"
LB = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/loadBalancers/natlink-lb-v-default"


def conn(
    status: str, token: str | None = "natlink:r-aaaaaa", pe: str = PE, pls: str = PLS, name: str = "c1"
) -> Connection:
    return Connection(
        f"{pls}/privateEndpointConnections/{name}", pls, "svc-a", pe, status, "", token, "10.0.0.5"
    )


def truth(
    *connections: Connection, services: tuple[str, ...] = (PLS,), balancers: tuple[Balancer, ...] = ()
) -> Truth:
    made = {
        s.lower(): Service(
            s, "svc-a", "svc-a.alias", True, (f"{LB}/frontendIPConfigurations/fe-svc-a".lower(),), "Succeeded"
        )
        for s in services
    }
    return Truth(made, connections, {PE.lower(): "natlink:r-aaaaaa"}, balancers)


def request(state: str, rid: str = "r-aaaaaa", pe: str | None = PE, updated: float = 100.0) -> Request:
    return Request(
        rid,
        "svc-a",
        "U0BOB",
        state,
        pe,
        "pe-1",
        f"{PLS}/privateEndpointConnections/c1",
        None,
        50.0,
        updated,
        None,
        None,
    )


def view(*requests: Request, state: str = "active", pls: str = PLS, audit: tuple[AuditRow, ...] = ()) -> View:
    return View({"svc-a": Stored("svc-a", pls, "svc-a.alias", state, 10.0)}, requests, (), audit)


def kinds(found: list[checks.Discrepancy]) -> set[str]:
    return {d.kind for d in found}


def approved_audit(rid: str = "r-aaaaaa") -> tuple[AuditRow, ...]:
    return (AuditRow(1, 90.0, "U0ALICE", "approve", "svc-a", "succeeded", rid),)


def test_agreement_is_no_discrepancy() -> None:
    found = checks.check(
        truth(conn("Approved")), view(request("approved"), audit=approved_audit()), Reports(), Memory(), 200.0
    )
    assert found == []


def test_an_approved_request_needs_its_approved_connection() -> None:
    found = checks.requests_match_azure(truth(conn("Pending")), view(request("approved")), Memory(), 200.0)
    assert kinds(found) == {"approved-request-without-exactly-one-approved-connection"}


def test_an_approved_request_on_another_endpoint_or_service() -> None:
    found = checks.requests_match_azure(
        truth(conn("Approved", pe=PE2)), view(request("approved")), Memory(), 200.0
    )
    assert "approved-connection-on-another-endpoint" in kinds(found)
    found = checks.requests_match_azure(
        truth(conn("Approved", pls=OTHER_PLS), services=(PLS, OTHER_PLS)),
        view(request("approved")),
        Memory(),
        200.0,
    )
    assert "approved-connection-on-another-service" in kinds(found)


def test_a_removed_request_must_not_leave_access() -> None:
    found = checks.requests_match_azure(truth(conn("Approved")), view(request("removed")), Memory(), 200.0)
    assert kinds(found) == {"removed-request-with-approved-connection"}


def test_a_portal_change_waits_for_a_sweep_but_not_for_natlink_own_writes() -> None:
    memory = Memory()
    memory.touch(f"{PLS}/privateEndpointConnections/c1", at=150.0)
    assert checks.requests_match_azure(truth(conn("Approved")), view(request("pending")), memory, 200.0) == []
    later = request("pending", updated=160.0)  # natlink wrote the request after the portal's change
    assert "pending-request-with-approved-connection" in kinds(
        checks.requests_match_azure(truth(conn("Approved")), view(later), memory, 200.0)
    )
    memory.swept(170.0)
    assert "pending-request-with-approved-connection" in kinds(
        checks.requests_match_azure(truth(conn("Approved")), view(request("pending")), memory, 200.0)
    )


def test_expiry_must_happen() -> None:
    late = Request("r-aaaaaa", "svc-a", "U0BOB", "approved", PE, "pe-1", None, 10.0, 5.0, 6.0, None, None)
    found = checks.requests_match_azure(
        truth(conn("Approved")), view(late), Memory(), 10.0 + checks.EXPIRY_GRACE + 1
    )
    assert kinds(found) == {"expiry-overdue"}


def test_access_natlink_does_not_show() -> None:
    found = checks.no_unshown_access(truth(conn("Approved", token="natlink:r-bbbbbb")), view(), Memory())
    assert kinds(found) == {"access-natlink-does-not-show"}
    memory = Memory(portal_endpoints={PE.lower(): 1.0})
    assert checks.no_unshown_access(truth(conn("Approved", token=None)), view(), memory) == []


def test_a_portal_connection_is_adopted_after_a_sweep() -> None:
    memory = Memory(portal_endpoints={PE.lower(): 1.0}, swept_at=5.0)
    found = checks.outside_connections_adopted(truth(conn("Pending", token=None)), view(), memory)
    assert kinds(found) == {"portal-connection-not-adopted-after-sweep"}
    memory.swept_at = 0.5  # made after the last sweep: not yet natlink's to know
    assert checks.outside_connections_adopted(truth(conn("Pending", token=None)), view(), memory) == []


def test_what_natlink_said_must_hold() -> None:
    said = Reports(said=[Report(150.0, "r-aaaaaa", "approved", "was approved")])
    found = checks.reports_match_azure(truth(conn("Pending")), view(request("pending")), said, Memory())
    assert kinds(found) == {"reported-approved-not-in-azure"}
    said = Reports(said=[Report(150.0, "r-aaaaaa", "removed", "was revoked")])
    found = checks.reports_match_azure(truth(conn("Approved")), view(request("approved")), said, Memory())
    assert kinds(found) == {"reported-removed-but-approved-in-azure"}


def test_a_deleted_service_was_reported_for_every_request() -> None:
    said = Reports(deleted=[(150.0, "svc-a")])
    found = checks.reports_match_azure(truth(conn("Approved")), view(request("approved")), said, Memory())
    assert kinds(found) == {"reported-removed-but-approved-in-azure"}


def test_an_approval_is_audited() -> None:
    rows = (AuditRow(1, 90.0, "U0ALICE", "request", "svc-a", "succeeded", "r-aaaaaa"),)
    found = checks.audit_matches(view(request("approved"), audit=rows), Reports(), Memory())
    assert kinds(found) == {"approved-without-an-audited-approval"}
    at_once = Reports(said=[Report(95.0, "r-aaaaaa", "approved", "Endpoint approved", on_request=True)])
    assert checks.audit_matches(view(request("approved"), audit=rows), at_once, Memory()) == []
    assert checks.audit_matches(view(request("approved"), audit=approved_audit()), Reports(), Memory()) == []


def test_a_service_keeps_its_private_link_service_for_life() -> None:
    memory = Memory(lives={"svc-a": OTHER_PLS.lower()})
    found = checks.services_match_azure(truth(), view(), memory)
    assert "service-re-pointed" in kinds(found)
    found = checks.services_match_azure(truth(services=(PLS, OTHER_PLS)), view(), Memory())
    assert "natlink-service-in-azure-natlink-does-not-show" in kinds(found)
    assert "active-service-missing-in-azure" in kinds(
        checks.services_match_azure(truth(services=()), view(), Memory())
    )


def test_a_deleted_service_leaves_no_load_balancer_parts() -> None:
    lb = Balancer(LB, "natlink-lb-v-default", True, ("fe-svc-a", "pool-svc-a", "rule-svc-a-443", "fe-svc-b"))
    found = checks.services_match_azure(truth(services=(), balancers=(lb,)), view(state="deleted"), Memory())
    assert kinds(found) == {"deleted-service-left-lb-parts"}
    assert "fe-svc-b" not in found[0].detail


def test_what_a_failed_create_left_is_excused_until_the_service_uses_it() -> None:
    lb = Balancer(LB, "natlink-lb-v-default", True, ("fe-svc-a", "pool-svc-a"))
    memory = Memory()
    left = truth(services=(), balancers=(lb,))
    memory.excuse_leftovers(left, view(state="deleted"), create_failed={"svc-a"})
    assert checks.services_match_azure(left, view(state="deleted"), memory) == []
    memory.excuse_leftovers(
        truth(balancers=(lb,)), view(), create_failed=set()
    )  # a create that worked uses them
    assert "deleted-service-left-lb-parts" in kinds(
        checks.services_match_azure(left, view(state="deleted"), memory)
    )


def test_one_card_per_request_and_one_for_each_waiting_request() -> None:
    found = checks.cards(view(request("pending")), Reports(cards_posted=Counter({"r-aaaaaa": 2})))
    assert kinds(found) == {"approval-card-posted-more-than-once"}
    assert kinds(checks.cards(view(request("pending")), Reports())) == {"pending-request-without-a-card"}


def test_the_map_shows_exactly_what_azure_holds() -> None:
    row = "*svc-a* Approved: VM-Win2019 10.0.0.4 → 10.0.0.5:3389 ⇒ NAT 10.2.0.6 → natlink-lb-temp-vnet-default 10.2.0.4:3389 → VM 10.2.0.5:3389 (sees 10.2.0.6)"
    assert checks.map_matches([row], truth(conn("Approved")), view()) == []
    assert kinds(checks.map_matches([row], truth(conn("Pending")), view())) == {"map-differs-from-azure"}
    assert kinds(checks.map_matches([], truth(conn("Approved")), view())) == {"map-differs-from-azure"}


def test_reports_are_read_from_what_natlink_posted() -> None:
    calls = [
        {
            "method": "chat.postMessage",
            "status": 200,
            "time": 1.0,
            "response": {"ok": True},
            "args": {
                "text": "card",
                "blocks": [
                    {"type": "actions", "elements": [{"action_id": "natlink_approve", "value": "r-aaaaaa"}]}
                ],
            },
        },
        {
            "method": "chat.update",
            "status": 200,
            "time": 2.0,
            "response": {"ok": True},
            "args": {"text": "svc-a: r-aaaaaa approved", "blocks": []},
        },
        {
            "method": "response_url",
            "status": 200,
            "time": 3.0,
            "response": {"ok": True},
            "args": {
                "text": "x",
                "blocks": [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "`r-aaaaaa` for *svc-a* was revoked by <@U0ALICE>; its endpoint is now Disconnected.",
                        },
                    }
                ],
            },
        },
        {
            "method": "chat.postMessage",
            "status": 200,
            "time": 4.0,
            "response": {"ok": False},
            "args": {"text": "`r-bbbbbb` for *svc-a* was approved by <@U0ALICE>"},
        },
    ]
    said = extract(calls)
    assert said.cards_posted == Counter({"r-aaaaaa": 1})
    assert [(r.request, r.state) for r in said.said] == [("r-aaaaaa", "approved"), ("r-aaaaaa", "removed")]


def _said(line: str) -> list[tuple[str, str]]:
    """What the model reads from one message natlink posted: (request, state) per report."""
    posted = {"method": "chat.postMessage", "status": 200, "time": 1.0, "response": {"ok": True}}
    return [(r.request, r.state) for r in extract([{**posted, "args": {"text": line}}]).said]


def test_a_request_a_forced_delete_closed_is_reported_removed() -> None:
    line = "`r-cccccc` for *svc-a* is closed: service *svc-a* is being deleted by <@U0ALICE>; its connection was rejected."
    assert _said(line) == [("r-cccccc", "removed")]


def test_a_step_natlink_could_not_read_azure_for_leaves_the_portal_change_unseen() -> None:
    """natlink's approval failed because every read of the connections did: it learned nothing of
    the portal's earlier change, which stays for the next sweep to notice."""
    memory = Memory()
    memory.touch(f"{PLS}/privateEndpointConnections/c1", at=150.0)
    failed_approval = request("pending", updated=160.0)  # the card reopened after the unreadable read
    assert "pending-request-with-approved-connection" in kinds(
        checks.requests_match_azure(truth(conn("Approved")), view(failed_approval), memory, 200.0)
    )
    memory.unseen(at=165.0)
    assert checks.requests_match_azure(truth(conn("Approved")), view(failed_approval), memory, 200.0) == []


def test_a_status_change_of_a_request_made_outside_natlink_is_read() -> None:
    """Soak seed 534693630: the sweep's line for a portal endpoint's request named no request, so
    the model kept natlink's earlier word ('Azure refused to approve') as its latest."""
    line = "*svc-a*: the connection of endpoint *portal-pe-1* (`r-dddddd`, made outside natlink) went from Pending to *Approved* outside natlink."
    assert _said(line) == [("r-dddddd", "approved")]
