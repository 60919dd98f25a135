"""A delete that Azure interrupted is finished by running it again, and only then called done (issue 13).

The load balancer is shared by two services, so removing one service's parts is a PUT of the LB;
that PUT is refused. natlink must keep its records, say the delete failed, and on a rerun remove
what is left (the frontend holding a subnet address, its rule, probe and pool) before it says
"deleted". Azure itself is read through the SDK to judge.
"""

from __future__ import annotations

from storage import operations, requests, services
from storage.database import open_database
from tests.e2e.harness import database, find, ok, pending_request, request_id_of, wait_for

LB = "natlink-lb-temp-vnet-default"
GROUP = "rg-team-b"


def _lb_parts(net_b) -> dict[str, list[str]]:
    lb = net_b.load_balancers.get(GROUP, LB)
    return {
        "frontends": sorted(f.name for f in lb.frontend_ip_configurations or []),
        "pools": sorted(p.name for p in lb.backend_address_pools or []),
        "probes": sorted(p.name for p in lb.probes or []),
        "rules": sorted(r.name for r in lb.load_balancing_rules or []),
    }


def _deletes(db) -> list[str]:
    return [op.state for op in reversed(operations.list_operations(db)) if op.kind == "delete"]


def _delete(driver, db, count: int) -> list[str]:
    """alice forces the delete of rdp-vmb; wait for that (the ``count``-th) delete to end."""
    ok(driver.slash_command("alice", "#team-b", "delete rdp-vmb --force"))
    return wait_for(
        lambda: (
            (done := _deletes(db)) and len(done) == count and done[-1] in ("failed", "succeeded") and done
        ),
        60,
        f"delete #{count} to end",
    )


def test_a_delete_the_lb_refused_is_finished_by_a_rerun(bot, driver, slack, sandbox, net_b) -> None:
    request_id = request_id_of(pending_request(driver, slack))
    ok(driver.slash_command("alice", "#team-b", "create ssh-vmb --vm VM-Win2019-2 --port 22"))
    wait_for(lambda: find(slack, "team-b", "ssh-vmb is exposed"), 60, "ssh-vmb to share the LB")
    sandbox.control(
        "POST",
        "faults",
        {"method": "PUT", "path": f"/loadBalancers/{LB}$", "status": 409, "code": "Conflict", "count": 2},
    )
    db = open_database(database(bot))

    assert _delete(driver, db, 1) == ["failed"]
    assert "rdp-vmb" not in [s.name for s in net_b.private_link_services.list_by_subscription()]
    assert "fe-rdp-vmb" in _lb_parts(net_b)["frontends"], "the LB PUT was refused"
    assert _delete(driver, db, 2) == ["failed", "failed"], "a rerun Azure refuses again is no success"
    assert not find(slack, "team-b", "rdp-vmb deleted")
    assert services.get_service(db, "rdp-vmb").state != "deleted", "records stay until Azure is clean"
    assert requests.get_request(db, request_id).state == "removed", (
        "its connection was rejected, then the PLS went"
    )

    assert _delete(driver, db, 3) == ["failed", "failed", "succeeded"]
    wait_for(lambda: find(slack, "team-b", "rdp-vmb deleted"), 30, "the deleted reply")
    assert _lb_parts(net_b) == {
        "frontends": ["fe-ssh-vmb"],
        "pools": ["pool-ssh-vmb"],
        "probes": ["probe-ssh-vmb-22"],
        "rules": ["rule-ssh-vmb-22"],
    }
    subnet = net_b.subnets.get(GROUP, "temp-vnet", "default")
    assert not [c.id for c in subnet.ip_configurations or [] if "fe-rdp-vmb" in c.id.lower()], "address freed"
    nic = net_b.network_interfaces.get(GROUP, "vm-win2019-2-nic")
    pools = [p.id.rsplit("/", 1)[1] for p in nic.ip_configurations[0].load_balancer_backend_address_pools]
    assert pools == ["pool-ssh-vmb"]
    assert services.get_service(db, "rdp-vmb").state == "deleted"
    assert requests.get_request(db, request_id).state == "removed"


def test_connections_a_failed_forced_delete_rejected_close_their_requests(
    bot, driver, slack, sandbox, net_b
) -> None:
    """Found by the soak (seed 534693630): ``delete --force`` rejected the open connections, then
    Azure failed the private link service's DELETE. The requests stayed pending while Azure held
    them Rejected; each must be closed as it is rejected, and its requester told."""
    request_id = request_id_of(pending_request(driver, slack))
    sandbox.control("POST", "lro-failures", {"type": "privateLinkServices", "code": "InternalServerError"})
    db = open_database(database(bot))

    assert _delete(driver, db, 1) == ["failed"]
    pls = net_b.private_link_services.get(GROUP, "rdp-vmb")
    assert [c.private_link_service_connection_state.status for c in pls.private_endpoint_connections] == [
        "Rejected"
    ]
    assert requests.get_request(db, request_id).state == "removed", (
        "Azure rejected it: it is no longer pending"
    )
    assert services.get_service(db, "rdp-vmb").state == "active", "the service is still in Azure"
    wait_for(lambda: find(slack, "team-b", "rejected"), 30, "the failed delete's reply to name the rejection")
    wait_for(lambda: find(slack, slack.user("bob"), "rdp-vmb"), 30, "bob to learn his request was closed")
    card = wait_for(lambda: find(slack, "team-b", "being deleted"), 30, "the card to close")
    assert "natlink_approve" not in str(card["message"].get("blocks")), "no buttons left on a closed card"

    assert _delete(driver, db, 2) == ["failed", "succeeded"]
    assert "rdp-vmb" not in [s.name for s in net_b.private_link_services.list_by_subscription()]
    assert requests.get_request(db, request_id).state == "removed"
