"""The figures of a run: how much the machine did, and every discrepancy it found, with where."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checks import Discrepancy

EXAMPLES_KEPT = 2  # step logs kept per kind of discrepancy
FIGURES_PROPERTY = "model figures"  # the run's figures, printed by tests/conftest.py's summary


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    sequences: int = 0
    steps: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    portal: int = 0
    sweeps: int = 0
    maps: int = 0
    expiry_waits: int = 0
    expired: int = 0
    discrepancies: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    seconds: Counter[str] = field(default_factory=Counter)  # where the time went, by phase

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[phase] += time.monotonic() - started

    def discrepancy(self, found: Discrepancy, log: list[str]) -> None:
        self.discrepancies[found.kind] += 1
        kept = self.examples.setdefault(found.kind, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append((str(found), list(log)))

    def render(self) -> str:
        elapsed = time.monotonic() - self.started
        per_step = elapsed / self.steps if self.steps else 0.0
        lines = [
            "natlink model test: figures",
            f"  time             {elapsed:.0f} s ({per_step:.2f} s a step, setup included)",
            f"  sequences        {self.sequences}",
            f"  steps            {self.steps}",
            f"  faults injected  {sum(self.faults.values())}"
            + (f" ({', '.join(f'{k}: {n}' for k, n in sorted(self.faults.items()))})" if self.faults else ""),
            f"  restarts         {sum(self.restarts.values())}"
            + (
                f" ({', '.join(f'{k}: {n}' for k, n in sorted(self.restarts.items()))})"
                if self.restarts
                else ""
            ),
            f"  portal changes   {self.portal}",
            f"  sweeps           {self.sweeps}",
            f"  map checks       {self.maps}",
            f"  expiry waits     {self.expiry_waits} ({self.expired} expired by the scheduler)",
            "  time by phase    " + ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.most_common()),
            f"  discrepancies    {sum(self.discrepancies.values())}",
        ]
        for kind, n in self.discrepancies.most_common():
            lines.append(f"    {n:5d}  {kind}")
        for kept in self.examples.values():
            for found, log in kept:
                lines.append(f"  e.g. {found}")
                lines += [f"       {i + 1}. {step}" for i, step in enumerate(log)]
        return "\n".join(lines)
