"""Run one sequence again, as Hypothesis printed it, and say what natlink and Azure disagreed on.

    .venv/bin/python -m tests.model.replay < failure.txt

The input is the "Failing test case" program Hypothesis prints (``state = NatlinkModel()``, then
``state.rule(...)`` lines; pytest's ``E`` prefixes are fine). Fresh stand-ins are started, each step
runs, the invariant runs after it, and every discrepancy is printed with the step it appeared after,
instead of stopping at the first. Exit status 1 when any was found.
"""

from __future__ import annotations

import itertools
import re
import sys
import tempfile
from pathlib import Path

from azure.identity import ClientSecretCredential

from sandbox.arm import launch as arm_launch
from sandbox.slack import launch as slack_launch

from .machine import NatlinkModel, Plan, Sandboxes
from .stats import Stats

_LINE = re.compile(r"^(?:E\s+)?(state(?: = NatlinkModel\(\)|\.\w+\(.*\)))\s*$")


def program(text: str) -> list[str]:
    return [m[1] for line in text.splitlines() if (m := _LINE.match(line.strip()))]


def main() -> int:
    lines = program(sys.stdin.read())
    if not lines:
        print("no 'state = NatlinkModel()' program on stdin", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="natlink-replay-"))
    arm = arm_launch.start(state=work / "arm.json")
    slack = slack_launch.start(state=work / "slack.json")
    c = arm.config
    credential = ClientSecretCredential(
        c["tenant_id"],
        c["client_id"],
        c["client_secret"],
        authority=c["authority_host"],
        disable_instance_discovery=True,
        connection_verify=c["ca_bundle"],
    )
    numbers = itertools.count()

    def workdir() -> Path:
        made = work / f"model{next(numbers)}"
        made.mkdir()
        return made

    NatlinkModel.sandboxes = Sandboxes(arm, slack, credential, workdir)
    NatlinkModel.plan, NatlinkModel.stats = Plan(count=True), Stats()
    scope: dict[str, object] = {"NatlinkModel": NatlinkModel}
    reported = 0
    try:
        for line in lines:
            exec(line, scope)
            machine = scope["state"]
            assert isinstance(machine, NatlinkModel)
            rule = not line.startswith(("state = ", "state.natlink_agrees_with_azure", "state.teardown"))
            if rule and machine.log:
                print(f"  {len(machine.log)}. {machine.log[-1]}")
            for found in list(machine.found.values())[reported:]:
                print(f"     !! {found}")
            reported = len(machine.found)
    finally:
        arm.stop()
        slack.stop()
    print(f"natlink's files: {work}")
    return 1 if reported else 0


if __name__ == "__main__":
    sys.exit(main())
