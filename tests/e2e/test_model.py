"""The stateful model test (tests/model): random sequences against the real natlink, checked against Azure.

In ``make test`` it runs a fixed, derandomized set of sequences and raises at the first discrepancy,
so Hypothesis shrinks it to the shortest sequence and prints its steps. ``make soak`` runs it much
longer with a fresh seed, counting discrepancies instead of stopping, and prints the figures.

Settings (environment): NATLINK_SOAK=1 for the soak; NATLINK_SOAK_EXAMPLES / NATLINK_SOAK_STEPS (500 / 60);
NATLINK_SOAK_SEED (random); NATLINK_SOAK_EXPIRY_WAITS (2: how many times the run waits, minutes each, for
the scheduler to expire access; never in CI, where it cannot fit: see time_passes_until_access_expires). NATLINK_MODEL_EXAMPLES /
NATLINK_MODEL_STEPS change the CI run; NATLINK_MODEL_COUNT=1 counts instead of raising there too;
NATLINK_MODEL_SHRINK_SECONDS lets Hypothesis shrink longer than its 300 s, to investigate a failure;
NATLINK_MODEL_SLOW_FAULTS=1 adds the faults natlink's retries ride out (seconds each) outside the soak;
NATLINK_MODEL_SEED replaces CI's fixed derandomized draws by a seed's (a soak's seed, to shrink what it found).
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.internal.conjecture import engine
from hypothesis.stateful import run_state_machine_as_test

from tests.model.machine import NatlinkModel, Plan, Sandboxes
from tests.model.stats import FIGURES_PROPERTY, Stats

SOAK = os.environ.get("NATLINK_SOAK") == "1"
CI_EXAMPLES, CI_STEPS = 50, 30


def _number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


@pytest.mark.model
@pytest.mark.timeout(0 if SOAK or os.environ.get("NATLINK_MODEL_SHRINK_SECONDS") else 1800)
def test_natlink_agrees_with_azure_after_every_step(
    arm, slack_process, credential, tmp_path_factory, capsys, record_property
) -> None:
    if SOAK:
        examples, steps = _number("NATLINK_SOAK_EXAMPLES", 500), _number("NATLINK_SOAK_STEPS", 60)
        plan = Plan(count=True, expiry_waits=_number("NATLINK_SOAK_EXPIRY_WAITS", 2))
    else:
        examples, steps = (
            _number("NATLINK_MODEL_EXAMPLES", CI_EXAMPLES),
            _number("NATLINK_MODEL_STEPS", CI_STEPS),
        )
        plan = Plan(count=os.environ.get("NATLINK_MODEL_COUNT") == "1")
    chosen = (
        _number("NATLINK_SOAK_SEED", random.randrange(2**32)) if SOAK else _number("NATLINK_MODEL_SEED", -1)
    )
    chosen = None if chosen == -1 else chosen
    stats = Stats()
    # The model judges who has access, not ARM's throttling (tests/cloud/test_pacing.py and
    # tests/sandbox/arm/test_throttling.py do): its own reads of Azure's truth after every step share
    # natlink's principal and would drain natlink's bucket, pacing natlink for the harness's reads.
    arm.control("PUT", "settings", {"throttle": False})
    NatlinkModel.sandboxes = Sandboxes(
        arm, slack_process, credential, lambda: tmp_path_factory.mktemp("model", numbered=True)
    )
    NatlinkModel.plan, NatlinkModel.stats = plan, stats
    factory = seed(chosen)(NatlinkModel) if chosen is not None else NatlinkModel
    if shrink := _number("NATLINK_MODEL_SHRINK_SECONDS", 0):  # to investigate: Hypothesis stops at 300 s
        engine.MAX_SHRINKING_SECONDS = shrink
    try:
        run_state_machine_as_test(
            factory,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                derandomize=chosen is None,
                database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            ),
        )
    finally:
        arm.control("PUT", "settings", {"throttle": True})  # the session's sandbox, as the next test expects
        figures = stats.render() + (f"\n  seed             {chosen}" if chosen is not None else "")
        record_property(
            FIGURES_PROPERTY, figures
        )  # an xdist worker's output is not shown: the summary prints this
        with capsys.disabled():
            print("\n" + figures)
    if plan.count:
        assert not stats.discrepancies, (
            f"{sum(stats.discrepancies.values())} discrepancies; see the figures above"
        )
