"""An Azure failure in the middle of create: a readable end, a record of it, and a rerun that converges."""

from __future__ import annotations

from storage import audit, operations, services
from storage.database import open_database
from tests.conftest import TEAM_B
from tests.e2e.harness import arm_count, database, find, ok, text_of, wait_for

CREATE = "create rdp-vmb --vm VM-Win2019-2 --port 3389"


def test_failed_create_is_reported_and_a_rerun_converges(bot, driver, slack, sandbox, net_b) -> None:
    alice = slack.user("alice")
    lbs_before = {lb.name for lb in net_b.load_balancers.list_all()}
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    sandbox.control("POST", "lro-failures", {"type": "privateLinkServices", "code": "InternalServerError"})

    ok(driver.slash_command("alice", "#team-b", CREATE))
    failed = wait_for(
        lambda: find(slack, "team-b", "InternalServerError", ephemeral=True), 60, "the create to fail"
    )
    body = text_of(failed)
    assert "Traceback" not in body
    public = text_of(find(slack, "team-b", "/natlink create rdp-vmb", ephemeral=False))
    assert ":x:" in public and "by <@" in public, "the progress message ends marked failed, naming who ran it"
    assert "InternalServerError" not in public, "why it failed goes only to the person who ran it"
    assert "create rdp-vmb* did not finish" in body, body
    assert "failed at step" in body and "private link service" in body.lower(), body
    assert "Already in Azure" in body and "load balancer" in body.lower(), body
    assert failed["message"]["text"].strip(), "a readable fallback text"

    db = open_database(database(bot))
    op = wait_for(lambda: operations.list_operations(db)[0], 10, "the operation")
    assert op.kind == "create" and op.state == "failed", op
    assert "InternalServerError" in (op.error or ""), op.error
    assert (alice, "create", "failed") in [(e.actor, e.action, e.outcome) for e in audit.list_entries(db)]
    assert services.get_service(db, "rdp-vmb") is None
    lbs_after_failure = {lb.name for lb in net_b.load_balancers.list_all()}
    made = lbs_after_failure - lbs_before
    assert len(made) == 1, made

    # Running the same command again finishes the job, reusing the load balancer.
    ok(driver.slash_command("alice", "#team-b", CREATE))
    done = wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "the rerun to finish")
    assert ".japaneast.azure.privatelinkservice" in text_of(done)
    assert {lb.name for lb in net_b.load_balancers.list_all()} == lbs_after_failure, "no second LB"
    assert [s.name for s in net_b.private_link_services.list_by_subscription()].count("rdp-vmb") == 1
    (lb_name,) = made
    assert arm_count(sandbox, "PUT", "/loadBalancers/") == arm_count(
        sandbox, "PUT", f"/loadBalancers/{lb_name}"
    )
    assert services.get_service(db, "rdp-vmb").alias
    assert operations.list_operations(db)[0].state == "succeeded"
