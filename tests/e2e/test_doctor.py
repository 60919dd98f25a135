"""``natlink doctor`` as an operator runs it, and ``natlink serve`` refusing to start on a blocker:
real child processes, the real SDKs, against the two stand-ins."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud import roles
from sandbox.arm.launch import RunningSandbox
from sandbox.slack.launch import RunningSlack
from tests.conftest import TEAM_A, TEAM_B
from tests.e2e.harness import environment, start_bot

SCOPES = {"provider": f"/subscriptions/{TEAM_B}", "consumer": f"/subscriptions/{TEAM_A}"}
WITHOUT = "Microsoft.Network/privateLinkServices/write"


def doctor(
    arm: RunningSandbox, slack: RunningSlack, tmp_path: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = environment(arm, slack, tmp_path / "natlink.db", 3000, **extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def without_pls_write(sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """natlink's two roles, the provider's without one action; each assigned on its side's subscription."""
    for side, scope in SCOPES.items():
        role = roles.definition(side, [scope])
        if side == "provider":
            role["Actions"] = [a for a in role["Actions"] if a != WITHOUT]  # type: ignore[union-attr]
        sandbox.control("POST", "role-definitions", role)
    assignments = [{"role": roles.ROLE_NAMES[s], "scope": scope} for s, scope in SCOPES.items()]
    principal = sandbox.config["client_id"]
    sandbox.control("PUT", "role-assignments", {"principal": principal, "assignments": assignments})
    yield sandbox
    sandbox.control("DELETE", "role-assignments", {})


def test_a_sound_deployment_is_all_ticks(
    sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path
) -> None:
    ran = doctor(sandbox, slack, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    rows = ran.stdout.splitlines()
    assert rows and all(row.startswith(("✓", " ")) for row in rows), ran.stdout
    for sub in (TEAM_A, TEAM_B):
        assert f"✓ Azure permissions {sub}" in ran.stdout
        assert f"✓ Azure Monitor {sub}" in ran.stdout
    assert "✓ Slack auth.test and scopes" in ran.stdout and "✓ database" in ran.stdout


def test_a_missing_slack_scope_is_named(sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path) -> None:
    slack.control("PUT", "scopes", {"scopes": ["commands", "chat:write", "channels:read", "groups:read"]})
    ran = doctor(sandbox, slack, tmp_path)
    assert ran.returncode == 1
    assert "✗ Slack auth.test and scopes" in ran.stdout and "lacks im:write" in ran.stdout
    assert "reinstall the app" in ran.stdout


def test_a_missing_azure_action_names_it_the_subscription_and_the_role(
    without_pls_write: RunningSandbox, slack: RunningSlack, tmp_path: Path
) -> None:
    ran = doctor(without_pls_write, slack, tmp_path)
    assert ran.returncode == 1
    line = next(row for row in ran.stdout.splitlines() if row.startswith(f"✗ Azure permissions {TEAM_B}"))
    assert WITHOUT in line and f"/subscriptions/{TEAM_B}" in line
    assert "grant the natlink provider role: `natlink role --side provider`" in ran.stdout
    assert f"✓ Azure {TEAM_B}" in ran.stdout  # still readable: only the write is missing


def test_an_unreadable_subscription_is_named(
    sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path
) -> None:
    sandbox.control("POST", "access", {"subscription": TEAM_A, "readable": False})
    ran = doctor(sandbox, slack, tmp_path)
    assert ran.returncode == 1
    assert f"✗ Azure {TEAM_A}" in ran.stdout and "not readable" in ran.stdout
    assert f"✓ Azure {TEAM_B}" in ran.stdout


def test_a_bad_setting_exits_2_with_serves_message(
    sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path
) -> None:
    ran = doctor(sandbox, slack, tmp_path, NATLINK_ADMINS="alice")
    assert ran.returncode == 2
    assert "NATLINK_ADMINS has values that are not Slack user IDs: alice" in ran.stderr


def test_a_badly_shaped_signing_secret_is_a_blocker(
    sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path
) -> None:
    ran = doctor(sandbox, slack, tmp_path, SLACK_SIGNING_SECRET="xoxb-not-a-secret")
    assert ran.returncode == 1
    assert "✗ Slack signing secret" in ran.stdout and "Basic Information" in ran.stdout


def test_serve_refuses_to_start_on_a_blocker(
    sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path
) -> None:
    slack.control("PUT", "scopes", {"scopes": ["commands", "chat:write"]})
    with pytest.raises(RuntimeError, match="exited with 1") as refused:
        start_bot(sandbox, slack, tmp_path)
    assert "lacks im:write" in str(refused.value) and "refusing to start" in str(refused.value)


def test_serve_logs_the_table_and_starts_fast(
    sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path
) -> None:
    started = time.monotonic()
    bot = start_bot(sandbox, slack, tmp_path)
    try:
        assert time.monotonic() - started < 10
        log = bot.log.read_text()
        assert "natlink doctor:" in log and f"✓ Azure permissions {TEAM_B}" in log
    finally:
        assert bot.stop() == 0


def test_verify_s_network_watchers_and_capture_storage_are_checked(
    sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path, net_b
) -> None:
    """Issue 14 §2 / issue 11: doctor checks what verify needs — a Network Watcher in each region
    natlink's services are in, and the capture account when NATLINK_CAPTURE_STORAGE is set."""
    sandbox.control("POST", "reset", {"world": "seed"})  # the world with services, so regions
    ran = doctor(sandbox, slack, tmp_path, NATLINK_CAPTURE_STORAGE=sandbox.capture_storage)
    assert f"✓ Network Watcher {TEAM_B} japaneast" in ran.stdout, ran.stdout
    assert "✓ capture storage (NATLINK_CAPTURE_STORAGE)" in ran.stdout, ran.stdout

    net_b.network_watchers.begin_delete("NetworkWatcherRG", "NetworkWatcher_japaneast").result()
    missing = sandbox.capture_storage.replace("natlinkcaptures", "nosuchaccount")
    ran = doctor(sandbox, slack, tmp_path, NATLINK_CAPTURE_STORAGE=missing)
    assert (
        f"✗ Network Watcher {TEAM_B} japaneast" in ran.stdout and "az network watcher configure" in ran.stdout
    )
    assert "✗ capture storage (NATLINK_CAPTURE_STORAGE)" in ran.stdout and "nosuchaccount" in ran.stdout
