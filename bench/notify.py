"""The scheduler issue's benchmark: how fast a sweep's queued events reach Slack, and whether the pacing holds.

Load, per repeat: ``CHANNELS`` channels, each with N events queued in one ``storage.events.add_many`` on a
fresh SQLite store, as ``commands.sweep`` queues them (sweep-shaped dedup keys, payload lines, advice and
``since``; about a third ``problem``, the rest ``info``), then drained by the real ``bot.poster.Poster``
(default 1 s gap, real ``time.sleep``) through natlink's kind of slack_sdk ``WebClient`` (429s retried)
against the Slack stand-in, a child process on 127.0.0.1, started afresh for each repeat and stopped in
``finally``. The stand-in knows only two channels, so each start loads a state file with ``CHANNELS``
more, cloned from its own ``team-a``.

Scenarios:

* ``10_per_channel``: 500 events, one message per channel; the pacing floor is 0 s;
* ``50_per_channel``: 2,500 events, 20 + 20 + 10 per channel (``PER_MESSAGE``), 3 messages per channel;
  the floor set by one message per second per channel is 2 s;
* ``10_per_channel_rtt_100ms`` and ``50_per_channel_rtt_100ms``: as the first two, but the client waits
  ``RTT_S`` before each ``chat.postMessage``, a stand-in for Slack's real round trip (the local stand-in
  answers in milliseconds). Simulated, and labelled so: they show what ``Poster``'s sequential channel
  loop costs when each post is not nearly free.

Measured per repeat (``REPEATS``; medians with min/max across repeats):

* messages posted: ``Poster.drain``'s count, the stand-in's stored messages, and its 200 answers to
  ``chat.postMessage`` (and any non-200, i.e. retries);
* drain wall time, against the floor (max over channels of messages - 1, in seconds), and the sum of
  the client-side ``chat.postMessage`` times (how much of the wall is spent waiting on Slack, in series);
* sweep-to-post latency: from the return of ``add_many`` (its commit) to each message's ``ts`` as the
  stand-in stamped it (same host, same wall clock), median and p99 (nearest rank) over the messages;
* pacing: the smallest gap between two messages in one channel as Slack sees it (the stand-in's ``ts``),
  how many such gaps are under 1 s, and the smallest gap between the client's sends to one channel
  (where ``Poster._pace`` takes its stamp), to tell pacing logic from network jitter;
* duplicates: every event has ``posted_at`` and ``message_ts``; the events' ``message_ts`` are exactly the
  stand-in's messages; every event's line appears exactly once across them.
"""

from __future__ import annotations

import copy
import json
import math
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from bench.common import pass_fail, percentile, spread
from bot.poster import GAP_SECONDS, PER_MESSAGE, Poster
from sandbox.slack import launch
from sandbox.slack.world import World
from storage import events
from storage.database import open_database
from storage.records import NewEvent

CHANNELS = 50
REPEATS = 3
RTT_S = 0.1
SCENARIOS = {  # name: (events per channel, simulated round trip before each call)
    "10_per_channel": (10, 0.0),
    "50_per_channel": (50, 0.0),
    "10_per_channel_rtt_100ms": (10, RTT_S),
    "50_per_channel_rtt_100ms": (50, RTT_S),
}
KINDS = [  # (kind, severity): the sweep's findings, about a third of them problems
    ("probe_failing", "problem"),
    ("probe_recovered", "info"),
    ("backend_stopped", "problem"),
    ("backend_started", "info"),
    ("status_changed", "info"),
    ("nat_pressure", "problem"),
    ("probe_recovered", "info"),
    ("backend_removed", "problem"),
    ("backend_started", "info"),
    ("status_changed", "info"),
]


class TimedWebClient(WebClient):
    """The real WebClient, timing each ``chat.postMessage`` and optionally waiting a simulated round trip."""

    def __init__(self, *args: Any, rtt: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rtt = rtt
        self.post_seconds: list[float] = []
        self.sent_at: dict[str, list[float]] = {}

    def chat_postMessage(self, **kwargs: Any) -> SlackResponse:
        began = time.perf_counter()
        self.sent_at.setdefault(str(kwargs.get("channel")), []).append(time.time())
        if self.rtt:
            time.sleep(self.rtt)
        try:
            return super().chat_postMessage(**kwargs)
        finally:
            self.post_seconds.append(time.perf_counter() - began)


def run() -> dict[str, Any]:
    """Every scenario ``REPEATS`` times, each repeat on a fresh store and a fresh stand-in."""
    results: dict[str, Any] = {"channels": CHANNELS, "per_message": PER_MESSAGE, "gap_s": GAP_SECONDS}
    for name, (per_channel, rtt) in SCENARIOS.items():
        runs = [one_repeat(per_channel, rtt) for _ in range(REPEATS)]
        results[name] = summarise(runs, per_channel, rtt)
    results["verdict"] = verdict(results)
    return results


def channel_ids() -> list[str]:
    return [f"C0BENCH{i:03d}" for i in range(CHANNELS)]


def write_state(path: Path) -> None:
    """A stand-in workspace with ``CHANNELS`` extra channels the bot is in, cloned from ``team-a``."""
    world = World()
    state = world.dump()
    template = state["channels"]["C0TEAMA"]
    for i, cid in enumerate(channel_ids()):
        channel = copy.deepcopy(template)
        channel["id"], channel["name"] = cid, f"bench-{i:03d}"
        state["channels"][cid] = channel
    path.write_text(json.dumps(state))


def queued(per_channel: int, now: datetime) -> list[NewEvent]:
    """``per_channel`` events for each channel, interleaved by channel as a sweep's findings come out."""
    stamp = now.isoformat()
    items = []
    for n in range(per_channel):
        for c, channel in enumerate(channel_ids()):
            kind, severity = KINDS[(n + c) % len(KINDS)]
            service, vm, ip = f"svc-{c:03d}", f"VM-{c:03d}-{n:02d}", f"10.{c}.{n // 250}.{n % 250 + 4}"
            problem = severity == "problem"
            line = f"*{service}*: {kind.replace('_', ' ')} on {vm} ({ip})" + (
                ": *needs attention*." if problem else "."
            )
            advice = "Check that the service listens on its port on the VM." if problem else ""
            payload = {"line": line, "advice": advice, "since": stamp}
            items.append(
                NewEvent(
                    f"{kind}:{service}|{ip}:{channel}:{stamp}", channel, service, kind, severity, payload
                )
            )  # type: ignore[arg-type]
    return items


def one_repeat(per_channel: int, rtt: float) -> dict[str, Any]:
    """Queue, drain, and check one load on a fresh store and stand-in."""
    with tempfile.TemporaryDirectory(prefix="natlink-bench-notify-") as tmp:
        state = Path(tmp) / "slack.json"
        write_state(state)
        slack = launch.start(state=state)
        try:
            db = open_database(Path(tmp) / "natlink.db")
            client = TimedWebClient(
                token=slack.bot_token,
                base_url=slack.api_url,
                retry_handlers=[RateLimitErrorRetryHandler(5)],
                rtt=rtt,
            )
            client.chat_postMessage(channel="C0TEAMA", text="warm-up")  # open the keep-alive connection
            slack.control("DELETE", "calls")
            client.post_seconds.clear()
            client.sent_at.clear()
            items = queued(per_channel, datetime.now(UTC))
            began = time.perf_counter()
            events.add_many(db, items)
            committed_wall, committed = time.time(), time.perf_counter()
            add_s = committed - began
            posted = Poster(client).drain(db)
            drain_s = time.perf_counter() - committed
            return measure(slack, db, items, posted, add_s, drain_s, committed_wall, client)
        finally:
            slack.stop()


def measure(
    slack: launch.RunningSlack,
    db: Any,
    items: list[NewEvent],
    posted: int,
    add_s: float,
    drain_s: float,
    committed: float,
    client: TimedWebClient,
) -> dict[str, Any]:
    """Counts, timings, pacing and duplicate checks of one drained load."""
    by_channel = {cid: slack.messages(cid) for cid in channel_ids()}
    stamps = {cid: sorted(float(r["message"]["ts"]) for r in records) for cid, records in by_channel.items()}
    counts = [len(s) for s in stamps.values()]
    floor = max(counts) - 1 if counts else 0
    gaps = [b - a for s in stamps.values() for a, b in pairwise(s)]
    sent_gaps = [b - a for s in client.sent_at.values() for a, b in pairwise(s)]
    post_seconds = client.post_seconds
    latencies = sorted(t - committed for s in stamps.values() for t in s)
    calls = slack.calls("chat.postMessage")
    statuses = Counter(c["status"] for c in calls)
    return {
        "events": len(items),
        "drain_returned": posted,
        "messages": sum(counts),
        "messages_per_channel": sorted(set(counts)),
        "post_200": statuses.get(200, 0),
        "post_not_200": sum(n for s, n in statuses.items() if s != 200),
        "add_many_s": add_s,
        "drain_s": drain_s,
        "floor_s": float(floor),
        "post_sum_s": sum(post_seconds),
        "post_ms_median": 1000 * statistics.median(post_seconds) if post_seconds else math.nan,
        "latency_median_s": statistics.median(latencies) if latencies else math.nan,
        "latency_p99_s": percentile(latencies, 0.99),
        "latency_max_s": latencies[-1] if latencies else math.nan,
        "min_gap_s": min(gaps) if gaps else None,
        "gaps": len(gaps),
        "gaps_under_1s": sum(1 for g in gaps if g < GAP_SECONDS),
        "min_sent_gap_s": min(sent_gaps) if sent_gaps else None,
        "duplicates": duplicates(db, by_channel),
    }


def duplicates(db: Any, by_channel: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Whether each event went out exactly once, from the store's side and from the stand-in's."""
    rows = list(db.query("SELECT channel, posted_at, message_ts, payload FROM events"))
    unposted = sum(1 for r in rows if r["posted_at"] is None or not r["message_ts"])
    store_ts = {(r["channel"], r["message_ts"]) for r in rows if r["message_ts"]}
    slack_ts = {(cid, r["message"]["ts"]) for cid, records in by_channel.items() for r in records}
    shown = Counter(
        block["text"]["text"]
        for records in by_channel.values()
        for r in records
        for block in r["message"].get("blocks", [])
        if block.get("type") == "section"
    )
    lines = Counter(
        f"{':rotating_light:' if r['severity'] == 'problem' else ':information_source:'} "
        f"{json.loads(r['payload'])['line']}"
        for r in db.query("SELECT severity, payload FROM events")
    )
    return {
        "events_unposted": unposted,
        "store_ts_not_in_slack": len(store_ts - slack_ts),
        "slack_messages_without_events": len(slack_ts - store_ts),
        "lines_shown_twice": sum(1 for n in shown.values() if n > 1),
        "lines_missing": sum(1 for line in lines if shown.get(line, 0) == 0),
        "lines_unknown": sum(1 for line in shown if line not in lines),
    }


def summarise(runs: list[dict[str, Any]], per_channel: int, rtt: float) -> dict[str, Any]:
    """The repeats of one scenario as spreads, plus the counts and checks every repeat must agree on."""
    expected = CHANNELS * math.ceil(per_channel / PER_MESSAGE)
    wall = spread([r["drain_s"] for r in runs], "s")
    floor = runs[0]["floor_s"]
    dups = [r["duplicates"] for r in runs]
    return {
        "events": runs[0]["events"],
        "simulated_rtt_s": rtt,
        "messages_expected": expected,
        "messages": [r["messages"] for r in runs],
        "drain_returned": [r["drain_returned"] for r in runs],
        "post_200": [r["post_200"] for r in runs],
        "post_not_200": [r["post_not_200"] for r in runs],
        "messages_per_channel": sorted({n for r in runs for n in r["messages_per_channel"]}),
        "add_many": spread([r["add_many_s"] for r in runs], "s"),
        "drain_wall": wall,
        "floor_s": floor,
        "wall_over_floor_s": round(wall["median"] - floor, 3),
        "post_sum": spread([r["post_sum_s"] for r in runs], "s"),
        "post_latency": spread([r["post_ms_median"] for r in runs], "ms"),
        "sweep_to_post_p50": spread([r["latency_median_s"] for r in runs], "s"),
        "sweep_to_post_p99": spread([r["latency_p99_s"] for r in runs], "s"),
        "sweep_to_post_max": spread([r["latency_max_s"] for r in runs], "s"),
        "min_gap_same_channel_s": min(
            (r["min_gap_s"] for r in runs if r["min_gap_s"] is not None), default=None
        ),
        "same_channel_gaps_under_1s": f"{sum(r['gaps_under_1s'] for r in runs)} of {sum(r['gaps'] for r in runs)}",
        "min_gap_between_sends_s": min(
            (r["min_sent_gap_s"] for r in runs if r["min_sent_gap_s"] is not None), default=None
        ),
        "duplicates": {k: max(d[k] for d in dups) for k in dups[0]},
        "counts_ok": all(
            r["messages"] == r["drain_returned"] == r["post_200"] == expected and r["post_not_200"] == 0
            for r in runs
        ),
    }


def verdict(results: dict[str, Any]) -> dict[str, str]:
    """PASS/FAIL for the two requirements, over every scenario and repeat."""
    scenarios = [results[name] for name in SCENARIOS]
    gaps = [s["min_gap_same_channel_s"] for s in scenarios if s["min_gap_same_channel_s"] is not None]
    sent = [s["min_gap_between_sends_s"] for s in scenarios if s["min_gap_between_sends_s"] is not None]
    paced = all(g >= GAP_SECONDS for g in gaps)
    clean = all(s["counts_ok"] and not any(s["duplicates"].values()) for s in scenarios)
    return {
        "at_most_1_message_per_second_per_channel": pass_fail(paced)
        + f" (smallest same-channel gap at Slack {min(gaps, default=float('nan')):.4f} s,"
        f" between the client's sends {min(sent, default=float('nan')):.4f} s)",
        "no_duplicates": pass_fail(clean),
    }
