"""Population Based Training's settings, checked before Ray starts: which searched fields it
perturbs and every how many steps (``study.engine.schedulers.pbt`` runs it)."""

from __future__ import annotations

from typing import Any

# What PBT may change while a trial trains (palrnn.state.PERTURBABLE; named here without torch).
PERTURBABLE = ("lr", "max_norm")


def perturbed(search: Any) -> list[str]:
    """The fields PBT perturbs: those named, else lr and max_norm where searched."""
    return list(search.perturb) or [f for f in PERTURBABLE if f in search.space]


def interval(search: Any, steps: int, eval_every: int) -> int:
    """Steps between two perturbations: the one given, else a quarter of the steps, at an evaluation."""
    if search.perturbation_interval is not None:
        return int(search.perturbation_interval)
    return max(eval_every, steps // 4 // eval_every * eval_every)


def positive_interval(value: Any) -> int:
    try:
        number = int(value) if not isinstance(value, (bool, float)) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1 or str(value).strip() != str(number):
        raise ValueError(f"must be a positive integer (training steps), got {value!r}")
    return number


def pbt_problem(search: Any, steps: int, eval_every: int) -> tuple[str, str] | None:
    """(the option at fault, why) when its PBT settings cannot run, else None."""
    if search.scheduler != "pbt":
        for key, option in (("perturbation_interval", "--perturbation-interval"), ("perturb", "--perturb")):
            if getattr(search, key):
                return option, f"only with --scheduler pbt (the scheduler is {search.scheduler})"
        return None
    every = search.perturbation_interval
    if every is not None and every >= steps:
        return "--perturbation-interval", f"must be below the trial's steps ({steps}), got {every}"
    if every is not None and every % eval_every:
        return "--perturbation-interval", (f"must be a multiple of eval_every ({eval_every}): PBT compares trials "
                                           f"at their evaluations, got {every}")
    for name in search.perturb:
        if name not in PERTURBABLE:
            return "--perturb", f"PBT can change only {' and '.join(PERTURBABLE)} while a trial trains, got {name!r}"
        if name not in search.space:
            return "--perturb", (f"{name} is not searched; PBT perturbs fields of the space (searched: "
                                 f"{', '.join(search.space)})")
    if not perturbed(search):
        return "--perturb", (f"nothing to perturb: PBT changes {' or '.join(PERTURBABLE)}, and neither is searched "
                             f"(searched: {', '.join(search.space)}); add one to --space")
    if len(search.objectives) > 1:
        return "--metric", (f"pbt ranks trials by one metric, and {len(search.objectives)} are given; give one "
                            "--metric, or use --scheduler none for several objectives")
    return None


SAMPLER_WITH_PBT = ("Ray Tune draws PBT's first configs at random itself and refuses a search algorithm beside it; "
                    "leave the sampler out with --scheduler pbt")
