"""`natlink serve --socket-mode` end to end: the real bot dials the Slack stand-in's Socket Mode
endpoint with its app-level token, takes commands as envelopes, acks them over the socket, and
posts to the stand-in's Web API as in HTTP mode.

The bot serves no /healthz in Socket Mode, so it is up when the stand-in counts its connection.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.arm.launch import RunningSandbox
from sandbox.arm.server import free_port
from sandbox.slack.driver import Driver
from sandbox.slack.launch import RunningSlack
from tests.conftest import TEAM_B
from tests.e2e.harness import environment, find, ok, opened_view, text_of, wait_for

SLACK_ACK_SECONDS = 3.0  # Slack gives an app 3 s to acknowledge an envelope


class SocketBot:
    def __init__(self, process: subprocess.Popen[str], log: Path) -> None:
        self.process, self.log = process, log

    def alive(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"natlink serve --socket-mode exited with {self.process.returncode}: {self.tail()}"
            )
        return True

    def tail(self) -> str:
        return self.log.read_text()[-3000:]

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def connections(slack: RunningSlack) -> int:
    return int(slack.control("GET", "socket")["num_connections"])


def start_socket_bot(arm: RunningSandbox, slack: RunningSlack, workdir: Path) -> SocketBot:
    """``python -m bot.cli serve --socket-mode``, up once the stand-in holds its one connection."""
    wait_for(lambda: connections(slack) == 0, 15, "connections of earlier bots to close")
    log = workdir / "bot-socket.log"
    env = environment(
        arm, slack, workdir / "natlink.db", free_port(), SLACK_APP_TOKEN=slack.config["app_token"]
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--socket-mode"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    bot = SocketBot(process, log)
    wait_for(lambda: bot.alive() and connections(slack) == 1, 30, f"the bot's Socket Mode connection ({log})")
    return bot


@pytest.fixture
def socket_bot(sandbox: RunningSandbox, slack: RunningSlack, tmp_path: Path) -> Iterator[SocketBot]:
    bot = start_socket_bot(sandbox, slack, tmp_path)
    yield bot
    if bot.process.poll() is None:
        bot.process.kill()
        bot.process.wait(10)


def test_create_through_socket_mode(socket_bot: SocketBot, slack: RunningSlack) -> None:
    driver = Driver(None, slack.config, socket_mode=True, timeout=SLACK_ACK_SECONDS)
    alice = slack.user("alice")
    # the handshake went through apps.connections.open with the app-level token
    assert [c["status"] for c in slack.calls("apps.connections.open")] == [200]

    granted = driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}")
    ok(granted)
    assert granted.socket is not None and granted.socket["envelope"]["type"] == "slash_commands"

    ack = ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    assert ack["response_type"] == "ephemeral" and "Queued" in str(ack)
    created = wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "rdp-vmb to be exposed")
    assert created["message"]["user"] == slack.config["bot_user_id"]

    # Events come as events_api envelopes: alice's Home tab, published when she opens it.
    opened = driver.open_home("alice")
    assert opened.status == 200 and opened.socket is not None
    assert opened.socket["envelope"]["type"] == "events_api"

    def home_lists_rdp_vmb() -> bool:
        view = slack.control("GET", "home", query={"user": alice})["view"] or {}
        return "*rdp-vmb* — ports 3389" in text_of({"message": {"blocks": view.get("blocks")}})

    wait_for(home_lists_rdp_vmb, 30, "alice's Home tab")  # read as a person reads its portal link

    # A shortcut and an options load come as interactive envelopes; the options ride in the ack.
    assert driver.shortcut("admin", "natlink_request_shortcut").socket["envelope"]["type"] == "interactive"
    form = opened_view(slack, "natlink_request_modal", "the request form")
    groups = ok(driver.suggest("admin", form, "vm", "Win2019"))["option_groups"]
    assert len(groups) == 2, groups  # an admin may use both subscriptions' VMs
    assert connections(slack) == 1, "one connection all along: no reconnects"


def test_sigterm_stops_the_bot_gracefully(socket_bot: SocketBot, slack: RunningSlack) -> None:
    """SIGTERM closes the socket and runs serve()'s cleanup: scheduler stopped, lease released, workers joined."""
    started = time.monotonic()
    code = socket_bot.stop(timeout=30)
    assert time.monotonic() - started < 30
    wait_for(lambda: connections(slack) == 0, 10, "the stand-in to see the connection close")
    assert code == 0 and "natlink stopped" in socket_bot.log.read_text(), socket_bot.tail()
