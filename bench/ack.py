"""The bot issue's benchmark: how fast ``natlink serve`` acks slash commands under load, and how long
the Azure work they queue takes to drain.

Each repeat starts a fresh ``python -m bot.cli serve`` (fresh SQLite database, default 4 workers,
default 30 s stale deadline) wired, as ``tests/e2e/harness.py`` wires it, to one sandbox ARM (LRO time 2 s, world reset to the
seed) and one sandbox Slack (workspace reset), all child processes on 127.0.0.1.

Setup, untimed: the admin grants alice ``create`` on Team B and bob ``request`` on Team A, and alice
creates ``rdp-vmb`` on VM-Win2019-2:3389, waited for, so that requests have a service to target.

Load: ``COMMANDS`` signed slash commands, ``CONCURRENCY`` at a time from a thread pool, in this mix
(interleaved, so every kind is in flight throughout):

* ``CREATES`` x ``create svc-<i> --vm VM-Win2019-2 --port <1000+i>`` by alice: distinct services and
  ports on the seed VM, so each adds its own frontend, rule and probe to the one natlink LB of
  VM-Win2019-2's subnet (a read-modify-write of one shared resource);
* ``REQUESTS`` x ``request rdp-vmb --vm VM-Win2019 --name pe-<i>`` by bob: one private endpoint each,
  distinct names, all connecting to rdp-vmb;
* the rest: ``status rdp-vmb`` by bob (a whole-inventory read, no LRO).

Every command queues an operation. Why not 200 creates: with 2 s LROs one create is about four
LROs (LB, NIC, subnet the first time, PLS), and the 4 workers would need minutes per repeat; the
creates on one LB are also the interesting contention, so a smaller share of them is enough.

Measured per repeat:

* ack latency: from sending the signed POST (``Driver.send``, after the driver has obtained its
  trigger ID and response URL from the Slack stand-in) to the HTTP response; p50, p99 and max;
* HTTP statuses and acks that were not "Queued";
* drain: seconds from the first send until ``storage.operations.unfinished`` is empty, bounded by
  ``DRAIN_TIMEOUT_S``, with succeeded/failed counts per kind and the distinct errors;
* the bot's peak RSS (``VmHWM`` of the bot process, read just before stopping it).

Evidence for where ack time goes, per repeat: ack p50/p99 by verb; 20 sequential ``help`` on the
idle bot before the load (bolt + waitress + signature, no SQLite write); CPU seconds the bot, the
sandboxes and this client used while the commands were being sent (all share the host's CPUs); waitress's deepest task queue (its 8
threads against 20 concurrent POSTs); the natlink LB's frontend/rule/probe counts, which must
equal the creates (a lost read-modify-write update would show as fewer).

Repeats report medians with min/max, and PASS/FAIL for p99 < ``P99_TARGET_MS``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import pass_fail, percentile, spread
from sandbox.arm import launch
from sandbox.slack import launch as slack_launch
from sandbox.slack.driver import Delivery, Driver, Reply
from storage import operations
from storage.database import open_database
from tests.e2e.harness import RunningBot, start_bot, wait_for

TEAM_A = "11111111-1111-1111-1111-111111111111"
TEAM_B = "22222222-2222-2222-2222-222222222222"
COMMANDS = 200
CONCURRENCY = 20
CREATES = 20
REQUESTS = 40
REPEATS = 3
LRO_SECONDS = 2
P99_TARGET_MS = 300.0
DRAIN_TIMEOUT_S = 120.0
SETUP_TIMEOUT_S = 60.0
STALE_SECONDS = 30  # natlink's default; the e2e harness's 3 s would make heartbeats write 10x as often


class TimedDriver(Driver):
    """A driver that records how long each signed POST took, from send to response."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self._lock = threading.Lock()
        self._last = threading.local()

    def send(self, delivery: Delivery) -> Reply:
        began = time.perf_counter()
        reply = super().send(delivery)
        elapsed = time.perf_counter() - began
        with self._lock:
            self.latencies.append(elapsed)
        self._last.seconds = elapsed
        return reply

    def last_seconds(self) -> float:
        """The latency of this thread's last POST."""
        return self._last.seconds


def run() -> dict[str, Any]:
    """Start the sandboxes once, run ``REPEATS`` repeats each with a fresh bot, always stop everything."""
    arm = launch.start()
    slack = None
    try:
        slack = slack_launch.start()
        with tempfile.TemporaryDirectory(prefix="natlink-bench-ack-") as tmp:
            runs = [measure(arm, slack, Path(tmp) / f"run-{i}") for i in range(REPEATS)]
        return summary(runs)
    finally:
        if slack is not None:
            slack.stop()
        arm.stop()


def commands() -> list[tuple[str, str, str]]:
    """(user, channel, text) for the load, the kinds interleaved so each is in flight throughout."""
    creates = [
        ("alice", "#team-b", f"create svc-{i} --vm VM-Win2019-2 --port {1000 + i}") for i in range(CREATES)
    ]
    asks = [("bob", "#team-a", f"request rdp-vmb --vm VM-Win2019 --name pe-{i}") for i in range(REQUESTS)]
    reads = [("bob", "#team-a", "status rdp-vmb")] * (COMMANDS - CREATES - REQUESTS)
    # each pool spread evenly over the run: sort by the fraction of its own pool already placed
    placed = [
        (j / len(pool), k, cmd) for k, pool in enumerate((creates, asks, reads)) for j, cmd in enumerate(pool)
    ]
    return [cmd for *_, cmd in sorted(placed)]


def reset(arm: launch.RunningSandbox, slack: slack_launch.RunningSlack) -> None:
    """The seed world, LRO time ``LRO_SECONDS``, no faults, an empty request log and Slack workspace."""
    arm.control("DELETE", "faults")
    arm.control("PUT", "settings", {"page_size": 100, "lro_seconds": LRO_SECONDS})
    arm.control("POST", "reset", {"world": "seed"})
    arm.control("DELETE", "requests")
    slack.control("POST", "reset")


def setup(driver: Driver, slack: slack_launch.RunningSlack, db_path: Path) -> float:
    """Grants and the service requests go to, waited for; returns its seconds (not part of the load)."""
    began = time.perf_counter()
    alice, bob = slack.user("alice"), slack.user("bob")
    for user, channel, text in (
        ("admin", "#team-b", f"grant <@{alice}|alice> create {TEAM_B}"),
        ("admin", "#team-a", f"grant <@{bob}|bob> request {TEAM_A}"),
        ("alice", "#team-b", "create rdp-vmb --vm VM-Win2019-2 --port 3389"),
    ):
        reply = driver.slash_command(user, channel, text)
        if reply.status != 200:
            raise RuntimeError(f"setup {text!r} answered {reply.status}: {reply.text}")
    db = open_database(db_path)
    try:
        wait_for(lambda: not operations.unfinished(db), SETUP_TIMEOUT_S, "the setup create to finish")
        ops = operations.list_operations(db, limit=10)
    finally:
        db.close()
    failed = [op for op in ops if op.state != "succeeded"]
    if failed:
        raise RuntimeError(f"setup failed: {[(op.kind, op.state, op.error) for op in failed]}")
    driver.latencies.clear()
    return time.perf_counter() - began


def send_all(
    driver: TimedDriver, load: list[tuple[str, str, str]]
) -> list[tuple[Reply | Exception, float | None]]:
    """Every command, ``CONCURRENCY`` at a time: (reply or exception, seconds of the signed POST)."""

    def one(command: tuple[str, str, str]) -> tuple[Reply | Exception, float | None]:
        try:
            return driver.slash_command(*command), driver.last_seconds()
        except Exception as error:  # a refused or timed-out POST is a result, not a crash of the bench
            return error, None

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(one, load))


def drain(db_path: Path, deadline: float) -> tuple[bool, int]:
    """Poll until no operation is queued or running, or until ``deadline``; (drained, left)."""
    db = open_database(db_path)
    try:
        while True:
            left = len(operations.unfinished(db))
            if left == 0 or time.perf_counter() > deadline:
                return left == 0, left
            time.sleep(0.1)
    finally:
        db.close()


def outcomes(db_path: Path) -> dict[str, Any]:
    """Operations by kind and final state, and the distinct errors with their counts."""
    db = open_database(db_path)
    try:
        ops = operations.list_operations(db, limit=10_000)
    finally:
        db.close()
    by_kind: dict[str, Counter[str]] = {}
    errors: Counter[str] = Counter()
    for op in ops:
        by_kind.setdefault(op.kind, Counter())[op.state] += 1
        if op.error:
            errors[op.error[:200]] += 1
    return {
        "operations": len(ops),
        "succeeded": sum(op.state == "succeeded" for op in ops),
        "failed": sum(op.state == "failed" for op in ops),
        "by_kind": {kind: dict(states) for kind, states in sorted(by_kind.items())},
        "errors": dict(errors.most_common(5)),
    }


def peak_rss_mb(pid: int) -> float:
    """The process's ``VmHWM`` (peak resident set), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def measure(arm: launch.RunningSandbox, slack: slack_launch.RunningSlack, workdir: Path) -> dict[str, Any]:
    """One repeat: fresh world and bot, setup, the load, the drain; the bot is stopped in ``finally``."""
    workdir.mkdir(parents=True)
    reset(arm, slack)
    bot: RunningBot | None = None
    try:
        bot = start_bot(arm, slack, workdir, NATLINK_STALE_SECONDS=str(STALE_SECONDS))
        driver = TimedDriver(f"{bot.url}/slack/events", slack.config, timeout=30)
        setup_s = setup(driver, slack, workdir / "natlink.db")
        idle = sequential_help(driver)
        load = commands()
        pids = bot.process.pid, arm.process.pid, slack.process.pid
        cpu_before = [cpu_seconds(pid) for pid in pids]
        client_before = time.process_time()
        began = time.perf_counter()
        results = send_all(driver, load)
        sent_s = time.perf_counter() - began
        cpu_after = [cpu_seconds(pid) for pid in pids]
        drained, left = drain(workdir / "natlink.db", began + DRAIN_TIMEOUT_S)
        drain_s = time.perf_counter() - began
        rss = peak_rss_mb(bot.process.pid)
        replies = [r for r, _ in results]
        statuses = Counter(r.status if isinstance(r, Reply) else type(r).__name__ for r in replies)
        not_queued = [
            (text, r.text[:160] if isinstance(r, Reply) else repr(r))
            for (_, _, text), r in zip(load, replies, strict=True)
            if not (isinstance(r, Reply) and r.status == 200 and "Queued" in r.text)
        ]
        by_kind: dict[str, list[float]] = {}
        for (_, _, text), (_, seconds) in zip(load, results, strict=True):
            if seconds is not None:
                by_kind.setdefault(text.split()[0], []).append(seconds * 1000)
        return {
            "ack_ms": [s * 1000 for _, s in results if s is not None],
            "ack_by_kind_ms": {
                kind: {"n": len(v), "p50": round(percentile(v, 0.5), 1), "p99": round(percentile(v, 0.99), 1)}
                for kind, v in sorted(by_kind.items())
            },
            "idle_sequential_help_ms": idle,
            "setup_s": setup_s,
            "sent_s": sent_s,
            "cpu_while_sending_s": {
                "bot": round(cpu_after[0] - cpu_before[0], 2),
                "arm_sandbox": round(cpu_after[1] - cpu_before[1], 2),
                "slack_sandbox": round(cpu_after[2] - cpu_before[2], 2),
                "bench_client": round(time.process_time() - client_before, 2),
                "wall": round(sent_s, 2),
            },
            "drain_s": drain_s,
            "drained": drained,
            "left": left,
            "statuses": {str(k): v for k, v in statuses.items()},
            "not_queued": len(not_queued),
            "not_queued_examples": not_queued[:3],
            "peak_rss_mb": rss,
            "outcomes": outcomes(workdir / "natlink.db"),
            "natlink_lb": natlink_lb(arm),
            "arm_requests": arm.control("GET", "requests")["total"],
            "waitress_queue_depth_max": queue_depth(bot.log),
            "bot_log_problems": _errors_in(bot.log),
        }
    finally:
        if bot is not None:
            bot.stop()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sequential_help(driver: TimedDriver, count: int = 20) -> dict[str, float]:
    """``help`` one at a time on the idle bot (no queue, no SQLite write): bolt + waitress + signature."""
    ms = []
    for _ in range(count):
        reply = driver.slash_command("bob", "#team-a", "help")
        if reply.status != 200:
            raise RuntimeError(f"help answered {reply.status}: {reply.text}")
        ms.append(driver.last_seconds() * 1000)
    driver.latencies.clear()
    return {"p50": round(percentile(ms, 0.5), 1), "max": round(max(ms), 1)}


def natlink_lb(arm: launch.RunningSandbox) -> dict[str, int]:
    """Frontends, rules and probes on natlink's LBs: every create must leave its own (no lost update)."""
    lbs = [
        r
        for r in arm.control("GET", "state")["resources"]
        if r.get("type", "").lower() == "microsoft.network/loadbalancers"
        and (r.get("tags") or {}).get("managed-by") == "natlink"
    ]
    props = [lb.get("properties") or {} for lb in lbs]
    return {
        "load_balancers": len(lbs),
        "frontends": sum(len(p.get("frontendIPConfigurations") or []) for p in props),
        "rules": sum(len(p.get("loadBalancingRules") or []) for p in props),
        "probes": sum(len(p.get("probes") or []) for p in props),
        "expected_frontends": CREATES + 1,
    }


def queue_depth(log: Path) -> int:
    """The deepest waitress task queue the bot logged: requests waiting for one of its threads."""
    depths = [
        int(line.rsplit(" ", 1)[1]) for line in log.read_text().splitlines() if "Task queue depth is" in line
    ]
    return max(depths, default=0)


def _errors_in(log: Path) -> list[str]:
    """The bot log's warnings and errors (first few), for the report's evidence."""
    lines = [
        line
        for line in log.read_text().splitlines()
        if (" WARNING " in line or " ERROR " in line) and "Task queue depth" not in line
    ]
    return lines[:5] + ([f"... {len(lines) - 5} more"] if len(lines) > 5 else [])


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeats, the verdict, and each repeat's details."""
    p50 = [percentile(r["ack_ms"], 0.50) for r in runs]
    p99 = [percentile(r["ack_ms"], 0.99) for r in runs]
    worst = max(p99)
    return {
        "load": {
            "commands": COMMANDS,
            "concurrency": CONCURRENCY,
            "mix": f"{CREATES} create, {REQUESTS} request, {COMMANDS - CREATES - REQUESTS} status",
            "lro_seconds": LRO_SECONDS,
            "repeats": len(runs),
        },
        "ack_p50": spread(p50, "ms"),
        "ack_p99": spread(p99, "ms"),
        "ack_max": spread([max(r["ack_ms"]) for r in runs], "ms"),
        "send_all": spread([r["sent_s"] for r in runs], "s"),
        "all_finished": spread([r["drain_s"] for r in runs], "s")
        | {"drained": all(r["drained"] for r in runs), "timeout_s": DRAIN_TIMEOUT_S},
        "succeeded": spread([float(r["outcomes"]["succeeded"]) for r in runs], "ops"),
        "failed": spread([float(r["outcomes"]["failed"]) for r in runs], "ops"),
        "bot_peak_rss": spread([r["peak_rss_mb"] for r in runs], "MiB"),
        "target": (
            f"{pass_fail(worst < P99_TARGET_MS)}: ack p99 < {P99_TARGET_MS:g} ms "
            f"(worst repeat {worst:.1f} ms, median {statistics.median(p99):.1f} ms)"
        ),
        "repeats": {
            f"run_{i}": {k: v for k, v in r.items() if k != "ack_ms"}
            | {"ack_p50_ms": round(p50[i], 1), "ack_p99_ms": round(p99[i], 1)}
            for i, r in enumerate(runs)
        },
    }
