"""``python -m bench``: run every registered benchmark module, print a report, write the results as JSON.

To add a benchmark, write ``bench/<name>.py`` with ``run() -> dict`` and append it to ``MODULES``.
The JSON goes to ``$NATLINK_BENCH_OUT`` (default ``bench-results.json`` in the working directory).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import ack, arm, notify, sweep

MODULES: list[ModuleType] = [arm, sweep, ack, notify]
SPREAD_KEYS = {"median", "min", "max", "unit", "samples"}


def output_path() -> Path:
    """Where the JSON goes, so CI can collect it without the repository needing a .gitignore entry."""
    return Path(os.environ.get("NATLINK_BENCH_OUT", "bench-results.json"))


def describe(value: Any) -> str:
    """One readable line for a measurement: ``median (min..max) unit`` when it has a spread."""
    if isinstance(value, dict) and {"median", "min", "max"} <= value.keys():
        unit = value.get("unit", "")
        extras = " ".join(f"{k}={v}" for k, v in value.items() if k not in SPREAD_KEYS)
        return f"{value['median']:,.3f} {unit}  (min {value['min']:,.3f}, max {value['max']:,.3f})  {extras}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return str(value)


def print_report(name: str, results: dict[str, Any], indent: int = 2) -> None:
    """Print one module's results as an indented tree so the figures read without the JSON."""
    print(f"{' ' * (indent - 2)}{name}")
    for key, value in results.items():
        if isinstance(value, dict) and not {"median", "min", "max"} <= value.keys():
            print_report(key, value, indent + 2)
        else:
            print(f"{' ' * indent}{key}: {describe(value)}")


def main() -> int:
    """Run each module in turn, so one benchmark's load never overlaps another's."""
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "results": {},
    }
    for module in MODULES:
        name = module.__name__.removeprefix("bench.")
        began = time.perf_counter()
        results = module.run()
        results["elapsed_s"] = round(time.perf_counter() - began, 2)
        report["results"][name] = results
        print_report(name, results)
    out = output_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
