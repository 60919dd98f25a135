"""``natlink sandbox --tour``: the seed story played without a browser, printed as each person saw it.

It starts the same processes as ``natlink sandbox`` on a fresh state in a temporary directory,
then, through signed requests from the Slack driver and the portal client's calls to ARM:

1. alice creates rdp-vmb from VM-Win2019-2:3389 in #team-b;
2. she shares it in #team-a;
3. bob requests an endpoint from VM-Win2019;
4. alice clicks Approve on the card; bob is told his mapping;
5. VM-Win2019-2 is powered off through the ARM API, as the portal would; alice asks for a fresh
   sweep (``/natlink status rdp-vmb --refresh``) instead of waiting for the schedule, and the
   health alert reaches #team-b;
6. the VM is powered on again, and the next sweep says so;
7. alice subscribes #team-b to the daily digest. So that the tour need not wait for 09:00, its bot
   runs with ``NATLINK_DIGEST_CRON='* * * * *'``: the daily digest job runs every minute (the digest
   is still posted once per day), so it arrives within a minute.

With ``--world seed-by-hand`` the estate is the walkthrough's own, built in the portal: LB-temp
with the inbound NAT rule RDP, and PrivateLink-01 on its frontend. alice takes it over with
``create privatelink-01 --lb LB-temp --frontend fe`` (natlink keeps the service as it is, NAT IP
10.2.0.6 included), shares it, bob requests, alice approves, bob maps it (the NAT rule shows in the
row) and alice reads its status (a NAT rule has no probe: the VM's power state judges it).

Each wait is bounded; a step that does not happen ends the tour with status 1 and its name. The
last line is the address mapping bob was sent.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .loopback import free_port
from .orchestrate import (
    TEAM_B,
    Child,
    Running,
    StartFailed,
    Stopped,
    raise_on_signals,
    slack_control,
    start,
    stop,
    wait_for,
)
from .portal import Portal, PortalError

STEP_SECONDS = 60
DIGEST_SECONDS = 75  # the next minute boundary, then the poster's next round
VERIFY_SECONDS = 90  # the connectivity check, a 5-second capture, its stop and the blob read
VM_B = f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b/providers/Microsoft.Compute/virtualMachines/VM-Win2019-2"
MAPPING = re.compile(
    r"from \S+ \([\d.]+\) connect to [\d.]+:\d+; it arrives at \S+ [\d.]+:\d+, which sees you as [\d.]+"
)


class StepFailed(Exception):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"step {step} did not happen: {reason}")
        self.step = step


# -- rendering what people saw ----------------------------------------------------------------------


class Transcript:
    """Prints each message the bot posted or changed since the last look, as plain text."""

    def __init__(self, running: Running, out: Callable[[str], None] = print) -> None:
        self.running = running
        self.out = out
        self.users = {u["id"]: name for name, u in running.slack["users"].items()}
        self.channels = {cid: name for name, cid in running.slack["channels"].items()}
        self.shown: dict[tuple[str, str], str] = {}

    def typed(self, user: str, channel: str, text: str) -> None:
        self.out(f"{user} in #{channel}: {text}")

    def clicked(self, user: str, channel: str, label: str) -> None:
        self.out(f"{user} in #{channel}: clicks [{label}]")

    def note(self, text: str) -> None:
        self.out(f"  ({text})")

    def ack(self, user: str, answer: Any) -> None:
        """The HTTP answer to a command: Slack shows it to the person who typed it."""
        if isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            where = "everyone" if answer.get("response_type") == "in_channel" else f"only {user}"
            self._print(f"natlink, seen by {where}:", answer)

    def messages(self) -> list[dict[str, Any]]:
        return slack_control(self.running, "GET", "messages")["messages"]

    def settle(self, seconds: float = 3.0) -> None:
        """Wait (bounded) until nothing changes for a moment, so progress shows its final state."""
        deadline = time.monotonic() + seconds
        before = json.dumps(self.messages())
        while time.monotonic() < deadline:
            time.sleep(0.4)
            now = json.dumps(self.messages())
            if now == before:
                return
            before = now

    def show_new(self) -> None:
        self.settle()
        for record in self.messages():
            message = record["message"]
            key = (record["channel"], message["ts"])
            body = render(message, self.users, self.channels)
            if self.shown.get(key) == body:
                continue
            verb = "updated its message" if key in self.shown else "posted"
            self.shown[key] = body
            self.out(f"  natlink {verb} {self._where(record)}:")
            for line in body.splitlines():
                self.out(f"    {line}")

    def _print(self, title: str, message: dict[str, Any]) -> None:
        self.out(f"  {title}")
        for line in render(message, self.users, self.channels).splitlines():
            self.out(f"    {line}")

    def _where(self, record: dict[str, Any]) -> str:
        channel = record["channel"]
        if channel.startswith("D"):
            where = f"in a DM to {self.users.get('U' + channel[1:], channel)}"
        else:
            where = f"in #{self.channels.get(channel, channel)}"
        if record.get("ephemeral"):
            where += f", seen only by {self.users.get(record.get('to') or '', record.get('to'))}"
        return where


def render(message: dict[str, Any], users: dict[str, str], channels: dict[str, str]) -> str:
    """A message as plain text: headers, sections, fields, context, and buttons as [Approve] [Reject]."""
    lines: list[str] = []
    for block in message.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {_text(block.get('text'))} ==")
        elif kind == "section":
            if block.get("text"):
                lines.extend(_text(block["text"]).splitlines())
            lines.extend(f"  {_field(f)}" for f in block.get("fields") or [])
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                lines.append(f"[{_text(accessory.get('text'))}]")
        elif kind == "context":
            parts = [_text(e) for e in block.get("elements") or [] if e.get("type") != "image"]
            lines.append(" · ".join(p for p in parts if p))
        elif kind == "actions":
            lines.append(" ".join(_element(e) for e in block.get("elements") or []))
        elif kind == "divider":
            lines.append("-" * 24)
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "input":
            lines.append(f"{_text(block.get('label'))}: ____")
        elif kind == "rich_text":
            lines.append(_rich(block))
    if not lines:
        lines = (message.get("text") or "").splitlines()
    return plain("\n".join(lines), users, channels)


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


def _field(field: Any) -> str:
    """A field is usually ``*Label*\nvalue``: shown as ``Label: value`` on one line."""
    first, *rest = _text(field).splitlines() or [""]
    return f"{first}: {' '.join(rest)}" if rest else first


def _element(element: dict[str, Any]) -> str:
    if element.get("type") == "button":
        return f"[{_text(element.get('text'))}]"
    placeholder = _text(element.get("placeholder")) or element.get("type", "")
    return f"[{placeholder} ▾]"


def _rich(block: dict[str, Any]) -> str:
    out = []
    for section in block.get("elements") or []:
        for element in section.get("elements") or []:
            out.append(str(element.get("text") or ""))
    return "".join(out)


def plain(text: str, users: dict[str, str], channels: dict[str, str]) -> str:
    """Slack mrkdwn as a person reads it: mentions by name, links by label, no bold stars."""

    def link(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (label or users.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or channels.get(target[1:], target[1:]))
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return label or target

    text = re.sub(r"<([^<>]+)>", link, text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- the story --------------------------------------------------------------------------------------


def card_request(card: dict[str, Any]) -> str:
    """The request ID an approval card's Approve button carries."""
    for block in card["message"].get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == "natlink_approve":
                return str(element["value"])
    raise LookupError("no Approve button on the card")


class Story:
    def __init__(self, running: Running, transcript: Transcript) -> None:
        self.running = running
        self.t = transcript
        self.driver = running.driver()
        self.portal = Portal(lambda: running.arm)
        self.approved_request = ""  # the request step 4 approves, for step 8

    def find(self, channel: str, needle: str, ephemeral: bool | None = None) -> dict[str, Any] | None:
        """The newest message in ``channel`` (a name, or a DM's ID) whose blocks or text hold ``needle``."""
        cid = self.running.slack["channels"].get(channel, channel)
        for record in reversed(slack_control(self.running, "GET", "messages", channel=cid)["messages"]):
            seen = (
                json.dumps(record["message"].get("blocks") or [])
                + " "
                + (record["message"].get("text") or "")
            )
            if needle in seen and (ephemeral is None or record["ephemeral"] == ephemeral):
                return record
        return None

    def wait(self, step: str, probe: Callable[[], Any], what: str, timeout: float = STEP_SECONDS) -> Any:
        try:
            return wait_for(probe, timeout, what)
        except TimeoutError as error:
            raise StepFailed(step, str(error)) from None

    def command(self, step: str, user: str, channel: str, shown: str, sent: str | None = None) -> None:
        """``user`` types ``/natlink shown`` in ``#channel``; Slack sends ``sent`` (channels escaped)."""
        self.t.typed(user, channel, f"/natlink {shown}")
        reply = self.driver.slash_command(user, f"#{channel}", sent or shown)
        if reply.status != 200:
            raise StepFailed(step, f"the bot answered HTTP {reply.status}: {reply.text[:300]}")
        self.t.ack(user, reply.json())

    def heading(self, title: str) -> None:
        self.t.out("")
        self.t.out(f"--- {title} ---")

    service, exposes, create = "rdp-vmb", "VM-Win2019-2:3389", "--vm VM-Win2019-2 --port 3389"

    def play(self) -> str:
        told = self.first_four()
        self.power_cycle_and_digest()
        self.verify()
        self.heading("the mapping bob was sent")
        return told

    def verify(self) -> None:
        """Step 8: the walkthrough's own proof, automated: Network Watcher checks the path from
        VM-Win2019 and captures on VM-Win2019-2 what source address arrives."""
        step = "8 (verify)"
        self.heading("8. verify: bob proves the double NAT with Network Watcher and a 5-second capture")
        request = self.approved_request
        self.command(step, "bob", "team-a", f"verify {request} --capture 5s")
        self.wait(
            step,
            lambda: self.find("team-a", "TCP SYNs on 3389 from 10.2.0.6"),
            "verify's answer in #team-a: what VM-Win2019-2 saw as the source",
            VERIFY_SECONDS,
        )
        self.t.show_new()

    def first_four(self) -> str:
        """Create, share, request from VM-Win2019, approve: returns the mapping bob was sent."""
        users, channels = self.running.slack["users"], self.running.slack["channels"]
        bob, service = users["bob"]["id"], self.service

        step = "1 (create)"
        self.heading(f"1. create: alice exposes {self.exposes} as {service}")
        self.command(step, "alice", "team-b", f"create {service} {self.create}")
        self.wait(
            step, lambda: self.find("team-b", f"{service} is exposed"), f"'{service} is exposed' in #team-b"
        )
        self.t.show_new()

        step = "2 (share)"
        self.heading("2. share: alice posts it in #team-a")
        sent = f"share {service} <#{channels['team-a']}|team-a>"
        self.command(step, "alice", "team-b", f"share {service} #team-a", sent)
        self.wait(step, lambda: self.find("team-a", "natlink_request_endpoint"), "the share card in #team-a")
        self.t.show_new()

        step = "3 (request)"
        self.heading("3. request: bob asks for an endpoint from VM-Win2019")
        self.command(step, "bob", "team-a", f"request {service} --vm VM-Win2019")
        card = self.wait(step, lambda: self.find("team-b", "natlink_approve"), "the approval card in #team-b")
        self.t.show_new()

        step = "4 (approve)"
        self.heading("4. approve: alice clicks Approve on the card in #team-b")
        self.t.clicked("alice", "team-b", "Approve")
        self.approved_request = card_request(card)
        reply = self.driver.click("alice", "#team-b", card["message"]["ts"], "natlink_approve")
        if reply.status != 200:
            raise StepFailed(step, f"the bot answered the click with HTTP {reply.status}: {reply.text[:300]}")
        self.wait(
            step,
            lambda: self.find("team-b", "Approved") and not self.find("team-b", "natlink_approve"),
            "the card in #team-b to show the approval",
        )
        told = self.wait(step, lambda: self._mapping_dm(bob), "bob's DM with the address mapping")
        self.t.show_new()
        return told

    def power_cycle_and_digest(self) -> None:
        """Steps 5 to 7 of the seed story: the VM off and on again, then the daily digest."""
        channels = self.running.slack["channels"]
        step = "5 (power off and the health alert)"
        self.heading("5. power off: VM-Win2019-2 is stopped in the portal; a fresh sweep alerts #team-b")
        self.t.out("portal: POST .../virtualMachines/VM-Win2019-2/powerOff")
        self._power(step, "powerOff")
        self.command(step, "alice", "team-b", "status rdp-vmb --refresh")
        self.wait(
            step,
            lambda: self.find("team-b", "VM-Win2019-2 (10.2.0.5) is *stopped*"),
            "the health alert 'VM-Win2019-2 (10.2.0.5) is stopped' in #team-b",
        )
        self.t.show_new()

        step = "6 (power on)"
        self.heading("6. power on: VM-Win2019-2 is started again; a live read of rdp-vmb says so")
        self.t.out("portal: POST .../virtualMachines/VM-Win2019-2/start")
        self._power(step, "start")
        asked = time.time()
        # One service's status reads it live; a second --refresh this soon would be answered from
        # alice's sweep of step 5 (a person starts one sweep every few seconds at most).
        self.command(step, "alice", "team-b", "status rdp-vmb")
        self.t.note(
            "a VM running again is not a problem: the owner channel hears problems only; the status shows it"
        )
        self.wait(
            step,
            lambda: self._status_after(asked, lambda text: "rdp-vmb ok" in text),
            "a fresh status in #team-b saying rdp-vmb ok",
        )
        self.t.show_new()

        step = "7 (digest)"
        self.heading("7. digest: alice subscribes #team-b to the daily digest")
        self.t.note("the tour's bot runs the daily digest job every minute: NATLINK_DIGEST_CRON='* * * * *'")
        sent = f"subscribe rdp-vmb <#{channels['team-b']}|team-b> --digest daily"
        self.command(step, "alice", "team-b", "subscribe rdp-vmb #team-b --digest daily", sent)
        self.wait(
            step,
            lambda: self.find("team-b", "daily digest", ephemeral=False),
            "the daily digest in #team-b",
            DIGEST_SECONDS,
        )
        self.t.show_new()

    def _power(self, step: str, action: str) -> None:
        """``powerOff`` or ``start`` VM-Win2019-2 as the portal does, and wait for the operation's end."""
        try:
            outcome = self.portal.power(VM_B, action)
        except PortalError as error:
            raise StepFailed(step, f"ARM {action} of VM-Win2019-2 failed: {error.body()}") from None
        if outcome.operation not in (None, "Succeeded"):
            raise StepFailed(step, f"ARM {action} of VM-Win2019-2 ended {outcome.operation}")

    def _status_after(self, since: float, good: Callable[[str], bool]) -> bool:
        """A status reply to alice posted after ``since`` that passes ``good``."""
        records = slack_control(
            self.running, "GET", "messages", channel=self.running.slack["channels"]["team-b"]
        )
        for record in records["messages"]:
            text = render(record["message"], {}, {})
            if float(record["message"]["ts"]) > since and record["ephemeral"] and "Latest sweep" in text:
                return good(text)
        return False

    def _mapping_dm(self, uid: str) -> str | None:
        dm = "D" + uid[1:]
        for record in slack_control(self.running, "GET", "messages", channel=uid)["messages"]:
            if record["channel"] != dm:
                continue
            text = render(record["message"], {}, {}) + "\n" + (record["message"].get("text") or "")
            found = MAPPING.search(plain(text, {}, {}))
            if found:
                return found.group(0)
        return None


class HandBuiltStory(Story):
    """The walkthrough's own estate (``--world seed-by-hand``): PrivateLink-01 on LB-temp's frontend,
    forwarded by the inbound NAT rule RDP. natlink takes it over; the map names the NAT rule."""

    service, exposes = "privatelink-01", "PrivateLink-01 on LB-temp's frontend fe (inbound NAT rule RDP)"
    create = "--lb LB-temp --frontend fe"

    def play(self) -> str:
        told = self.first_four()

        step = "5 (map)"
        self.heading("5. map: bob asks who sees which address")
        self.command(step, "bob", "team-a", f"map {self.service}")
        self.wait(
            step,
            lambda: self.find("team-a", "10.2.0.4:3389 (NAT rule RDP)", ephemeral=True),  # LB-temp: a link
            "the map row through LB-temp's NAT rule RDP",
        )
        self.t.show_new()

        step = "6 (status)"
        self.heading("6. status: alice reads the service live; the NAT rule has no health probe")
        asked = time.time()
        self.command(step, "alice", "team-b", f"status {self.service}")
        self.wait(
            step,
            lambda: self._status_after(asked, lambda text: "NAT rule RDP: no health probe" in text),
            "a status in #team-b saying the NAT rule RDP has no health probe",
        )
        self.t.show_new()

        self.heading("the mapping bob was sent")
        return told


STORIES: dict[str, type[Story]] = {
    "seed": Story,
    "walkthrough": Story,
    "seed-by-hand": HandBuiltStory,
}


def tour(out: Callable[[str], None] | None = None, world: str = "seed") -> int:
    """Play the story on a fresh temporary state; 0 when every step happened, 1 naming the one that did not."""

    def say(line: str) -> None:
        print(line, flush=True)

    emit = out or say
    raise_on_signals()
    scratch = Path(tempfile.mkdtemp(prefix="natlink-tour-"))
    children: list[Child] = []
    code, graceful = 1, 0.0
    emit(f"natlink sandbox --tour: the {world} story, on a fresh sandbox in a temporary directory.")
    try:

        def granted(channel: str, shown: str, _answer: Any) -> None:
            emit(f"admin in #{channel}: {shown}")

        running = start(
            scratch / "state",
            free_port(),
            children,
            bot_env={"NATLINK_DIGEST_CRON": "* * * * *"},
            on_grant=granted,
            world=world,
        )
        transcript = Transcript(running, emit)
        transcript.show_new()
        mapping = STORIES[world](running, transcript).play()
        emit(mapping)
        code = 0
    except StepFailed as failed:
        print(f"natlink sandbox --tour: {failed}", file=sys.stderr, flush=True)
        _logs(children)
    except Stopped as stopped:
        graceful = 2.0 if stopped.signum == signal.SIGINT else 0.0
        print(f"natlink sandbox --tour: {stopped} received, stopping.", file=sys.stderr, flush=True)
        code = 130
    except (StartFailed, TimeoutError, OSError, RuntimeError) as error:
        print(f"natlink sandbox --tour: step 0 (start) did not happen: {error}", file=sys.stderr, flush=True)
        _logs(children)
    finally:
        problems = stop(children, graceful_first=graceful)
        for line in problems:
            print(f"natlink sandbox --tour: {line}", file=sys.stderr, flush=True)
    if code == 0:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"natlink sandbox --tour: state and logs kept in {scratch}", file=sys.stderr, flush=True)
    return code


def _logs(children: list[Child]) -> None:
    for child in children:
        if child.name == "natlink serve":
            print(f"--- end of {child.log}:\n{child.tail(3000)}", file=sys.stderr, flush=True)
