"""Run the whole product on this machine: the ARM stand-in, the Slack stand-in and ``natlink serve``.

Each part is a child process of this one, in this process's process group, so a Ctrl-C in the
terminal reaches all of them; whatever stops this process (SIGINT, SIGTERM, a child that died)
also stops every child it started: SIGTERM, a bounded wait, then SIGKILL.

The bot is started exactly as a deployment starts it (``python -m bot.cli serve``) with the same
settings a deployment sets, pointed at the stand-ins; nothing here imports the product.

State lives in one directory: ``arm.json`` (the Azure world), ``slack.json`` (the workspace and
everything posted), ``natlink.db`` (the bot's database), the children's logs, and
``sandbox.json``, which records that the sandbox users were granted their rights.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from . import azurite
from .arm.seed import CAPTURE_STORAGE
from .loopback import control, free_port, request
from .slack.driver import Driver

T = TypeVar("T")

TEAM_A = "11111111-1111-1111-1111-111111111111"
TEAM_B = "22222222-2222-2222-2222-222222222222"
ADMIN = "admin"
SWEEP_SECONDS = 15
START_SECONDS = 30
STOP_SECONDS = 15

# What the first start grants, as the sandbox admin would type it: (user, channel, right, subscription).
GRANTS = (("alice", "team-b", "create", TEAM_B), ("bob", "team-a", "request", TEAM_A))

# Everything ``--reset`` removes from the state directory (and nothing else, whatever the directory is).
STATE_FILES = (
    "arm.json",
    "arm-tls",
    "arm-config.json",
    "slack.json",
    "natlink.db",
    "natlink.db-wal",
    "natlink.db-shm",
    "natlink.db-journal",
    "sandbox.json",
    "arm.log",
    "azurite",
    "slack.log",
    "bot.log",
)

# The deployment's settings come from this process's environment only for what is not the sandbox's.
OWN_PREFIXES = ("SLACK_", "NATLINK_", "AZURE_")


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StartFailed(Exception):
    """A part did not start; the message says which and why (with the end of its log)."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]
    log: Path

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:].strip()
        except OSError:
            return ""


@dataclass
class Running:
    """The started parts and how to reach them."""

    state: Path
    arm: dict[str, Any]
    slack: dict[str, Any]
    bot_url: str
    new: bool
    children: list[Child] = field(default_factory=list)
    blob_endpoint: str | None = None  # Azurite's, when it runs

    @property
    def page_url(self) -> str:
        return str(self.slack["base_url"])

    @property
    def events_url(self) -> str:
        return f"{self.bot_url}/slack/events"

    def driver(self) -> Driver:
        return Driver(self.events_url, self.slack, timeout=20)


# -- signals ----------------------------------------------------------------------------------------


def raise_on_signals() -> None:
    """SIGINT and SIGTERM raise ``Stopped`` wherever this process is (waiting, reading, sleeping)."""

    def handler(signum: int, _frame: object) -> None:
        raise Stopped(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """While stopping, a second Ctrl-C is noted instead of abandoning the children half-stopped."""
    got: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: got.append(signum))
    try:
        yield got
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- state ------------------------------------------------------------------------------------------


def reset_state(state: Path) -> list[Path]:
    """Delete the sandbox's own files from ``state`` (never anything else there); returns what went."""
    removed = []
    for name in STATE_FILES:
        path = state / name
        if path.is_dir() and not path.is_symlink():
            for child in sorted(path.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
            path.rmdir()
            removed.append(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


def _marker(state: Path) -> dict[str, Any]:
    try:
        return json.loads((state / "sandbox.json").read_text())
    except (OSError, ValueError):
        return {}


def _write_marker(state: Path, **values: Any) -> None:
    (state / "sandbox.json").write_text(json.dumps(_marker(state) | values, indent=2) + "\n")


# -- the parts --------------------------------------------------------------------------------------


def _spawn(name: str, command: list[str], log: Path, env: dict[str, str] | None = None) -> Child:
    """Start a child in this process group; stderr (and stdout after its first line) go to ``log``."""
    out = log.open("a")
    out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n")
    out.flush()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=out, text=True, env=env or os.environ.copy()
    )
    out.close()  # the child holds its own copy
    return Child(name, process, log)


def _first_line(child: Child, timeout: float) -> dict[str, Any]:
    """The JSON object a stand-in prints first; the rest of its stdout is copied to its log."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = child.process.stdout
    assert stdout is not None

    def pump(stream: IO[str]) -> None:
        first = stream.readline()
        lines.put(first)
        with child.log.open("a") as log:
            for line in stream:
                log.write(line)
                log.flush()

    threading.Thread(target=pump, args=(stdout,), name=f"{child.name}-stdout", daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=0.2)
            break
        except queue.Empty:
            if time.monotonic() > deadline:
                raise StartFailed(
                    f"{child.name} printed nothing within {timeout:.0f}s (log {child.log}):\n{child.tail()}"
                ) from None
    if not line:
        child.process.wait(5)
        raise StartFailed(
            f"{child.name} exited with {child.process.returncode} (log {child.log}):\n{child.tail()}"
        )
    return json.loads(line)


def _slack_options() -> set[str]:
    """The options this checkout's Slack stand-in accepts (``--bot-url`` and ``--arm-config`` are newer)."""
    answer = subprocess.run(
        [sys.executable, "-m", "sandbox.slack", "--help"], capture_output=True, text=True, timeout=30
    )
    return set(re.findall(r"--[a-z][a-z-]*", answer.stdout))


def bot_environment(
    arm: dict[str, Any], slack: dict[str, Any], db: Path, port: int, **extra: str
) -> dict[str, str]:
    """The settings a real deployment sets, pointed at the stand-ins (see ``bot/settings.py``)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    return {
        **inherited,
        "SLACK_BOT_TOKEN": slack["bot_token"],
        "SLACK_SIGNING_SECRET": slack["signing_secret"],
        "SLACK_API_URL": slack["api_url"],
        "NATLINK_DB": str(db),
        "NATLINK_HOST": "127.0.0.1",
        "NATLINK_PORT": str(port),
        "NATLINK_SUBSCRIPTIONS": ",".join(arm["subscriptions"]),
        "NATLINK_ADMINS": slack["users"][ADMIN]["id"],
        "NATLINK_ARM_URL": arm["arm_url"],
        "NATLINK_CA_BUNDLE": arm["ca_bundle"],
        "NATLINK_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "NATLINK_CAPTURE_STORAGE": CAPTURE_STORAGE,
        "AZURE_TENANT_ID": arm["tenant_id"],
        "AZURE_CLIENT_ID": arm["client_id"],
        "AZURE_CLIENT_SECRET": arm["client_secret"],
        "AZURE_AUTHORITY_HOST": arm["authority_host"],
        **extra,
    }


def wait_for(probe: Callable[[], T], timeout: float, what: str) -> T:
    """Poll until ``probe`` returns something true; ``TimeoutError`` names what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _healthy(child: Child, url: str) -> bool:
    if child.process.poll() is not None:
        raise StartFailed(
            f"natlink serve exited with {child.process.returncode} (log {child.log}):\n{child.tail()}"
        )
    try:
        answer = request("GET", f"{url}/healthz", timeout=2)
        return answer.status == 200 and bool(json.loads(answer.body).get("ok"))
    except (OSError, ValueError):
        return False


def start(
    state: Path,
    slack_port: int,
    children: list[Child],
    *,
    bot_env: dict[str, str] | None = None,
    on_grant: Callable[[str, str, Any], None] | None = None,
    world: str = "seed",
) -> Running:
    """Start ARM, Slack and the bot on ``state``; on a state not yet granted, grant the sandbox users.

    ``world`` is what a new state's Azure starts as; a state that holds another world is refused
    (``StartFailed``) rather than silently kept. Each child is appended to ``children`` as soon as it
    exists, so the caller stops it even when a later part fails to start or a signal arrives mid-start.
    """
    state.mkdir(parents=True, exist_ok=True)
    held = _marker(state).get("world", "seed") if (state / "arm.json").exists() else world
    if held != world:
        raise StartFailed(
            f"{state} holds the {held!r} world, not {world!r}: add --reset to start it afresh, or use another --state"
        )
    _write_marker(state, world=world)
    new = not (state / "natlink.db").exists()
    python = sys.executable

    arm_command = [python, "-m", "sandbox.arm", "--port", "0", "--state", str(state / "arm.json")]
    arm_command += ["--world", world]
    arm_child = _spawn("sandbox ARM", arm_command, state / "arm.log")
    children.append(arm_child)
    arm = _first_line(arm_child, START_SECONDS)
    (state / "arm-config.json").write_text(json.dumps(arm, indent=2) + "\n")
    blob_endpoint = _start_storage(state, arm, children)

    bot_port = free_port()
    bot_url = f"http://127.0.0.1:{bot_port}"
    slack_command = [
        *(python, "-m", "sandbox.slack", "--port", str(slack_port), "--state", str(state / "slack.json")),
    ]
    options = _slack_options()
    if "--bot-url" in options:
        slack_command += ["--bot-url", f"{bot_url}/slack/events"]
    if "--arm-config" in options:
        slack_command += ["--arm-config", str(state / "arm-config.json")]
    slack_child = _spawn("sandbox Slack", slack_command, state / "slack.log")
    children.append(slack_child)
    slack = _first_line(slack_child, START_SECONDS)

    env = bot_environment(arm, slack, state / "natlink.db", bot_port, **(bot_env or {}))
    bot_child = _spawn("natlink serve", [python, "-m", "bot.cli", "serve"], state / "bot.log", env)
    children.append(bot_child)
    wait_for(
        lambda: _healthy(bot_child, bot_url), START_SECONDS, f"natlink serve to answer {bot_url}/healthz"
    )

    running = Running(state, arm, slack, bot_url, new, [arm_child, slack_child, bot_child], blob_endpoint)
    if new or not _marker(state).get("granted"):
        grant_rights(running, on_grant)
        _write_marker(state, granted=True)
    return running


def _start_storage(state: Path, arm: dict[str, Any], children: list[Child]) -> str | None:
    """Azurite for the ARM stand-in's storage account, when installed (without it the sandbox runs,
    and storage calls answer how to install it); its blob endpoint."""
    try:
        storage = azurite.start(state / "azurite")
    except azurite.AzuriteMissing as missing:
        print(f"natlink sandbox: {missing}; packet captures will fail", file=sys.stderr, flush=True)
        return None
    children.append(Child("Azurite", storage.process, storage.workdir / "azurite.log"))  # type: ignore[arg-type]
    endpoint = {"blob_endpoint": storage.blob_endpoint}
    control(arm["control_url"], "PUT", "storage", endpoint, ca_bundle=arm["ca_bundle"], timeout=START_SECONDS)
    return storage.blob_endpoint


def grant_rights(running: Running, on_grant: Callable[[str, str, Any], None] | None = None) -> None:
    """As the sandbox admin: alice may create in team B's subscription, bob may request in team A's."""
    driver = running.driver()
    for user, channel, right, subscription in GRANTS:
        uid = running.slack["users"][user]["id"]
        text = f"grant <@{uid}|{user}> {right} {subscription}"
        reply = driver.slash_command(ADMIN, f"#{channel}", text)
        if reply.status != 200:
            raise StartFailed(f"/natlink {text} was refused with HTTP {reply.status}: {reply.text[:500]}")
        if on_grant is not None:
            on_grant(channel, f"/natlink grant @{user} {right} {subscription}", reply.json())


def stop(children: list[Child], *, graceful_first: float = 0.0) -> list[str]:
    """Stop children, the bot first (it talks to the others while finishing): SIGTERM, wait, SIGKILL.

    ``graceful_first`` gives children that already got the signal (a Ctrl-C reaches the whole
    process group) that long to finish by themselves. Returns a line per child that did not stop
    cleanly.
    """
    problems = []
    with signals_held():
        alive = [c for c in children if c.process.poll() is None]
        if graceful_first and alive:
            deadline = time.monotonic() + graceful_first
            while time.monotonic() < deadline and any(c.process.poll() is None for c in alive):
                time.sleep(0.05)
        for child in reversed(children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
            try:
                code = child.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.process.kill()
                code = child.process.wait(STOP_SECONDS)
                problems.append(f"{child.name} did not stop within {STOP_SECONDS}s and was killed")
                continue
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                problems.append(f"{child.name} exited with {code} (log {child.log})")
    return problems


def first_dead(children: list[Child]) -> Child | None:
    return next((c for c in children if c.process.poll() is not None), None)


def slack_control(running: Running, method: str, action: str, **query: str) -> dict[str, Any]:
    """One call to the Slack stand-in's control API (``/_sandbox/<action>``)."""
    return control(running.slack["control_url"], method, action, query=query, timeout=20)


# -- natlink sandbox --------------------------------------------------------------------------------


def banner(running: Running) -> str:
    users = running.slack["users"]
    arm = running.arm
    return "\n".join(
        [
            "natlink sandbox is running.",
            f"  Slack page:   {running.page_url}",
            f"  natlink bot:  {running.events_url}",
            f"  Azure (ARM):  {arm['arm_url']}  (CA bundle {arm['ca_bundle']})",
            f"  state:        {running.state}  (arm.json, slack.json, natlink.db, *.log)",
            "                "
            + ("a new state" if running.new else "continued from the last run")
            + "; --reset starts fresh",
            f"  users:        alice ({users['alice']['id']}) may create in {TEAM_B} (team B),",
            f"                bob ({users['bob']['id']}) may request in {TEAM_A} (team A),",
            f"                admin ({users[ADMIN]['id']}) is the natlink admin",
            f"  scheduler:    sweeps Azure every {SWEEP_SECONDS}s",
            f"  captures:     {CAPTURE_STORAGE}",
            "                "
            + (
                f"in Azurite at {running.blob_endpoint}"
                if running.blob_endpoint
                else f"no Azurite: {azurite.INSTALL}"
            ),
            "Press Ctrl-C to stop.",
        ]
    )


def run(port: int, state: Path, reset: bool, world: str = "seed") -> int:
    """``natlink sandbox``: start everything, print where it is, run until a signal, stop everything."""
    raise_on_signals()
    state = state.resolve()
    children: list[Child] = []
    graceful = 0.0
    code = 0
    try:
        if reset:
            removed = reset_state(state)
            print(f"natlink sandbox: --reset removed {len(removed)} item(s) from {state}", flush=True)
        running = start(state, port, children, world=world)
        print(banner(running), flush=True)
        while (dead := first_dead(children)) is None:
            time.sleep(0.5)
        print(
            f"natlink sandbox: {dead.name} exited with {dead.process.returncode}; stopping the rest.\n"
            f"{dead.tail()}",
            file=sys.stderr,
            flush=True,
        )
        code = 1
    except Stopped as stopped:
        graceful = 2.0 if stopped.signum == signal.SIGINT else 0.0  # Ctrl-C reached the whole group
        print(f"natlink sandbox: {stopped} received, stopping.", file=sys.stderr, flush=True)
    except (StartFailed, TimeoutError, OSError) as error:
        print(f"natlink sandbox: could not start: {error}", file=sys.stderr, flush=True)
        code = 1
    finally:
        problems = stop(children, graceful_first=graceful)
    for line in problems:
        print(f"natlink sandbox: {line}", file=sys.stderr)
    print("natlink sandbox stopped.", file=sys.stderr, flush=True)
    return code or (1 if problems else 0)
