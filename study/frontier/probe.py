"""A probe of the memory frontier: one length T of one cell, run with seeds 0 .. N-1, its seeds' states and its
outcome (``Frontier`` keeps one per length probed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

# Seed states
RUNNING, SOLVED, UNSOLVED, STOPPED, ERROR = "running", "solved", "unsolved", "stopped", "error"
# Probe outcomes
PASSED, FAILED, MOOT = "passed", "failed", "moot"


class Trial(NamedTuple):
    """One run the frontier asks for: cell index, length T, seed."""

    cell: int
    length: int
    seed: int


class Probe:
    """One length of one cell: its seeds' states and, once known, its outcome."""

    def __init__(self, length: int, order: int) -> None:
        self.length, self.order = length, order
        self.seeds: dict[int, list[Any]] = {}  # seed -> [state, steps_to_target]
        self.outcome: str | None = None

    def count(self, *states: str) -> int:
        return sum(1 for s, _ in self.seeds.values() if s in states)

    @property
    def solved(self) -> int:
        return self.count(SOLVED)

    @property
    def finished(self) -> int:
        return self.count(SOLVED, UNSOLVED, ERROR)

    @property
    def running(self) -> int:
        return self.count(RUNNING)

    def next_seed(self, n: int) -> int | None:
        return next((s for s in range(n) if s not in self.seeds), None)

    def to_dict(self) -> dict[str, Any]:
        return {"length": self.length, "order": self.order, "outcome": self.outcome,
                "seeds": {str(s): {"state": st, "steps_to_target": steps}
                          for s, (st, steps) in sorted(self.seeds.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Probe:
        p = cls(int(d["length"]), int(d["order"]))
        p.outcome = d.get("outcome")
        p.seeds = {int(s): [v["state"], v.get("steps_to_target")] for s, v in d["seeds"].items()}
        return p


_Probe = Probe  # the name Ray's pickles of frontier studies made before 2026-12-05 hold (study.frontier.probe._Probe)
