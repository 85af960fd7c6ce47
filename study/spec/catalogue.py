"""The shipped studies, as study files in ``study/studies/``: the named grids (--grid) and the default search."""

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
    return [name for name, s in _shipped() if s.kind == "grid"]


def shipped() -> dict[str, Study]:
    """Every shipped study by name, a fresh copy."""
    import copy
    return {name: copy.deepcopy(s) for name, s in _shipped()}


def default_space() -> dict[str, Dist]:
    return dict(shipped()["optuna"].search.space)
