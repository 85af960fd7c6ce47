"""Every default filled in and every trial's Config checked by palrnn."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from palrnn.config import Config
from study.basics.errors import StudyError
from study.frontier.search import frontier_max_trials
from study.spec.fields import (
    BASE,
    CELL_FIELDS,
    GRID_MODELS,
    LENGTHS_EXERCISE,
    SEARCH_LENGTH,
    SEARCH_MODEL,
    SEEDS,
    canonical_axes,
)
from study.spec.space import ONLY_FOR, for_model, values_to_check
from study.spec.studyfile import Study


@dataclass
class Resolved:
    """A study with every default filled in and every trial checked."""

    study: Study  # what study.toml keeps: every setting explicit
    base: Config
    param_space: dict[str, Any]
    grid_axes: list[str]
    axes: list[str]
    n_trials: int
    cells: list[tuple[str, int]] = field(default_factory=list)


def resolve(study: Study, origin: Mapping[str, str] | None = None, where: str = "study") -> Resolved:
    """Fill in the defaults (the exercise's settings, patience 3; a grid's models RNN and LSTM and
    lengths 5..10, a search's RNN at T = 20) and check every trial's Config (a search: every cell
    with every value and bound of its space)."""
    origin = dict(origin or {})

    def fail(exc: ValueError) -> StudyError:
        key = str(exc).split(":", 1)[0]
        return StudyError(f"{origin.get(key, where)}: {exc}")

    fixed = {**BASE, **study.fixed}
    axes = dict(study.axes)
    search = study.kind == "optuna"
    if study.kind == "frontier":
        return _resolve_frontier(study, fixed, axes, fail)
    defaults = {"model": [SEARCH_MODEL] if search else list(GRID_MODELS),
                "length": [SEARCH_LENGTH] if search else list(LENGTHS_EXERCISE)}
    for key in CELL_FIELDS:
        if key not in axes:
            axes[key] = [study.fixed[key]] if key in study.fixed else defaults[key]
    axes = canonical_axes(axes)
    for key in axes:
        fixed.pop(key, None)
    space = study.search.space if study.search else {}
    for key in space:
        fixed.pop(key, None)
    try:
        base = Config.from_dict({**fixed, **{k: v[0] for k, v in axes.items()}})
    except ValueError as exc:
        raise fail(exc) from None
    resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k not in space and k != "seed"}
    if not search:
        seeds = study.seeds or SEEDS
        names = list(axes)
        n = 0
        for combo in itertools.product(*axes.values()):
            try:
                base.replace(**dict(zip(names, combo, strict=True)))
            except ValueError as exc:
                raise fail(exc) from None
            n += seeds
        param_space = {**base.to_dict(), **axes, "seed": list(range(seeds))}
        out = Study(name=study.name, description=study.description, seeds=seeds, fixed=resolved_fixed, axes=axes,
                    mlflow=study.mlflow)
        return Resolved(out, base, param_space, [*axes, "seed"], [k for k in axes if k != "length"], n)
    assert study.search is not None
    cells = list(itertools.product(axes["model"], axes["length"]))
    searched: list[str] = []
    for model, length in cells:
        try:
            cell = base.replace(model=model, length=length)
        except ValueError as exc:
            raise fail(exc) from None
        dims = for_model(space, model)
        if not dims:
            ignored = ", ".join(f"{k} ({', '.join(ONLY_FOR.get(k, ()))} only)" for k in space)
            raise StudyError(f"{origin.get(next(iter(space)), where)}: nothing to search for {model}, which "
                             f"ignores {ignored}; search other fields too, or leave {model} out")
        for name, dist in dims.items():
            for value in values_to_check(dist):
                try:
                    cell.replace(**{name: value})
                except ValueError as exc:
                    raise StudyError(f"{origin.get(name, where)}: {exc}") from None
            if name not in searched:
                searched.append(name)
    param_space = base.to_dict()
    if len(cells) > 1:
        param_space["model"], param_space["length"] = list(axes["model"]), list(axes["length"])
    out = Study(name=study.name, description=study.description, fixed=resolved_fixed, axes=axes,
                search=dataclasses.replace(study.search, space=dict(space)), mlflow=study.mlflow)
    return Resolved(out, base, param_space, [], searched, study.search.num_samples * len(cells), cells)


def _resolve_frontier(study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Any) -> Resolved:
    """A frontier: its cells are the combinations of the axes (model always among them; default RNN
    and LSTM), each checked by palrnn at the start and the max length; the lengths and the seeds
    are the search's, so neither is in ``param_space``."""
    options = study.frontier
    if "model" not in axes:
        axes["model"] = [study.fixed["model"]] if "model" in study.fixed else list(GRID_MODELS)
    axes = canonical_axes(axes)
    for key in (*axes, "length", "seed"):
        fixed.pop(key, None)
    try:
        base = Config.from_dict({**fixed, **{k: v[0] for k, v in axes.items()}, "length": options.start})
    except ValueError as exc:
        raise fail(exc) from None
    names = list(axes)
    combos = list(itertools.product(*axes.values()))
    for combo in combos:
        for length in (options.start, options.max_length):
            try:
                base.replace(**dict(zip(names, combo, strict=True)), length=length)
            except ValueError as exc:
                raise fail(exc) from None
    resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k not in ("length", "seed")}
    param_space = {**{k: v for k, v in base.to_dict().items() if k not in ("length", "seed")}, **axes}
    out = Study(name=study.name, description=study.description, fixed=resolved_fixed, axes=axes, frontier=options,
                mlflow=study.mlflow)
    return Resolved(out, base, param_space, names, names, frontier_max_trials(options, len(combos)))
