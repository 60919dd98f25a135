"""``natlink inventory`` as a user runs it: a separate process configured only by its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sandbox.arm.launch import RunningSandbox
from tests.arm_story import A_RG, B_RG, expose, pe_body
from tests.conftest import ROOT, TEAM_A, TEAM_B

MAPPING_KEYS = {
    "service",
    "connection",
    "status",
    "consumer_visible",
    "pe_ip",
    "port",
    "nat_ips",
    "frontend_ip",
    "backend_ip",
    "backend_port",
}


def natlink(sandbox: RunningSandbox, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = (
        os.environ
        | sandbox.environment()
        | {
            "NATLINK_ARM_URL": sandbox.arm_url,
            "NATLINK_CA_BUNDLE": sandbox.ca_bundle,
            "NATLINK_SUBSCRIPTIONS": f"{TEAM_A},{TEAM_B}",
        }
        | env
    )
    command = [sys.executable, "-m", "bot.cli", "inventory", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environ, cwd=ROOT, timeout=120)


def test_inventory_json_has_the_documented_shape(sandbox: RunningSandbox, net_a, net_b) -> None:
    pls = expose(net_b)
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-rdp", pe_body(pls.alias)).result()
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    try:
        done = natlink(sandbox, "--json")
    finally:
        sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": True})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"taken_at", "subscriptions", "unreadable", "services", "endpoints", "mappings"}
    assert [u["subscription"] for u in report["unreadable"]] == [TEAM_A]
    (mapping,) = report["mappings"]
    assert set(mapping) >= MAPPING_KEYS
    assert (mapping["status"], mapping["consumer_visible"], mapping["pe_ip"]) == ("Pending", False, None)
    assert (mapping["port"], mapping["nat_ips"], mapping["frontend_ip"]) == (3389, ["10.2.0.6"], "10.2.0.4")
    assert (mapping["backend_ip"], mapping["backend_port"]) == ("10.2.0.5", 3389)
    assert report["services"][0]["resource_group"] == B_RG


def test_inventory_tables(sandbox: RunningSandbox, net_a, net_b) -> None:
    pls = expose(net_b)
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-rdp", pe_body(pls.alias)).result()
    done = natlink(sandbox)
    assert done.returncode == 0, done.stderr
    assert (
        "CONSUMER_DESTINATION" in done.stdout and "10.0.0.5:3389" in done.stdout and "10.2.0.6" in done.stdout
    )


def test_a_bad_setting_exits_2_naming_the_variable(sandbox: RunningSandbox) -> None:
    done = natlink(sandbox, NATLINK_ARM_URL="http://127.0.0.1:1")
    assert done.returncode == 2 and "NATLINK_ARM_URL" in done.stderr and done.stdout == ""


def test_an_azure_failure_exits_1_with_code_and_hint(sandbox: RunningSandbox) -> None:
    done = natlink(sandbox, AZURE_CLIENT_SECRET="wrong")
    assert done.returncode == 1, done.stderr
    assert "ClientAuthenticationError" in done.stderr and "hint: Check AZURE_TENANT_ID" in done.stderr
