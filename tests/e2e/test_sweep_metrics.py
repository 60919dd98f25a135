"""Issue 14: every sweep shows in /metrics, with its ARM requests, whichever way it was started:
a ``status --refresh`` sweeps too, not only the scheduler."""

from __future__ import annotations

from tests.e2e.harness import create_rdp_vmb, ok, wait_for
from tests.e2e.test_refresh import _answers, _arm_calls, _settled
from tests.e2e.test_watching import _metrics, _value


def test_a_refresh_sweep_is_counted_with_its_arm_requests(bot, driver, slack, sandbox) -> None:
    create_rdp_vmb(driver, slack)
    _settled(bot, sandbox)  # the scheduler's first sweep is done and counted
    before = _metrics(bot.url)
    sweeps, requests = (_value(before, f"natlink_sweep_{n}_count") for n in ("seconds", "arm_requests"))
    assert sweeps >= 1 and requests == sweeps
    swept_before = _value(before, "natlink_sweep_arm_requests_sum")

    ok(driver.slash_command("carol", "#team-a", "status --refresh"))
    assert "this refresh read Azure" in wait_for(lambda: _answers(slack, "carol"), 30, "the answer")[0]

    after = _metrics(bot.url)
    assert _value(after, "natlink_sweep_seconds_count") == sweeps + 1
    assert _value(after, "natlink_sweep_arm_requests_count") == requests + 1
    swept = _value(after, "natlink_sweep_arm_requests_sum") - swept_before
    calls = _arm_calls(sandbox)  # the sweep's, then the status snapshot's
    assert 0 < swept < len(calls), (swept, calls)
