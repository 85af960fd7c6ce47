"""The shipped studies: named grids and the default search, as study files in ``study/studies/``.

Each grid is a study file (``study.studyfile``) of swept axes over palrnn Config fields, on top of
the exercise's settings; ``--grid NAME`` plans ``study/studies/NAME.toml``, and
``--study FILE`` plans a file of your own the same way. Every grid is also swept over seeds
0 ... N-1 (``--seeds``), so every cell has an interval.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from palrnn import config
from palrnn.config import Config
from study.studyfile import EXERCISE, Study, load

__all__ = ["EXERCISE", "GRIDS", "GRID_MODELS", "LENGTHS_EXERCISE", "MODELS", "Grid", "describe", "field_names",
           "shipped", "wrap_parts"]

# Every model a study may train (--models, --model) and the models a grid sweeps unless told:
# the exercise's two, so each grid keeps its trial count; --models adds the GRU.
MODELS = list(config.MODELS)
GRID_MODELS = ["RNN", "LSTM"]
LENGTHS_EXERCISE = [5, 6, 7, 8, 9, 10]  # a grid's lengths unless told
SEARCH_MODEL, SEARCH_LENGTH = "RNN", 20  # a search's cell unless told


@dataclass(frozen=True)
class Grid:
    """A shipped grid's axes and fixed settings (the exercise's, and the file's [fixed])."""

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


@functools.cache
def _shipped() -> tuple[tuple[str, Study], ...]:
    folder = resources.files("study") / "studies"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as path:
                out.append((entry.name.removesuffix(".toml"), load(path, where=f"study/studies/{entry.name}")))
    order = ["lengths", "init", "hidden", "lr", "clip", "optimizer", "forget", "smoke", "optuna"]
    out.sort(key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]))
    return tuple(out)


def shipped() -> dict[str, Study]:
    """Every shipped study by name (a fresh copy: callers may change it)."""
    import copy

    return {name: copy.deepcopy(s) for name, s in _shipped()}


def _grids() -> dict[str, Grid]:
    return {name: Grid(name, s.description, {k: list(v) for k, v in s.axes.items()}, {**EXERCISE, **s.fixed})
            for name, s in _shipped() if s.kind == "grid"}


GRIDS: dict[str, Grid] = _grids()


def describe() -> str:
    """The --list text: each shipped grid, its axes and trial count, and the default search."""
    from study.planning import describe_study

    return "\n".join(line for s in shipped().values() for line in describe_study(s))


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


def field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(Config)}
