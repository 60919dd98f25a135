"""`natlink sandbox`: everything it starts stops on Ctrl-C, and a second run continues the first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import orchestrate
from sandbox.slack.driver import Driver
from tests.e2e.harness import wait_for
from tests.sandbox.harness import Sandbox, alive, answers, find, port_free, start, stop_hard

# One xdist worker for the module: first_run (a whole sandbox, started and stopped) is built once.
pytestmark = pytest.mark.xdist_group("sandbox-run")

STOP_SECONDS = 30


@dataclass
class Stopped:
    sandbox: Sandbox
    pids: list[int]
    ports: list[int]
    code: int


def _stop(sandbox: Sandbox, how: str) -> Stopped:
    pids, ports = sandbox.descendants(), sandbox.ports()
    assert len(pids) >= 3, f"expected ARM, Slack and the bot under the sandbox, found {pids}"
    if how == "ctrl-c":  # a terminal's Ctrl-C reaches the whole foreground process group
        os.killpg(sandbox.process.pid, signal.SIGINT)
    else:
        sandbox.process.send_signal(signal.SIGTERM)
    try:
        code = sandbox.process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        stop_hard(sandbox)
        raise AssertionError(f"the sandbox did not stop within {STOP_SECONDS}s on {how}") from None
    return Stopped(sandbox, pids, ports, code)


def _assert_all_gone(stopped: Stopped) -> None:
    log = stopped.sandbox.stderr.read_text() if stopped.sandbox.stderr else ""
    assert stopped.code == 0, log
    deadline = time.monotonic() + 5
    while any(alive(p) for p in stopped.pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in stopped.pids if alive(p)] == [], "processes left behind"
    assert [p for p in stopped.ports if not port_free(p)] == [], "ports still taken"
    assert "natlink sandbox stopped." in log


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox") / "state"


@pytest.fixture(scope="module")
def first_run(state: Path) -> Iterator[Stopped]:
    """A new sandbox: alice (granted by the sandbox itself) creates rdp-vmb, then Ctrl-C."""
    sandbox = start(state)
    try:
        assert "a new state" in sandbox.output
        wait_for(lambda: answers(f"{sandbox.page_url}/api/auth.test"), 30, "the Slack stand-in to answer")
        slack = sandbox.world()
        driver = Driver(sandbox.events_url, slack, timeout=20)
        assert (
            driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389").status
            == 200
        )
        wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "rdp-vmb to be exposed")
        yield _stop(sandbox, "ctrl-c")
    finally:
        if sandbox.process.poll() is None:
            stop_hard(sandbox)


def test_ctrl_c_stops_every_process_it_started(first_run: Stopped, state: Path) -> None:
    _assert_all_gone(first_run)
    assert {p.name for p in state.iterdir()} >= {"arm.json", "slack.json", "natlink.db", "sandbox.json"}


def test_a_second_run_continues_where_the_first_stopped(first_run: Stopped, state: Path) -> None:
    sandbox = start(state)
    try:
        assert "continued from the last run" in sandbox.output
        slack = sandbox.world()
        driver = Driver(sandbox.events_url, slack, timeout=20)
        asked_at = time.time()
        reply = driver.slash_command("bob", "#team-a", "list")
        assert reply.status == 200, reply.text

        def listed() -> bool:
            answer = find(slack, "team-a", "rdp-vmb", ephemeral=True)
            return "rdp-vmb" in reply.text or bool(answer and float(answer["message"]["ts"]) > asked_at)

        wait_for(listed, 30, "rdp-vmb in bob's /natlink list")
        # The grants were made once, on the first start; bob may still request from team A.
        asked = driver.slash_command("bob", "#team-a", "request rdp-vmb --vm VM-Win2019")
        assert asked.status == 200 and "not allowed" not in asked.text.lower(), asked.text
        wait_for(lambda: find(slack, "team-b", "natlink_approve"), 60, "the approval card")
        _assert_all_gone(_stop(sandbox, "sigterm"))
    finally:
        if sandbox.process.poll() is None:
            stop_hard(sandbox)


def test_reset_removes_only_the_sandbox_state(tmp_path: Path) -> None:
    for name in ("arm.json", "slack.json", "natlink.db", "sandbox.json", "bot.log"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "arm-tls").mkdir()
    (tmp_path / "arm-tls" / "ca.pem").write_text("x")
    (tmp_path / "notes.txt").write_text("mine")
    orchestrate.reset_state(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_natlink_sandbox_runs_python_m_sandbox() -> None:
    natlink = Path(sys.executable).with_name("natlink")
    whole = subprocess.run([natlink, "sandbox", "--help"], capture_output=True, text=True, timeout=30)
    assert whole.returncode == 0 and "--tour" in whole.stdout and "--reset" in whole.stdout
    azure = subprocess.run(
        [natlink, "sandbox", "azure", "--help"], capture_output=True, text=True, timeout=30
    )
    assert azure.returncode == 0 and "--empty" in azure.stdout


def test_a_state_holding_another_world_is_refused_not_silently_kept(tmp_path: Path) -> None:
    (tmp_path / "arm.json").write_text("{}")
    (tmp_path / "sandbox.json").write_text('{"world": "seed"}')
    children: list[orchestrate.Child] = []
    with pytest.raises(
        orchestrate.StartFailed, match="holds the 'seed' world, not 'seed-by-hand': add --reset"
    ):
        orchestrate.start(tmp_path, 0, children, world="seed-by-hand")
    assert children == [], "nothing was started"


def test_a_state_from_before_worlds_holds_the_seed_world(tmp_path: Path) -> None:
    (tmp_path / "arm.json").write_text("{}")
    with pytest.raises(orchestrate.StartFailed, match="holds the 'seed' world"):
        orchestrate.start(tmp_path, 0, [], world="seed-by-hand")
