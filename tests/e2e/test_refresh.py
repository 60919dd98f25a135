"""``status --refresh`` costs one Azure sweep however many arrive together, and a person cannot
make natlink sweep again and again (issue 13, "also seen").

Two ``natlink serve`` processes share one database, as two instances of a deployment would; the
queued refreshes are claimed by the workers of both. The sandbox's request log counts what
reached ARM.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from commands import refresh
from sandbox.slack.driver import Driver
from storage import observations, operations
from storage.database import open_database
from tests.e2e.harness import create_rdp_vmb, database, ephemerals, ok, start_bot, text_of, wait_for

REFRESHES = 20
PLS_LIST = "/providers/Microsoft.Network/privateLinkServices"


def _arm_calls(sandbox) -> list[str]:
    """Every ARM request logged since the log was last cleared (the token endpoint is not ARM)."""
    recent = sandbox.control("GET", "requests")["recent"]
    return [f"{r['method']} {r['path']}" for r in recent if r["path"].startswith("/subscriptions/")]


def _pls_lists(calls: list[str]) -> int:
    """Lists of private link services: each sweep or snapshot lists them once per subscription."""
    return sum(1 for c in calls if c.startswith("GET ") and c.endswith(PLS_LIST))


def _settled(bot, sandbox) -> None:
    """No sweep or operation of the set-up still running; then the request log starts empty."""
    db = open_database(database(bot))
    wait_for(lambda: observations.meta(db, "last_sweep"), 30, "the scheduler's first sweep")
    wait_for(lambda: not operations.unfinished(db), 30, "nothing in flight")
    sandbox.control("DELETE", "requests")


def _refresh_together(drivers: list[Driver], user: str, count: int) -> None:
    barrier = threading.Barrier(count)

    def send(index: int) -> None:
        barrier.wait()
        ok(drivers[index % len(drivers)].slash_command(user, "#team-a", "status --refresh"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def _answers(slack, user: str) -> list[str]:
    return [text_of(r) for r in ephemerals(slack, "team-a", slack.user(user), "Latest sweep")]


@pytest.fixture
def drivers(request, bot, driver, sandbox, slack) -> Iterator[list[Driver]]:
    """One driver per `natlink serve` process; a second process shares the first one's database."""
    if request.param == 1:
        yield [driver]
        return
    second = start_bot(sandbox, slack, database(bot).parent)
    yield [driver, Driver(f"{second.url}/slack/events", slack.config)]
    assert second.stop() == 0, second.log.read_text()[-3000:]


@pytest.mark.parametrize("drivers", [1, 2], indirect=True, ids=["one process", "two processes"])
def test_concurrent_refreshes_share_one_sweep(bot, drivers, slack, sandbox) -> None:
    create_rdp_vmb(drivers[0], slack)
    _settled(bot, sandbox)
    started = time.monotonic()
    _refresh_together(drivers, "carol", REFRESHES)
    answers = wait_for(
        lambda: len(_answers(slack, "carol")) == REFRESHES and _answers(slack, "carol"), 90, "20 answers"
    )
    seconds = time.monotonic() - started
    calls = _arm_calls(sandbox)
    where = f"{len(drivers)} process(es)"
    print(f"\n{REFRESHES} concurrent refreshes, {where}: {len(calls)} ARM calls in {seconds:.1f} s")
    assert _pls_lists(calls) == 2 * 2, (
        f"one sweep and one snapshot over 2 subscriptions, not {len(calls)} calls"
    )
    assert all("rdp-vmb" in a for a in answers)
    assert sum("this refresh read Azure" in a for a in answers) == 1, answers
    shared = [a for a in answers if "shares it" in a or f"within {refresh.SHARE_SECONDS} s" in a]
    assert len(shared) == REFRESHES - 1, answers


def test_a_person_starts_one_sweep_per_window(bot, driver, slack, sandbox, compute_b) -> None:
    create_rdp_vmb(driver, slack)
    _settled(bot, sandbox)
    ok(driver.slash_command("carol", "#team-a", "status --refresh"))
    wait_for(lambda: _answers(slack, "carol"), 30, "carol's first answer")
    assert "this refresh read Azure" in _answers(slack, "carol")[0]
    swept = len(_arm_calls(sandbox))
    compute_b.virtual_machines.begin_power_off("rg-team-b", "VM-Win2019-2").result()
    time.sleep(refresh.SHARE_SECONDS + 0.5)  # past the window in which a sweep is shared
    sandbox.control("DELETE", "requests")

    ok(driver.slash_command("carol", "#team-a", "status --refresh"))
    second = wait_for(lambda: _answers(slack, "carol")[1:], 30, "carol's second answer")[0]
    assert "not refreshed" in second and f"once every {refresh.PER_PERSON_SECONDS} s" in second, second
    assert "1 of 1 backends running" in second, "the latest sweep's answer, from before the VM stopped"
    assert _arm_calls(sandbox) == [], "a limited refresh reads nothing from Azure"

    ok(driver.slash_command("alice", "#team-b", "status --refresh"))
    mine = wait_for(
        lambda: [text_of(r) for r in ephemerals(slack, "team-b", slack.user("alice"), "Latest sweep")],
        30,
        "alice's answer",
    )[0]
    assert "this refresh read Azure" in mine and "VM-Win2019-2 is" in mine, mine
    assert len(_arm_calls(sandbox)) == swept, "another person's refresh sweeps as usual"
