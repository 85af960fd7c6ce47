"""Config fields and their values as studies state them: the exercise's settings, typing and checks."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from palrnn import config
from palrnn.config import Config
from palrnn.names import canonical, choice_error, did_you_mean
from study.basics.text import value_text

# The exercise's training settings (docs/exercise.md): the base of every study.
EXERCISE: dict[str, Any] = {"init": "seed", "optimizer": "rmsprop", "lr": 1e-3, "batch_size": 128, "hidden": 128,
                            "max_norm": 10.0, "steps": 10_000}
# A study stops a trial after 3 evaluations in a row at the target (--patience).
BASE: dict[str, Any] = {**EXERCISE, "patience": 3}
SEEDS = 3
NUM_SAMPLES = 40
# What a search may optimise: the metrics a trial reports, its parameter count and its training time so far.
SEARCH_METRICS = ("eval_accuracy", "eval_loss", "train_accuracy", "train_loss", "mean_train_accuracy",
                  "examples_per_second", "steps_to_target", "grad_norm", "grad_norm_max", "params", "wall_seconds")
LOWER_IS_BETTER = ("steps_to_target", "grad_norm", "grad_norm_max", "params", "wall_seconds")
MODES = ("max", "min")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
FIELDS = {f.name: f for f in dataclasses.fields(Config)}
CELL_FIELDS = ("model", "length")  # a search's axes: one search per model x length cell


def field_name(key: Any) -> str:
    """A config field as people type it (``max_norm``, ``max-norm``, any case); ValueError when it is none."""
    name = key.strip().replace("-", "_").lower() if isinstance(key, str) else key
    if name not in FIELDS:
        raise ValueError(f"unknown config field {key!r}; allowed: {', '.join(sorted(FIELDS))}"
                         f"{did_you_mean(name, FIELDS)}")
    return name


def config_value(name: str, value: Any) -> Any:
    """``value`` as known field ``name`` stores it ("none" for max_norm, names in one spelling), checked by Config."""
    optional = "None" in str(FIELDS[name].type)
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in ("none", "off"))):
        value = None
    elif isinstance(FIELDS[name].default, float) or optional:
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
    neutral = {**BASE, "model": "LSTM"}  # a gated model: values that need one (init chrono) pass alone
    return getattr(Config.from_dict({**neutral, name: value}), name)


def text_value(name: str, text: str) -> Any:
    from palrnn.config import parse_value
    return config_value(name, parse_value(name, text))


def check_axis(name: str, values: list[Any]) -> list[Any]:
    if not values:
        raise ValueError(f"{name}: no values; give at least one")
    out: list[Any] = []
    for v in values:
        v = config_value(name, v)
        if v in out:
            raise ValueError(f"{name}: {value_text(v)} is given twice")
        out.append(v)
    return out


def canonical_axes(axes: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """model first, length last: the order of the trials and columns."""
    return {k: list(axes[k]) for k in sorted(axes, key=lambda k: (k != "model") + (k == "length"))}


def default_mode(metric: str) -> str:
    return "min" if metric.endswith("_loss") or metric in LOWER_IS_BETTER else "max"


# Every model a study may train, and those a grid sweeps unless told: the exercise's two (--models adds the GRU).
MODELS = list(config.MODELS)
GRID_MODELS = ["RNN", "LSTM"]
LENGTHS_EXERCISE = [5, 6, 7, 8, 9, 10]  # a grid's lengths unless told
SEARCH_MODEL, SEARCH_LENGTH = "RNN", 20  # a search's cell unless told


# Optuna's samplers a search may use (study/engine/search/optuna.py builds them, seeded by ``seed``).
SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc", "nsga2")
# Ray Tune's schedulers a search may use (study/engine/schedulers/); "none": every trial runs to its end.
SCHEDULER_NAMES = ("asha", "hyperband", "median", "pbt", "none")


def scheduler_name(value: Any) -> str | None:
    """A scheduler in any case (true/"on": asha, false/"off": none, the older spellings), else None."""
    value = canonical(value, (*SCHEDULER_NAMES, "on", "off"))
    if value is True or value == "on":
        return "asha"
    if value is False or value == "off":
        return "none"
    return value if value in SCHEDULER_NAMES else None


def sampler_name(value: Any) -> Any:
    return canonical(value, SAMPLERS)


def sampler_problem(sampler: Any, space: Mapping[str, tuple[str, Any]]) -> str | None:
    """Why ``sampler`` cannot search ``space``, or None. CMA-ES samples numbers only: over choices only
    Optuna would sample every one at random, so it is refused (a mixed space: the dry run says so)."""
    if sampler not in SAMPLERS:
        return choice_error(sampler, SAMPLERS)
    if sampler == "cmaes" and space and all(kind == "choice" for kind, _ in space.values()):
        return ("cmaes samples numbers only, and this space has only choices "
                f"({', '.join(space)}); use tpe, random, gp, qmc or nsga2, or search a number")
    return None
