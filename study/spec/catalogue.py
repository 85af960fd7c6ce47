"""The shipped studies: named grids and the default search, as study files in ``study/studies/``.

Each grid is a study file (``study.spec.studyfile``) of swept axes over palrnn Config fields, on top of
the exercise's settings; ``--grid NAME`` plans ``study/studies/NAME.toml``, and
``--study FILE`` plans a file of your own the same way. Every grid is also swept over seeds
0 ... N-1 (``--seeds``), so every cell has an interval.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from palrnn.config import Config
from study.spec.fields import EXERCISE
from study.spec.space import Dist, for_model
from study.spec.studyfile import Study, read_toml


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
                out.append((entry.name.removesuffix(".toml"), read_toml(path, where=f"study/studies/{entry.name}")))
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


def default_space() -> dict[str, Dist]:
    """The shipped search's space (study/studies/optuna.toml), every model's dimensions."""
    search = shipped()["optuna"].search
    assert search is not None
    return dict(search.space)


def space(model: str = "RNN") -> dict[str, Dist]:
    """What the default search chooses for ``model``: the LSTM's forget-gate bias too (the RNN has none)."""
    return for_model(default_space(), model)


def searched_fields(model: str = "RNN", space_: dict[str, Dist] | None = None) -> list[str]:
    return list(for_model(default_space() if space_ is None else space_, model))
