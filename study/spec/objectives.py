"""A search's objectives: one metric or several, each with its direction (docs/search.md); the first is
the one a scheduler ranks trials by and best.json picks by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from study.spec.fields import MODES, SEARCH_METRICS, default_mode

Objective = tuple[str, str]  # (metric, "max" | "min")

# Known only once a trial reaches the target: no scheduler can rank trials by it as they train.
NOT_PER_EVALUATION = ("steps_to_target",)
# The samplers that search one objective only (GPSampler takes several in Optuna 5).
SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)


def parse_objectives(values: Any) -> list[Objective]:
    """One objective or a list, each ``NAME`` or ``NAME:max|min`` (a name alone: its usual direction)."""
    items = [values] if isinstance(values, str) else values
    if not isinstance(items, Sequence) or not items:
        raise ValueError(f"give a metric, or a list of them, as NAME or NAME:max|min, got {values!r}")
    out: list[Objective] = []
    for text in items:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"must be NAME or NAME:max|min with NAME one of {', '.join(SEARCH_METRICS)}, "
                             f"got {text!r}")
        name, _, mode = text.strip().partition(":")
        if name not in SEARCH_METRICS:
            raise ValueError(f"must be one of {', '.join(SEARCH_METRICS)} (as NAME or NAME:max|min), got {name!r}")
        if mode and mode not in MODES:
            raise ValueError(f"{name}: the direction must be max or min, got {mode!r}")
        if name in [m for m, _ in out]:
            raise ValueError(f"{name} is given twice; each metric is one objective")
        out.append((name, mode or default_mode(name)))
    return out


def objectives_problem(objectives: Sequence[Objective], sampler: str, scheduler: str) -> tuple[str, str] | None:
    """(the option at fault, why) when these objectives cannot be searched so, else None."""
    first = objectives[0][0]
    if scheduler != "none" and first in NOT_PER_EVALUATION:
        return ("--scheduler", f"{scheduler} ranks trials by the first metric as they train, and {first} is known "
                f"only once a trial reaches the target; put another metric first, or use --scheduler none")
    if len(objectives) > 1 and sampler in SINGLE_OBJECTIVE_SAMPLERS:
        return ("--sampler", f"{sampler} searches one objective only, and {len(objectives)} metrics are given; "
                "use tpe, nsga2, gp, qmc or random")
    return None


def objective_text(objectives: Sequence[Objective]) -> str:
    return ", ".join(f"{m}:{d}" for m, d in objectives)
