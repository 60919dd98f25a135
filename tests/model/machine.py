"""The state machine: people, the portal, Azure's faults and restarts, against the real ``natlink serve``.

One sequence is one world: the sandbox ARM reset to the seed topology (plus a second consumer subnet),
the Slack stand-in reset, and a fresh ``natlink serve`` on a fresh database, which restarts keep. Every
rule acts the way its actor would (a signed slash command or click through the driver; the portal
through the real SDK; a fault through the ARM control API; a signal to the process), then waits until
natlink is quiet: no operation queued or running, no outbox event left to post, and no Slack call for
a moment. The invariant then reads Azure, natlink's database, the Slack log and the map, and compares.

Requests, cards, connections and endpoints are picked by position (``pick``) in lists read from the
world, so a sequence replays the same way whatever random request IDs natlink draws.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import PrivateEndpoint, PrivateLinkServiceConnection, Subnet
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sandbox.arm.launch import RunningSandbox
from sandbox.slack.driver import Delivery, Driver, Reply
from sandbox.slack.launch import RunningSlack
from tests.conftest import TEAM_A, TEAM_B, network_client
from tests.e2e.harness import RunningBot, start_bot

from . import azure, checks, natlink, reports
from .checks import Discrepancy, Memory
from .stats import Stats

REGION = "japaneast"
GROUPS = {TEAM_A: "rg-team-a", TEAM_B: "rg-team-b"}
SUBNETS = {
    "A/default": f"/subscriptions/{TEAM_A}/resourceGroups/rg-team-a/providers/Microsoft.Network/virtualNetworks/RG-normal-vnet/subnets/default",
    "A/other": f"/subscriptions/{TEAM_A}/resourceGroups/rg-team-a/providers/Microsoft.Network/virtualNetworks/RG-normal-vnet/subnets/other",
    "B/default": f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b/providers/Microsoft.Network/virtualNetworks/temp-vnet/subnets/default",
}
VMS = {"VM-Win2019-2": TEAM_B, "VM-Win2019": TEAM_A}
SERVICES = ("svc-a", "svc-a", "svc-b")  # repeated: one service is the common case, and shrinks to it
# Where a consumer asks from: a VM's subnet, or a subnet named (the second subnet of team A's VNet).
PLACES = {
    "VM-Win2019": "--vm VM-Win2019",
    "RG-normal-vnet/other": f"--vnet RG-normal-vnet --subnet other --subscription {TEAM_A}",
    "VM-Win2019-2": "--vm VM-Win2019-2",
}
DURATION = "5m"  # the shortest --for natlink accepts (commands/validate.py)

# name -> what the ARM control API arms. A 409 with a plain "Conflict" code is final (natlink retries only
# ARM's retryable 409s), so it fails the operation at once; a 503 five times outlasts natlink's four
# retries; a 429 once is absorbed by them; an LRO failure fails the resource's next long-running operation.
FAULTS: dict[str, dict[str, Any]] = {
    "409 on the connection PUT": {
        "method": "PUT",
        "path": r"/privateEndpointConnections/[^/]+$",
        "status": 409,
    },
    "409 on the connection DELETE": {
        "method": "DELETE",
        "path": r"/privateEndpointConnections/[^/]+$",
        "status": 409,
    },
    "409 on the endpoint PUT": {"method": "PUT", "path": r"/privateEndpoints/[^/]+$", "status": 409},
    "409 on the service PUT": {"method": "PUT", "path": r"/privateLinkServices/[^/]+$", "status": 409},
    "409 on the service DELETE": {"method": "DELETE", "path": r"/privateLinkServices/[^/]+$", "status": 409},
    "409 on the LB PUT": {"method": "PUT", "path": r"/loadBalancers/[^/]+$", "status": 409},
    "409 on the LB DELETE": {"method": "DELETE", "path": r"/loadBalancers/[^/]+$", "status": 409},
    "409 on the NIC PUT": {"method": "PUT", "path": r"/networkInterfaces/[^/]+$", "status": 409},
    "503 x5 on reading connections": {
        "method": "GET",
        "path": r"/privateEndpointConnections$",
        "status": 503,
        "count": 5,
        "slow": True,
    },
    "503 x5 on reading the service": {
        "method": "GET",
        "path": r"/privateLinkServices/[^/]+$",
        "status": 503,
        "count": 5,
        "slow": True,
    },
    "429 once on a PUT": {"method": "PUT", "path": r".", "status": 429, "slow": True},
    "LRO failure of the service": {"lro": "privateLinkServices"},
    "LRO failure of the endpoint": {"lro": "privateEndpoints"},
    "LRO failure of the LB": {"lro": "loadBalancers"},
    "LRO failure of a connection removal": {"lro": "privateEndpointConnections"},
}
NO_FAULT: tuple[None, ...] = (None, None, None)  # shrinks to no fault; a fault a quarter of the time


# Faults natlink rides out with its retries cost seconds each (Retry-After: 1 per retry), so CI leaves them
# to the soak; everything else fails at once.
SLOW_FAULTS = os.environ.get("NATLINK_SOAK") == "1" or os.environ.get("NATLINK_MODEL_SLOW_FAULTS") == "1"


def faults(*names: str) -> st.SearchStrategy[str | None]:
    chosen = [n for n in names if SLOW_FAULTS or not FAULTS[n].get("slow")]
    return st.sampled_from((*NO_FAULT, *chosen))


CREATE_FAULTS = faults(
    "409 on the service PUT",
    "409 on the LB PUT",
    "409 on the NIC PUT",
    "429 once on a PUT",
    "LRO failure of the service",
    "LRO failure of the LB",
)
REQUEST_FAULTS = faults(
    "409 on the endpoint PUT",
    "LRO failure of the endpoint",
    "503 x5 on reading the service",
    "429 once on a PUT",
)
DECIDE_FAULTS = faults("409 on the connection PUT", "503 x5 on reading connections", "429 once on a PUT")
REVOKE_FAULTS = faults(
    "409 on the connection DELETE", "LRO failure of a connection removal", "503 x5 on reading connections"
)
DELETE_FAULTS = faults(
    "409 on the connection PUT",
    "409 on the service DELETE",
    "LRO failure of the service",
    "409 on the LB PUT",
    "409 on the LB DELETE",
    "409 on the NIC PUT",
)
PICK = st.integers(min_value=0, max_value=7)

QUIET_SECONDS = 0.06  # no Slack call for this long, with nothing queued, is quiet
RESTART_EVERY = 8  # steps at least between restarts: each costs natlink's start (about a second of imports)
SETTLE_TIMEOUT = 90.0  # a kill -9 leaves the scheduler lease held for 30 s and running work stale for 3 s


class HarnessError(AssertionError):
    """The harness could not do what a step asked (not natlink's fault): never counted as a discrepancy."""


@dataclass
class Sandboxes:
    """The session's stand-ins and the clients the model reads and changes Azure with."""

    arm: RunningSandbox
    slack: RunningSlack
    credential: ClientSecretCredential
    workdirs: Callable[[], Path]
    networks: dict[str, NetworkManagementClient] = field(default_factory=dict)
    computes: dict[str, ComputeManagementClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for sub in (TEAM_A, TEAM_B):
            self.networks[sub] = network_client(self.arm, self.credential, sub)
            self.computes[sub] = ComputeManagementClient(
                self.credential,
                sub,
                base_url=self.arm.arm_url,
                connection_verify=self.arm.ca_bundle,
                polling_interval=0.05,
            )


@dataclass(frozen=True)
class Plan:
    """How the machine runs: raising at the first discrepancy (so Hypothesis shrinks it) or counting."""

    count: bool = False
    expiry_waits: int = 0  # times a run may wait (minutes each) for the scheduler to expire access


def _path(arm_id: str) -> tuple[str, str, str]:
    """subscription, resource group and name of an ARM ID."""
    parts = arm_id.split("/")
    return parts[2], parts[4], parts[-1]


def _guarded(step: Callable[..., None]) -> Callable[..., None]:
    """When counting, a step the harness could not finish (natlink never quiet, a process gone) is one
    discrepancy and ends the sequence's actions; raising would stop the whole run instead."""

    @functools.wraps(step)
    def run(self: NatlinkModel, **kwargs: Any) -> None:
        if self.broken:
            return self._nothing(f"{step.__name__}: skipped, an earlier step could not finish")
        try:
            step(self, **kwargs)
        except (HarnessError, RuntimeError, AssertionError, OSError) as error:
            if not self.plan.count:
                raise
            self.broken = True
            self._record(
                [Discrepancy("step-did-not-finish", step.__name__, f"{type(error).__name__}: {error}")]
            )

    return run


class NatlinkModel(RuleBasedStateMachine):
    sandboxes: ClassVar[Sandboxes]
    plan: ClassVar[Plan] = Plan()
    stats: ClassVar[Stats] = Stats()

    def __init__(self) -> None:
        super().__init__()
        self.memory = Memory()
        self.log: list[str] = []
        self.found: dict[tuple[str, str], Discrepancy] = {}
        self.broken = False
        self.bot: RunningBot | None = None
        self.last_delivery: Delivery | None = None
        self.seen_ops = 0
        self.blind = False  # this step's fault makes every read of Azure fail (see Memory.unseen)
        self.since_restart = 0
        self.create_failed: set[str] = set()
        self.map_key: object = None
        self.portal_count = 0
        self.expiry_tried = False
        self.view = natlink.View({}, (), (), ())
        self.truth = azure.Truth({}, (), {}, ())
        self.cards: list[tuple[str, str, str]] = []  # (channel, ts, request id) of cards with buttons
        self.stats.sequences += 1
        with self.stats.timed("new world and bot"):
            self._world()

    # -- the world ----------------------------------------------------------------------------
    @property
    def arm(self) -> RunningSandbox:
        return self.sandboxes.arm

    @property
    def slack(self) -> RunningSlack:
        return self.sandboxes.slack

    def _world(self) -> None:
        self.arm.control("DELETE", "faults")
        self.arm.control("PUT", "settings", {"page_size": 100, "lro_seconds": 0})
        self.arm.control("POST", "reset", {"world": "walkthrough"})  # the seed less the services to adopt
        self.arm.control("DELETE", "requests")
        network = self.sandboxes.networks[TEAM_A]
        vnet = network.virtual_networks.get("rg-team-a", "RG-normal-vnet")
        vnet.subnets.append(Subnet(name="other", address_prefix="10.0.1.0/24"))
        network.virtual_networks.begin_create_or_update("rg-team-a", "RG-normal-vnet", vnet).result()
        self.slack.control("POST", "reset")
        self.workdir = self.sandboxes.workdirs()
        self._start()
        alice, bob = self.slack.user("alice"), self.slack.user("bob")
        for text in (
            f"grant <@{alice}|alice> create {TEAM_A}",
            f"grant <@{alice}|alice> create {TEAM_B}",
            f"grant <@{bob}|bob> request {TEAM_A}",
            f"grant <@{bob}|bob> request {TEAM_B}",
            f"subscribe * <#{self.slack.channel('team-a')}|team-a> --events all",
        ):
            self._send("admin", "#team-b", text)
        self._until(lambda: natlink.meta(self.db, "last_sweep") is not None, 30, "the first sweep (baseline)")
        self.memory.swept(time.time())
        self._settle()

    def _start(self) -> None:
        self.bot = start_bot(self.arm, self.slack, self.workdir)
        self.driver = Driver(f"{self.bot.url}/slack/events", self.slack.config)

    @property
    def db(self) -> Path:
        return self.workdir / "natlink.db"

    def teardown(self) -> None:
        """The world is thrown away: kill -9 is enough (the restart rule checks that SIGTERM is clean)."""
        if self.bot is not None and self.bot.process.poll() is None:
            self.bot.process.kill()
            self.bot.process.wait(10)
        self.arm.control("DELETE", "faults")

    # -- acting -------------------------------------------------------------------------------
    def _nothing(self, text: str) -> None:
        """A step with nothing to act on (the rule's list is empty): drawn all the same, so that what
        Hypothesis draws never depends on the world, and a sequence replays the same way."""
        self._step(f"({text})")

    def _step(self, text: str) -> None:
        self.log.append(text)
        self.stats.steps += 1
        self.since_restart += 1

    def _send(self, user: str, channel: str, text: str) -> Reply:
        reply = self.driver.slash_command(user, channel, text)
        if reply.status != 200:
            raise HarnessError(f"natlink answered {reply.status} to {text!r}: {reply.text[:300]}")
        self.last_delivery = reply.delivery
        return reply

    def _arm_fault(self, name: str | None) -> None:
        if name is None:
            return
        spec = dict(FAULTS[name])
        spec.pop("slow", None)
        if "lro" in spec:
            self.arm.control("POST", "lro-failures", {"type": spec["lro"], "code": "InternalServerError"})
        else:
            spec.setdefault("code", "Conflict" if spec["status"] == 409 else None)
            self.arm.control("POST", "faults", {k: v for k, v in spec.items() if v is not None})
        self.stats.faults[name] += 1
        self.blind = name.startswith("503 x5 on reading")

    def _until(self, probe: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not probe():
            if self.bot is not None and self.bot.process.poll() is not None:
                raise HarnessError(
                    f"natlink serve exited with {self.bot.process.returncode}; log {self.bot.log}"
                )
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"timed out after {timeout}s waiting for {what}; log {self.bot and self.bot.log}"
                )
            time.sleep(0.02)

    def _settle(self, timeout: float = SETTLE_TIMEOUT, answered_after: int | None = None) -> None:
        """Quiet: nothing queued or running, the outbox empty, and Slack not called for QUIET_SECONDS.

        A click is acknowledged before natlink acts on it, so with ``answered_after`` (the number of
        Slack calls before it) quiet also needs a first sign of its work: a Slack call or an operation.
        """
        state = {"calls": -1, "since": 0.0, "begun": answered_after is None}

        def quiet() -> bool:
            ops, events = natlink.busy(self.db)
            calls = len(self.slack.calls())
            now = time.monotonic()
            state["begun"] = state["begun"] or bool(ops) or calls > (answered_after or 0)
            if ops or events or calls != state["calls"] or not state["begun"]:
                state["calls"], state["since"] = calls, now
                return False
            return now - state["since"] >= QUIET_SECONDS

        with self.stats.timed("wait for quiet"):
            self._until(quiet, timeout, "natlink to finish the step's work")
        self.arm.control("DELETE", "faults")

    def _after(self) -> None:
        """Bookkeeping once quiet: what natlink's operations of this step reported."""
        self.view = natlink.read(self.db)
        if self.blind and any(op.state == "failed" for op in self.view.operations[self.seen_ops :]):
            self.memory.unseen(at=time.time())
        self.blind = False
        for op in self.view.operations[self.seen_ops :]:
            args = _args(op.args)
            name = str(args.get("name") or args.get("service") or "").lower()
            if op.kind == "create" and op.state == "failed":
                self.create_failed.add(name)
            if op.state == "failed" and name:
                self.memory.failed_since_sweep.add(name)
        self.seen_ops = len(self.view.operations)

    def _act(self, user: str, channel: str, text: str, fault: str | None = None) -> None:
        self._arm_fault(fault)
        self._send(user, channel, text)
        self._settle()
        self._after()

    def _ranked(self, first: tuple[str, ...]) -> list[natlink.Request]:
        """Requests to pick from: those in the ``first`` states, newest first, then the rest, newest
        first; so a pick that shrinks to 0 names the request a person would most likely act on."""
        newest = list(reversed(self.view.requests))
        return [r for r in newest if r.state in first] + [r for r in newest if r.state not in first]

    # -- rules: people, through Slack -----------------------------------------------------------
    @initialize(vm=st.sampled_from(("VM-Win2019-2", "VM-Win2019")), port=st.sampled_from((3389, 443)))
    @_guarded
    def a_service_to_begin_with(self, vm: str, port: int) -> None:
        """Nearly everything needs a service: every sequence starts with one (later steps may delete it)."""
        self._step(f"alice: /natlink create svc-a --vm {vm} --port {port}")
        self._act("alice", "#team-b", f"create svc-a --vm {vm} --port {port}")

    @rule(
        name=st.sampled_from(SERVICES),
        vm=st.sampled_from(("VM-Win2019-2", "VM-Win2019-2", "VM-Win2019")),
        port=st.sampled_from((3389, 443)),
        fault=CREATE_FAULTS,
    )
    @_guarded
    def create(self, name: str, vm: str, port: int, fault: str | None) -> None:
        self._step(f"alice: /natlink create {name} --vm {vm} --port {port}  [fault: {fault}]")
        self._act("alice", "#team-b", f"create {name} --vm {vm} --port {port}", fault)

    @rule(
        service=st.sampled_from(SERVICES),
        place=st.sampled_from(("VM-Win2019", *PLACES)),  # a VM's own subnet is the common case
        endpoint=st.sampled_from((None, "pe-bob")),
        timed=st.booleans(),
        fault=REQUEST_FAULTS,
    )
    @_guarded
    def request(self, service: str, place: str, endpoint: str | None, timed: bool, fault: str | None) -> None:
        text = (
            f"request {service} {PLACES[place]} --reason 'model test'"
            + (f" --name {endpoint}" if endpoint else "")
            + (f" --for {DURATION}" if timed else "")
        )
        self._step(f"bob: /natlink {text}  [fault: {fault}]")
        self._act("bob", "#team-a", text, fault)

    @rule(
        pick=PICK,
        verb=st.sampled_from(("approve", "approve", "reject")),
        via=st.sampled_from(("click", "command")),
        who=st.sampled_from(("alice", "alice", "carol", "bob")),
        timed=st.booleans(),
        fault=DECIDE_FAULTS,
    )
    @_guarded
    def decide(self, pick: int, verb: str, via: str, who: str, timed: bool, fault: str | None) -> None:
        """An owner (alice), or someone who may not (carol; bob, the requester), approves or rejects:
        by clicking a card that still has buttons, or by command."""
        if via == "click":
            if not self.cards:
                return self._nothing(f"{who} would click {verb} on a card: no card has buttons")
            channel, ts, request_id = self.cards[pick % len(self.cards)]
            self._step(f"{who}: clicks {verb} on the card of {request_id}  [fault: {fault}]")
            return self._click(who, channel, ts, verb, request_id, fault)
        if not self.view.requests:
            return self._nothing(f"{who} would {verb} a request: there is none")
        request = self._ranked(("pending",))[pick % len(self.view.requests)]
        text = f"{verb} {request.id}" + (f" --for {DURATION}" if timed and verb == "approve" else "")
        self._step(f"{who}: /natlink {text} (it is {request.state})  [fault: {fault}]")
        self._act(who, "#team-b", text, fault)

    @rule(via=st.sampled_from(("click", "command")), timed=st.booleans(), fault=DECIDE_FAULTS)
    @_guarded
    def owner_approves(self, via: str, timed: bool, fault: str | None) -> None:
        """The common case of ``decide``: an owner approves the newest request waiting for a decision."""
        waiting = self._ranked(("pending",))
        if not waiting or waiting[0].state != "pending":
            return self._nothing("alice would approve the newest pending request: none is pending")
        request = waiting[0]
        card = next((c for c in self.cards if c[2] == request.id), None)
        if via == "click" and card is not None:
            self._step(f"alice: clicks approve on the card of {request.id}  [fault: {fault}]")
            return self._click("alice", card[0], card[1], "approve", request.id, fault)
        text = f"approve {request.id}" + (f" --for {DURATION}" if timed else "")
        self._step(f"alice: /natlink {text}  [fault: {fault}]")
        self._act("alice", "#team-b", text, fault)

    def _click(self, who: str, channel: str, ts: str, verb: str, request_id: str, fault: str | None) -> None:
        self._arm_fault(fault)
        started, before = time.time(), len(self.slack.calls())
        reply = self.driver.click(who, channel, ts, f"natlink_{verb}")
        if reply.status != 200:
            raise HarnessError(f"natlink answered {reply.status} to a click: {reply.text[:300]}")
        self.last_delivery = reply.delivery
        if verb == "reject":
            view = self._reject_modal(who, request_id, started)
            if view is not None:
                before = len(self.slack.calls())
                reply = self.driver.submit_view(who, view, {"reason": {"value": "not now"}})
                if reply.status != 200:
                    raise HarnessError(
                        f"natlink answered {reply.status} to the reject form: {reply.text[:300]}"
                    )
        self._settle(answered_after=before)
        self._after()

    def _reject_modal(self, who: str, request_id: str, since: float) -> dict[str, Any] | None:
        """The reject form natlink opened for this click, or None once it answered otherwise (a refusal)."""
        uid = self.slack.user(who)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            views = [
                v
                for v in self.slack.control("GET", "views")["views"]
                if v.get("user") == uid and str(v.get("private_metadata", "")).startswith(f"{request_id}|")
            ]
            if views:
                return views[-1]
            if any(c["time"] >= since for c in self.slack.calls("chat.postEphemeral")):
                return None
            time.sleep(0.02)
        raise HarnessError(f"no reject form and no answer for {who}'s click on {request_id}")

    @rule(pick=PICK, fault=REVOKE_FAULTS)
    @_guarded
    def revoke(self, pick: int, fault: str | None) -> None:
        if not self.view.requests:
            return self._nothing("alice would revoke a request: there is none")
        request = self._ranked(("approved",))[pick % len(self.view.requests)]
        self._step(f"alice: /natlink revoke {request.id} (it is {request.state})  [fault: {fault}]")
        self._act("alice", "#team-b", f"revoke {request.id}", fault)

    @rule(name=st.sampled_from(SERVICES), force=st.booleans(), fault=DELETE_FAULTS)
    @_guarded
    def delete(self, name: str, force: bool, fault: str | None) -> None:
        text = f"delete {name}" + (" --force" if force else "")
        self._step(f"alice: /natlink {text}  [fault: {fault}]")
        self._act("alice", "#team-b", text, fault)

    @rule(who=st.sampled_from(("alice", "bob", "carol", "admin")))
    @_guarded
    def sweep(self, who: str) -> None:
        """`/natlink status --refresh` sweeps now, unless natlink shares a sweep of the last 10 s or the
        person refreshed within a minute (commands/refresh.py); only a sweep that ran counts as one."""
        self._step(f"{who}: /natlink status --refresh (a sweep)")
        started = time.time()
        self._act(who, "#team-b", "status --refresh")
        last = natlink.meta(self.db, "last_sweep")
        if last and (natlink.instant(json.loads(last)) or 0) >= started:
            self.memory.swept(started)
            self.stats.sweeps += 1
            self.log[-1] += " - swept"
        else:
            self.log[-1] += " - answered from an earlier sweep"

    @rule()
    @_guarded
    def slack_retries_the_last_delivery(self) -> None:
        if self.last_delivery is None:
            return self._nothing("Slack would retry a delivery: none was sent")
        self._step("Slack retries the last delivery")
        again = Delivery(self.driver.bot_url or "", self.last_delivery.body, self.last_delivery.headers)
        before = len(self.slack.calls())
        reply = self.driver.replay(again)
        interactive = again.body.startswith(b"payload=") and reply.status == 200
        self._settle(answered_after=before if interactive else None)
        self._after()

    # -- rules: the portal, straight in Azure ---------------------------------------------------
    @rule(pick=PICK, change=st.sampled_from(("Approved", "Rejected", "removed", "endpoint deleted")))
    @_guarded
    def portal_changes_a_connection(self, pick: int, change: str) -> None:
        """Someone approves, rejects or removes a connection on the provider's side, or deletes the
        consumer's endpoint, in the portal."""
        if not self.truth.connections:
            return self._nothing(f"the portal would change a connection ({change}): there is none")
        connections = sorted(self.truth.connections, key=lambda c: azure.key(c.id))
        conn = connections[pick % len(connections)]
        name = conn.id.rsplit("/", 1)[-1]
        self._step(f"portal: connection {name} on {conn.pls_name} (was {conn.status}): {change}")
        sub, group, pls = _path(conn.pls_id)
        services = self.sandboxes.networks[sub].private_link_services
        try:
            if change == "endpoint deleted":
                pe_sub, pe_group, pe_name = _path(conn.pe_id)
                self.sandboxes.networks[pe_sub].private_endpoints.begin_delete(pe_group, pe_name).result()
            elif change == "removed":
                services.begin_delete_private_endpoint_connection(group, pls, name).result()
            else:
                current = services.get_private_endpoint_connection(group, pls, name)
                state = current.private_link_service_connection_state
                state.status, state.description = change, f"{change} in the portal"
                services.update_private_endpoint_connection(group, pls, name, current)
        except HttpResponseError as error:
            self.log.append(f"  (the portal was refused: {error.status_code} {error.message[:120]})")
        self.memory.touch(conn.id, conn.pe_id, at=time.time())
        self.stats.portal += 1
        self._settle()
        self._after()

    @rule(service=st.sampled_from(SERVICES), subnet=st.sampled_from(tuple(SUBNETS)))
    @_guarded
    def portal_creates_an_endpoint(self, service: str, subnet: str) -> None:
        """Someone makes an endpoint to a natlink service's alias in the portal, outside natlink."""
        found = self.view.active().get(service)
        if found is None:
            return self._nothing(
                f"the portal would make an endpoint to {service}: natlink has no such service"
            )
        self.portal_count += 1
        name = f"portal-pe-{self.portal_count}"
        self._step(f"portal: private endpoint {name} in {subnet} to {service}'s alias")
        subnet_id = SUBNETS[subnet]
        sub, group, _ = _path(subnet_id)
        body = PrivateEndpoint(
            location=REGION,
            subnet=Subnet(id=subnet_id),
            manual_private_link_service_connections=[
                PrivateLinkServiceConnection(
                    name=name, private_link_service_id=found.alias, request_message="Created in the portal"
                )
            ],
        )
        try:
            made = (
                self.sandboxes.networks[sub]
                .private_endpoints.begin_create_or_update(group, name, body)
                .result()
            )
            self.memory.portal_endpoints[azure.key(made.id)] = time.time()
            self.memory.touch(made.id, at=time.time())
        except HttpResponseError as error:
            self.log.append(f"  (the portal was refused: {error.status_code} {error.message[:120]})")
        self.stats.portal += 1
        self._settle()
        self._after()

    @rule(vm=st.sampled_from(tuple(VMS)), action=st.sampled_from(("powerOff", "start")))
    @_guarded
    def portal_powers_a_vm(self, vm: str, action: str) -> None:
        self._step(f"portal: {action} {vm}")
        sub = VMS[vm]
        machines = self.sandboxes.computes[sub].virtual_machines
        (machines.begin_power_off if action == "powerOff" else machines.begin_start)(GROUPS[sub], vm).result()
        self.stats.portal += 1
        self._settle()
        self._after()

    # -- rules: the process ---------------------------------------------------------------------
    def _may_restart(self) -> bool:
        return self.since_restart >= RESTART_EVERY

    @precondition(_may_restart)
    @rule(
        how=st.sampled_from(("SIGTERM", "SIGKILL")),
        during=st.sampled_from((None, None, None, "create", "request", "approve", "revoke", "delete")),
        delay=st.sampled_from((0.0, 0.03, 0.08)),
    )
    @_guarded
    def restart(self, how: str, during: str | None, delay: float) -> None:
        """Stop `natlink serve` (cleanly, or kill -9), optionally just after a command, and start it again
        on the same database."""
        assert self.bot is not None
        text = None
        if during in ("approve", "revoke") and self.view.requests:
            text = f"{during} {self.view.requests[-1].id}"
        elif during == "create":
            text = "create svc-a --vm VM-Win2019-2 --port 3389"
        elif during == "request":
            text = "request svc-a --vm VM-Win2019"
        elif during == "delete":
            text = "delete svc-a --force"
        self._step(
            f"restart natlink serve with {how}" + (f", {delay}s after /natlink {text}" if text else "")
        )
        if text:
            self._send(
                "bob" if during == "request" else "alice",
                "#team-a" if during == "request" else "#team-b",
                text,
            )
            time.sleep(delay)
        if how == "SIGTERM":
            code = self.bot.stop(signal.SIGTERM, timeout=40)
            if code != 0:
                self._record([Discrepancy("unclean-exit-on-sigterm", "natlink serve", f"exit code {code}")])
        else:
            self.bot.process.kill()
            self.bot.process.wait(10)
        self.since_restart = 0
        self.stats.restarts[how + (" mid-operation" if text else "")] += 1
        with self.stats.timed("restart"):
            self._start()
        self._settle()
        self._after()

    def _may_wait_for_expiry(self) -> bool:
        return self.plan.expiry_waits > 0  # the plan's, not the world's: draws must not depend on the world

    @precondition(_may_wait_for_expiry)
    @rule()
    @_guarded
    def time_passes_until_access_expires(self) -> None:
        """Real time, minutes of it: the shortest access natlink grants is 5 minutes and its expiry job
        runs every 60 s (neither can be set shorter), so only the soak waits, once a sequence at most and
        ``plan.expiry_waits`` times a run. The wait ends when natlink removed the access, or when it is
        overdue; the invariant then judges."""
        timed = [r for r in self.view.requests if r.state == "approved" and r.expires_at is not None]
        if not timed:
            return self._nothing("time would pass until access expires: no approved access has an end")
        if self.expiry_tried or self.stats.expiry_waits >= self.plan.expiry_waits:
            return self._nothing("time would pass until access expires: this run has waited enough")
        self.expiry_tried = True
        first = min(timed, key=lambda r: r.expires_at or 0)
        at = time.strftime("%H:%M:%S", time.localtime(first.expires_at))
        self._step(f"time passes until {first.id} expires (at {at})")
        self.stats.expiry_waits += 1
        deadline = (first.expires_at or 0) + checks.EXPIRY_GRACE + 1
        with self.stats.timed("wait for expiry"):
            while time.time() < deadline:
                found = natlink.read(self.db).request(first.id)
                if found is None or found.state != "approved":
                    break
                time.sleep(1)
        self._settle()
        self._after()
        if (found := self.view.request(first.id)) and found.state != "approved":
            self.stats.expired += 1

    # -- the invariant --------------------------------------------------------------------------
    @invariant()
    def natlink_agrees_with_azure(self) -> None:
        if self.broken:
            return
        try:
            self._compare()
        except (HarnessError, RuntimeError, OSError) as error:
            if not self.plan.count:
                raise
            self.broken = True
            self._record(
                [Discrepancy("step-did-not-finish", "the invariant", f"{type(error).__name__}: {error}")]
            )

    def _compare(self) -> None:
        with self.stats.timed("read Azure"):
            self.truth = azure.read(self.sandboxes.networks.values())
        with self.stats.timed("read natlink"):
            self.view = natlink.read(self.db)
            said = reports.extract(self.slack.calls())
        self.memory.excuse_leftovers(self.truth, self.view, self.create_failed)
        self.create_failed = set()
        with self.stats.timed("compare"):
            found = checks.check(self.truth, self.view, said, self.memory, time.time())
        with self.stats.timed("map"):
            found += self._map(self.truth, self.view)
        for name, service in self.view.services.items():
            if service.state == "active":
                self.memory.lives.setdefault(name, azure.key(service.pls_id))
            else:
                self.memory.lives.pop(name, None)
        with self.stats.timed("read natlink"):
            self.cards = self._live_cards()
        self._record(found)

    def _map(self, truth: azure.Truth, view: natlink.View) -> list[Discrepancy]:
        """`/natlink map`, asked again whenever Azure or natlink's services changed since the last ask."""
        now_key = (
            truth.fingerprint(),
            tuple(sorted((k, s.pls_id.lower()) for k, s in view.active().items())),
        )
        if now_key == self.map_key:
            return []
        self.map_key = now_key
        started = time.time()
        self._send("carol", "#team-a", "map")
        self._settle()
        self.stats.maps += 1
        for call in reversed(self.slack.calls()):
            if call["time"] < started:
                break
            text = str((call.get("args") or {}).get("text") or "")
            if text.startswith(("Address map", "No connections")) or "No connections to map" in text:
                lines = [
                    line for t in reports.texts(call["args"].get("blocks") or []) for line in t.split("\n")
                ]
                return checks.map_matches(lines, truth, view)
        raise HarnessError("no reply to /natlink map")

    def _live_cards(self) -> list[tuple[str, str, str]]:
        """Cards with buttons, newest first."""
        live = []
        for record in self.slack.messages():
            for request_id in reports.buttons(record["message"].get("blocks") or [], reports.APPROVE):
                live.append((record["channel"], record["message"]["ts"], request_id))
        return sorted(live, key=lambda card: float(card[1]), reverse=True)

    def _record(self, found: list[Discrepancy]) -> None:
        new = [d for d in found if (d.kind, d.subject) not in self.found]
        for d in new:
            self.found[(d.kind, d.subject)] = d
            self.stats.discrepancy(d, self.log)
        if new and not self.plan.count:
            steps = "\n".join(f"  {i + 1}. {s}" for i, s in enumerate(self.log))
            raise AssertionError(
                "natlink and Azure disagree:\n"
                + "\n".join(f"  {d}" for d in new)
                + f"\nafter:\n{steps}\nbot log: {self.bot.log if self.bot else '-'}"
            )


def _args(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
