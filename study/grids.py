"""Named grids: each a set of swept axes over palrnn Config fields, on top of fixed settings.

Pure data (no Ray here): ``study.trainable`` turns an axis into Ray's ``grid_search``. Every
grid is also swept over seeds 0 ... N-1 (``--seeds``), so every cell has an interval.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any

from palrnn import config
from palrnn.config import Config

# The exercise's training settings (docs/exercise.md), the base of every grid.
EXERCISE: dict[str, Any] = {
    "init": "seed",
    "optimizer": "rmsprop",
    "lr": 1e-3,
    "batch_size": 128,
    "hidden": 128,
    "max_norm": 10.0,
    "steps": 10_000,
}
# Every model a study may train (--models, --model) and the models the grids below sweep by default:
# the exercise's two, so each grid keeps its trial count; --models adds the GRU.
MODELS = list(config.MODELS)
GRID_MODELS = ["RNN", "LSTM"]


@dataclass(frozen=True)
class Grid:
    name: str
    description: str
    axes: dict[str, list[Any]]  # field -> values; "length" and "model" are axes of every grid
    fixed: dict[str, Any] = field(default_factory=dict)

    def settings(self, seeds: int) -> dict[str, list[Any]]:
        return {**self.axes, "seed": list(range(seeds))}

    def trial_count(self, seeds: int) -> int:
        n = seeds
        for values in self.axes.values():
            n *= len(values)
        return n

    def configs(self, seeds: int, base: Config) -> list[Config]:
        """Every trial's Config (validated): the product of the axes and the seeds."""
        space = self.settings(seeds)
        names = list(space)
        return [base.replace(**dict(zip(names, combo, strict=True))) for combo in itertools.product(*space.values())]


LENGTHS_EXERCISE = [5, 6, 7, 8, 9, 10]
LENGTHS_WIDE = [5, 10, 15, 20]

GRIDS: dict[str, Grid] = {
    g.name: g
    for g in [
        Grid("lengths", "the exercise: RNN vs LSTM over T = 5..10 with its settings",
             {"model": GRID_MODELS, "length": LENGTHS_EXERCISE}, EXERCISE),
        Grid("init", "how much of the RNN's failure is the N(0,1) initialisation",
             {"model": GRID_MODELS, "init": ["seed", "default", "xavier", "orthogonal"], "length": LENGTHS_WIDE},
             EXERCISE),
        Grid("hidden", "hidden units", {"model": GRID_MODELS, "hidden": [32, 64, 128, 256], "length": [5, 10, 15]},
             EXERCISE),
        Grid("lr", "learning rate", {"model": GRID_MODELS, "lr": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], "length": [5, 10, 15]},
             EXERCISE),
        Grid("clip", "gradient-norm clipping, none included",
             {"model": GRID_MODELS, "max_norm": [None, 1.0, 10.0], "length": [5, 10, 15]}, EXERCISE),
        Grid("optimizer", "RMSprop vs Adam vs SGD with momentum (all at the exercise's lr)",
             {"model": GRID_MODELS, "optimizer": ["rmsprop", "adam", "sgd"], "length": [5, 10, 15]}, EXERCISE),
        Grid("forget", "the LSTM's forget-gate bias, 0 (the exercise's) vs 1, at longer T",
             {"model": ["LSTM"], "init": ["seed", "xavier"], "forget_bias": [0.0, 1.0], "length": [10, 20, 30]},
             EXERCISE),
        Grid("smoke", "a tiny grid for tests and a first look: a few hundred steps, 16 units",
             {"model": GRID_MODELS, "length": [5, 6]},
             {**EXERCISE, "init": "default", "hidden": 16, "steps": 300, "eval_every": 100, "lr": 3e-3}),
    ]
}


def describe() -> str:
    """The --list text: each grid, its axes and its trial count (3 seeds, the default)."""
    lines = []
    for g in GRIDS.values():
        axes = [f"{k} {_fmt(v)}" for k, v in g.axes.items()] + ["seed 0..N-1"]
        lines.append(f"{g.name:<10} {g.trial_count(3):>4} trials (3 seeds)  {g.description}")
        lines += wrap_parts(axes, "  x  ", first=f"{'':<10} axes: ", indent=" " * 17)
    return "\n".join(lines)


def wrap_parts(parts: list[str], sep: str, first: str, indent: str, width: int = 100) -> list[str]:
    """Join ``parts`` with ``sep`` into lines of at most ``width`` columns, breaking only between parts."""
    lines, line = [], first
    for i, part in enumerate(parts):
        piece = part + (sep.rstrip() if i < len(parts) - 1 else "")
        if line.strip() and len(line) + len(piece) > width and line not in (first, indent):
            lines.append(line.rstrip())
            line = indent
        line += piece + (" " * (len(sep) - len(sep.rstrip())) if i < len(parts) - 1 else "")
    lines.append(line.rstrip())
    return lines


def _fmt(values: list[Any]) -> str:
    return "{" + ", ".join("none" if v is None else str(v) for v in values) + "}"


def field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(Config)}
