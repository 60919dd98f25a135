"""Run the real `natlink serve` as a child process, wired to the sandbox ARM and the sandbox Slack."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from sandbox.arm.launch import RunningSandbox
from sandbox.arm.server import free_port
from sandbox.slack.driver import Delivery, Driver, Reply
from sandbox.slack.launch import RunningSlack
from storage import services
from tests.conftest import TEAM_A, TEAM_B

ADMIN = "U0ADMIN"
T = TypeVar("T")


@dataclass
class RunningBot:
    process: subprocess.Popen[str]
    url: str
    log: Path

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
            return json.loads(response.read())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def environment(
    arm: RunningSandbox, slack: RunningSlack, db: Path, port: int, **extra: str
) -> dict[str, str]:
    return {
        **os.environ,
        **arm.environment(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "NATLINK_DB": str(db),
        "NATLINK_HOST": "127.0.0.1",
        "NATLINK_PORT": str(port),
        "NATLINK_SUBSCRIPTIONS": ",".join(arm.config["subscriptions"]),
        "NATLINK_ADMINS": ADMIN,
        "NATLINK_ARM_URL": arm.arm_url,
        "NATLINK_CA_BUNDLE": arm.ca_bundle,
        "NATLINK_STALE_SECONDS": "3",
        **extra,
    }


BIND_TRIES = 3


def start_bot(arm: RunningSandbox, slack: RunningSlack, workdir: Path, **extra: str) -> RunningBot:
    """``natlink serve`` on a free port. free_port() only says the port was free a moment ago: another
    process (under xdist, another worker's) may take it first, so a bot that lost it is started again
    on another port, and _healthy trusts /healthz only once the bot's own log says it serves there."""
    for _ in range(BIND_TRIES):
        port = free_port()
        log = workdir / f"bot-{port}.log"
        env = environment(arm, slack, workdir / "natlink.db", port, **extra)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        bot = RunningBot(process, f"http://127.0.0.1:{port}", log)
        try:
            wait_for(functools.partial(_healthy, bot), 30, f"natlink serve to answer /healthz (log: {log})")
        except RuntimeError:
            if "Address already in use" not in log.read_text():
                raise
            continue
        return bot
    raise RuntimeError(f"natlink serve found no free port in {BIND_TRIES} tries (last log: {log})")


def _healthy(bot: RunningBot) -> bool:
    """Up, and answering on its own port: until the bot logs that it serves there, whatever answers
    /healthz on it is another process's."""
    if bot.process.poll() is not None:
        raise RuntimeError(
            f"natlink serve exited with {bot.process.returncode}: {bot.log.read_text()[-2000:]}"
        )
    if f"natlink serving on {bot.url.removeprefix('http://')}" not in bot.log.read_text():
        return False
    try:
        return bool(bot.health()["ok"])
    except OSError:
        return False


def wait_for(probe: Callable[[], T], timeout: float, what: str) -> T:
    """Poll an observable outcome (a message, a state) until it holds; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


_WEB_LINK = re.compile(r"<https?://[^|<>\s]+\|([^<>]+)>")
"""A link as mrkdwn writes it (``<url|label>``): Slack shows its label (portal links, commands/portal.py)."""


def text_of(record: dict[str, Any]) -> str:
    """Everything a person would read in a stored message: fallback text and every block's text, as
    stored and then with each web link read as Slack shows it, by its label."""
    message = record["message"]
    stored = json.dumps(message.get("blocks") or [], ensure_ascii=False) + " " + (message.get("text") or "")
    return stored + " " + _WEB_LINK.sub(r"\1", stored)


def stored_service(db: Database, name: str, subscription: str, group: str = "rg-team-b") -> None:
    """A service in natlink's records alone, with no Azure resource behind it: for the views of
    many services (listing, paging), which read the records."""
    services.upsert_service(
        db,
        name=name,
        pls_id=f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/privateLinkServices/{name}",
        subscription=subscription,
        resource_group=group,
        location="japaneast",
        alias=f"{name}.00000000-0000-0000-0000-000000000000.japaneast.azure.privatelinkservice",
        created_by="U0ALICE",
        details={"ports": [443], "visibility": ["*"]},
    )


def opened_view(slack: RunningSlack, callback_id: str, what: str) -> dict[str, Any]:
    """The newest modal natlink opened with ``callback_id``, once there is one."""

    def views() -> list[dict[str, Any]]:
        return [v for v in slack.control("GET", "views")["views"] if v.get("callback_id") == callback_id]

    return wait_for(views, 30, what)[-1]


def find(
    slack: RunningSlack, channel: str, needle: str, ephemeral: bool | None = None
) -> dict[str, Any] | None:
    """The first stored message in ``channel`` (a name, a channel ID, or a user ID for their DM) with ``needle``."""
    for record in slack.messages(
        channel if channel[:1] in "CDU" and channel.isupper() else slack.channel(channel)
    ):
        if needle in text_of(record) and (ephemeral is None or record["ephemeral"] == ephemeral):
            return record
    return None


def ok(reply: Any) -> dict[str, Any]:
    """An HTTP 200 answer to a signed delivery, as JSON (``{}`` for an empty ack)."""
    assert reply.status == 200, reply.text
    return reply.json() if reply.text else {}


def database(bot: RunningBot) -> Path:
    """The SQLite file the bot (and any bot restarted in the same workdir) uses."""
    return bot.log.parent / "natlink.db"


def create_rdp_vmb(driver: Driver, slack: RunningSlack) -> dict[str, Any]:
    """alice may create in team B and bob may request from team A; alice exposes VM-Win2019-2:3389
    as rdp-vmb. Returns the final progress message."""
    alice, bob = slack.user("alice"), slack.user("bob")
    ok(driver.slash_command("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"))
    ok(driver.slash_command("admin", "#team-a", f"grant <@{bob}|bob> request {TEAM_A}"))
    ok(driver.slash_command("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"))
    return wait_for(lambda: find(slack, "team-b", "rdp-vmb is exposed"), 60, "rdp-vmb to be exposed")


def pending_request(driver: Driver, slack: RunningSlack) -> dict[str, Any]:
    """rdp-vmb exposed and bob's request from VM-Win2019 pending: returns the approval card in #team-b."""
    create_rdp_vmb(driver, slack)
    ok(driver.slash_command("bob", "#team-a", "request rdp-vmb --vm VM-Win2019 --reason 'RDP please'"))
    return wait_for(lambda: find(slack, "team-b", "natlink_approve"), 60, "the approval card")


def request_id_of(card: dict[str, Any]) -> str:
    """The request ID a card's Approve button carries."""
    for block in card["message"].get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == "natlink_approve":
                return str(element["value"])
    raise LookupError("no Approve button on the card")


def prepared_click(driver: Driver, user: str, channel: str, message_ts: str, action_id: str) -> Delivery:
    """The signed delivery Slack would send for this click, built but not sent (to send it twice at once)."""
    held: list[Delivery] = []
    driver.send = lambda delivery: (held.append(delivery), Reply(200, {}, b"", delivery))[1]  # type: ignore[method-assign]
    try:
        driver.click(user, channel, message_ts, action_id)
    finally:
        del driver.send  # back to the class's method
    return held[0]


def ephemerals(slack: RunningSlack, channel: str, user: str, needle: str = "") -> list[dict[str, Any]]:
    """Ephemeral messages shown to ``user`` in ``channel`` (a name) that contain ``needle``."""
    return [
        r
        for r in slack.messages(slack.channel(channel))
        if r["ephemeral"] and r["to"] == user and needle in text_of(r)
    ]


def arm_count(arm: RunningSandbox, method: str, path_end: str) -> int:
    """How many ``method`` requests ARM logged on paths containing ``path_end``."""
    counts = arm.control("GET", "requests")["counts"]
    return sum(n for key, n in counts.items() if key.startswith(f"{method} ") and path_end in key)
