"""The shipped studies: named grids and the default search, as study files in ``study/studies/``.

Each grid is a study file (``study.spec.studyfile``) of swept axes over palrnn Config fields, on top of
the exercise's settings; ``--grid NAME`` plans ``study/studies/NAME.toml``, and
``--study FILE`` plans a file of your own the same way. Every grid is also swept over seeds
0 ... N-1 (``--seeds``), so every cell has an interval.
"""

from __future__ import annotations

import functools
from importlib import resources

from study.spec.space import Dist
from study.spec.studyfile import Study, read_toml


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


def grid_names() -> list[str]:
    """The shipped grids' names (--grid)."""
    return [name for name, s in _shipped() if s.kind == "grid"]


def shipped() -> dict[str, Study]:
    """Every shipped study by name (a fresh copy: callers may change it)."""
    import copy

    return {name: copy.deepcopy(s) for name, s in _shipped()}


def default_space() -> dict[str, Dist]:
    """The shipped search's space (study/studies/optuna.toml), every model's dimensions."""
    search = shipped()["optuna"].search
    return dict(search.space)
