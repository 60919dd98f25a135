"""The scheduler as users meet it: inside `natlink serve`, and `natlink sweep --once` from cron."""

from __future__ import annotations

import subprocess
import sys

from storage import observations
from storage.database import open_database
from tests.e2e.harness import create_rdp_vmb, database, environment, find, wait_for


def test_serve_sweeps_on_start_and_posts_what_changed(bot, driver, slack, sandbox, compute_b) -> None:
    create_rdp_vmb(driver, slack)
    db = open_database(database(bot))
    wait_for(lambda: observations.meta(db, "last_sweep"), 30, "the first (baseline) sweep at start")
    compute_b.virtual_machines.begin_power_off("rg-team-b", "VM-Win2019-2").result()
    driver.slash_command("alice", "#team-b", "status rdp-vmb --refresh")
    alert = wait_for(
        lambda: find(slack, "team-b", "VM-Win2019-2 (10.2.0.5) is *stopped*"), 60, "the health alert"
    )
    assert "Start the VM" in str(alert["message"])
    answer = wait_for(lambda: find(slack, "team-b", "Latest sweep", ephemeral=True), 30, "the status reply")
    assert "down" in str(answer["message"])


def test_sweep_once_for_cron(sandbox, slack, tmp_path, compute_b) -> None:
    env = environment(sandbox, slack, tmp_path / "natlink.db", 3000)  # sweep --once never listens

    def once() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "sweep", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = once()
    assert first.returncode == 0, first.stderr
    assert "0 event(s)" in first.stdout
    assert observations.meta(open_database(tmp_path / "natlink.db"), "last_sweep")
    second = once()
    assert second.returncode == 0 and "0 event(s)" in second.stdout
