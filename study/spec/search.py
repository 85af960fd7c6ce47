"""A study's [search] block: what Optuna chooses and how (``Search``), read from a study file; Population Based
Training's settings checked before Ray starts (``study.engine.schedulers.pbt`` runs it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from palrnn.names import did_you_mean
from study.spec.fields import MODES, NUM_SAMPLES, SCHEDULER_NAMES, sampler_name, sampler_problem, scheduler_name
from study.spec.objectives import objectives_problem, parse_objectives
from study.spec.space import parse_dist

SEARCH_KEYS = ("space", "metric", "mode", "num_samples", "scheduler", "seed", "sampler", "perturbation_interval",
               "perturb")

@dataclass(frozen=True)
class Search:
    """A search block: what Optuna chooses (``space``: field -> (kind, values)) and how."""

    space: dict[str, tuple[str, Any]]
    metric: str = "eval_accuracy"
    mode: str = "max"
    num_samples: int = NUM_SAMPLES
    scheduler: str = "asha"
    seed: int = 0
    sampler: str = "tpe"
    # The objectives after the first (metric, mode): a multi-objective search (study.spec.objectives).
    more: tuple[tuple[str, str], ...] = ()
    perturbation_interval: int | None = None  # PBT's; None: a quarter of the steps
    perturb: tuple[str, ...] = ()  # the fields PBT perturbs; (): lr and max_norm where searched

    @property
    def objectives(self) -> list[tuple[str, str]]:
            return [(self.metric, self.mode), *self.more]


def search_block(block: Any, bad: Any) -> Search:
    if not isinstance(block, Mapping):
        raise bad(f"search: must be a table ([search]), got {block!r}")
    if unknown := [k for k in block if k not in SEARCH_KEYS]:
        raise bad(f"[search] unknown key {unknown[0]!r}; allowed: {', '.join(SEARCH_KEYS)}")
    space = block.get("space")
    if not isinstance(space, Mapping) or not space:
        raise bad("[search] space: give the fields Optuna chooses, as [search.space] with lines like "
                  "lr = \"loguniform:1e-4:3e-2\"")
    dists = {}
    for name, spec in space.items():
        try:
            dists[name] = parse_dist(name, spec)
        except ValueError as exc:
            raise bad(f"[search.space] {exc}") from None
    try:
        objectives = parse_objectives(block.get("metric", Search.metric))
    except ValueError as exc:
        raise bad(f"[search] metric: {exc}") from None
    (metric, mode), more = objectives[0], tuple(objectives[1:])
    if "mode" in block:
        if more or ":" in str(block.get("metric", "")):
            raise bad("[search] mode: give each metric its direction instead (metric = [\"NAME:max\", ...])")
        mode = block["mode"]
        if mode not in MODES:
            raise bad(f"[search] mode: must be max or min, got {mode!r}")
    num_samples = block.get("num_samples", Search.num_samples)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise bad(f"[search] num_samples: must be an integer >= 1, got {num_samples!r}")
    if (scheduler := scheduler_name(block.get("scheduler", Search.scheduler))) is None:
        raise bad(f"[search] scheduler: must be one of {', '.join(SCHEDULER_NAMES)} (or true for asha, false for "
                  f"none), got {block.get('scheduler')!r}{did_you_mean(block.get('scheduler'), SCHEDULER_NAMES)}")
    seed = block.get("seed", Search.seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise bad(f"[search] seed: must be an integer >= 0, got {seed!r}")
    sampler = sampler_name(block.get("sampler", Search.sampler))
    if problem := sampler_problem(sampler, dists):
        raise bad(f"[search] sampler: {problem}")
    if wrong := objectives_problem(objectives, sampler, scheduler):
        raise bad(f"[search] {wrong[0][2:]}: {wrong[1]}")
    if scheduler == "pbt" and "sampler" in block:
        raise bad(f"[search] sampler: {SAMPLER_WITH_PBT}")
    return Search(space=dists, metric=metric, mode=mode, num_samples=num_samples, scheduler=scheduler, seed=seed,
                  sampler=sampler, more=more, **pbt_block(block, bad))


def pbt_block(block: Mapping[str, Any], bad: Any) -> dict[str, Any]:
    """[search]'s perturbation_interval and perturb (checked against the steps when planned)."""
    out: dict[str, Any] = {}
    if "perturbation_interval" in block:
        value = block["perturbation_interval"]
        try:
            number = int(value) if not isinstance(value, (bool, float)) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < 1 or str(value).strip() != str(number):
            raise bad(f"[search] perturbation_interval: must be a positive integer (training steps), got {value!r}")
        out["perturbation_interval"] = number
    if "perturb" in block:
        names = block["perturb"]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise bad(f"[search] perturb: must be a list of field names, as [\"lr\", \"max_norm\"], got {names!r}")
        out["perturb"] = tuple(names)
    return out


# What PBT may change while a trial trains (palrnn.checkpoint.PERTURBABLE; named here without torch).
PERTURBABLE = ("lr", "max_norm")


def perturbed(search: Any) -> list[str]:
    """The fields PBT perturbs: those named, else lr and max_norm where searched."""
    return list(search.perturb) or [f for f in PERTURBABLE if f in search.space]


def interval(search: Any, steps: int, eval_every: int) -> int:
    """Steps between two perturbations: the one given, else a quarter of the steps, at an evaluation."""
    if search.perturbation_interval is not None:
        return int(search.perturbation_interval)
    return max(eval_every, steps // 4 // eval_every * eval_every)


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
