"""The request combined with the study it changes (a shipped grid, a study file, the default
search, a frontier): ``base`` finds that study, ``merge`` applies the options to it, step by step,
each field's setting remembering the option (or file) it came from, for the error that names it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from palrnn.config import check_model
from palrnn.names import did_you_mean
from study.basics.errors import StudyError
from study.planning.kinds import kind_of
from study.planning.request import SMOKE, Request, int_option
from study.spec import catalogue
from study.spec.fields import (
    CELL_FIELDS,
    MODELS,
    MODES,
    canonical_axes,
    sampler_problem,
    scheduler_error,
    scheduler_name,
)
from study.spec.load import load
from study.spec.objectives import objectives_problem, parse_objectives
from study.spec.pbt import SAMPLER_WITH_PBT, positive_interval
from study.spec.studyfile import (
    FRONTIER_KEYS,
    Search,
    Study,
    from_dict,
    frontier_block,
    frontier_options,
    search_block,
)


def base(req: Request) -> tuple[Study, str]:
    """The study the options change, and where it came from (the label of its errors)."""
    shipped = catalogue.shipped()
    if req.study is not None and req.grid is not None:
        raise StudyError("--study: not with --grid; a study file says what to run itself (--sweep changes its axes)")
    if req.search not in (None, "optuna", True) and not isinstance(req.search, Mapping):
        raise StudyError(f"--search: must be optuna, got {req.search!r}")
    searching = req.search is not None
    frontier = req.frontier is not None
    if frontier and req.grid is not None:
        raise StudyError("--frontier: not with --grid; a frontier's cells are --models and --sweep, its lengths and "
                         "seeds are searched (--start-length, --max-length, --solve-rule)")
    if frontier and searching:
        raise StudyError("--frontier: not with --search optuna; a frontier finds the longest T of each cell, a "
                         "search the best settings of one")
    if req.grid is not None:
        if searching:
            raise StudyError("--grid: not with --search optuna; a search's cells are --models/--lengths, "
                             "what it chooses --space")
        names = catalogue.grid_names()
        if req.grid not in names:
            raise StudyError(f"--grid: unknown grid {req.grid!r}; allowed: {', '.join(names)}"
                             f"{did_you_mean(req.grid, names)}")
        return shipped[req.grid], f"--grid {req.grid}"
    if req.study is not None:
        base, where = _study_file(req, searching, frontier)
    elif searching:
        base, where = shipped["optuna"], "--search optuna"
    elif frontier:
        from study.frontier.options import FrontierOptions

        base = Study(name="frontier", description="the memory frontier: the longest T each cell remembers",
                     frontier=FrontierOptions())
        where = "--frontier"
    elif req.sweeps:
        base, where = Study(name="sweep", description="a grid of --sweep axes on the exercise's settings"), "--sweep"
    else:
        base, where = shipped["lengths"], "--grid lengths"
    if isinstance(req.search, Mapping):
        search = search_block(req.search, lambda m: StudyError(f"search: {m}"))
        base = dataclasses.replace(base, search=search, fixed={k: v for k, v in base.fixed.items()
                                                               if k not in search.space})
    if isinstance(req.frontier, Mapping):
        base = dataclasses.replace(base, frontier=frontier_block(req.frontier, lambda m: StudyError(f"frontier: {m}")))
    return base, where


def _study_file(req: Request, searching: bool, frontier: bool) -> tuple[Study, str]:
    """--study FILE (or a study file's contents as a dict), which must be the kind asked for."""
    if isinstance(req.study, Mapping):
        base, where = from_dict(req.study, "study"), "study"
    else:
        base, where = load(req.study), f"--study {req.study}"
    if searching and base.search is None:
        what = "a frontier (it has a [frontier] table)" if base.frontier is not None else \
            "a grid (it has no [search] table)"
        raise StudyError(f"--search: {req.study} is {what}")
    if frontier and base.frontier is None:
        what = "a search (it has a [search] table)" if base.search is not None else \
            "a grid (it has no [frontier] table)"
        raise StudyError(f"--frontier: {req.study} is {what}")
    return base, where


def check_options(req: Request, base: Study, where: str) -> None:
    """Options the chosen kind of study does not use are refused, not silently ignored."""
    kind_of(base, where).check_options(req, where)


@dataclass
class Settings:
    """A study's fixed settings and axes as the options change them, and where each field's
    setting came from (the file, or the option that changed it last)."""

    fixed: dict[str, Any]
    axes: dict[str, list[Any]]
    origin: dict[str, str] = field(default_factory=dict)

    def fix(self, key: str, value: Any, where: str) -> None:
        self.axes.pop(key, None)
        self.fixed[key] = value
        self.origin[key] = where

    def sweep(self, key: str, values: list[Any], where: str) -> None:
        self.fixed.pop(key, None)
        self.axes[key] = values
        self.origin[key] = where


def merge(base: Study, req: Request, where: str) -> tuple[Study, dict[str, str]]:
    """``base`` changed by the request's options; also where each field's setting came from."""
    kind = kind_of(base, where)
    settings = Settings(dict(base.fixed), dict(base.axes), {k: where for k in [*base.fixed, *base.axes]})
    sets = {k: (v, "--set") for k, v in req.sets.items()}  # field -> (value, the option that gives it)
    sweeps = {k: (vs, "--sweep") for k, vs in req.sweeps.items()}
    _cell_options(req, sets, sweeps)
    _patience(req, sets, sweeps)
    clash = [k for k in sweeps if k in sets]
    if clash:
        raise StudyError(f"--sweep: {clash[0]} is also fixed by --set; give one of them")
    kind.check_fixed(sets, sweeps)
    search = _changed_search(base.search, req, settings, sets, sweeps, where) if base.search is not None else None
    for k, (v, option) in sets.items():
        settings.fix(k, v, option)
    for k, (vs, option) in sweeps.items():
        settings.sweep(k, vs, option)
    seeds = _seeds(base, req, settings, sets, search, kind.has_seeds)
    study = Study(name=base.name, description=_description(base, req, where), seeds=seeds if kind.has_seeds else None,
                  fixed=settings.fixed, axes=canonical_axes(settings.axes), search=search,
                  frontier=_frontier(base, req), mlflow=_mlflow(base, req), kind=base.kind)
    return study, settings.origin


def _cell_options(req: Request, sets: dict[str, Any], sweeps: dict[str, Any]) -> None:
    """--models/--model and --lengths/--length: the model and length axes (a search's cells)."""
    for option, key, values, single in (("--models", "model", req.models, req.model),
                                        ("--lengths", "length", req.lengths, req.length)):
        if single is not None:
            values, option = [single], option[:-1]
        if values is None:
            continue
        if isinstance(values, (str, int)) and option.endswith("s"):
            values = [values]
        if key in sweeps:
            raise StudyError(f"{option}: {key} is also swept by --sweep; give one of them")
        if key in sets:
            raise StudyError(f"{option}: {key} is also fixed by --set; give one of them")
        sweeps[key] = (_cells(option, key, values), option)


def _patience(req: Request, sets: dict[str, Any], sweeps: dict[str, Any]) -> None:
    """--full (patience 0: every step) or --patience N."""
    if req.full and req.patience is not None:
        raise StudyError("--patience: not with --full, which trains every trial for all its steps")
    if req.full or req.patience is not None:
        option = "--full" if req.full else "--patience"
        if "patience" in sets or "patience" in sweeps:
            raise StudyError(f"{option}: patience is also given by --{'set' if 'patience' in sets else 'sweep'}; "
                             "give one of them")
        sets["patience"] = (0 if req.full else int_option("--patience", req.patience, 0), option)


def _changed_search(base: Search, req: Request, settings: Settings, sets: Mapping[str, Any], sweeps: Mapping[str, Any],
            where: str) -> Search:
    """A search's block changed by --space, --metric, --mode, --num-samples, --search-seed, --scheduler,
    --sampler."""
    search = SimpleNamespace(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)})  # changed below
    for k in search.space:
        settings.origin[k] = where
    if req.space is not None:
        search.space = dict(req.space)
        for k in search.space:
            settings.fixed.pop(k, None)
            settings.origin[k] = "--space"
    other = [k for k in sweeps if k not in CELL_FIELDS]
    if other:
        k = other[0]
        raise StudyError(f"--sweep: {k}: a search sweeps only model and length (one search per cell); "
                         f"search {k} with --space {k}=choice:... or fix it with --set")
    searched = [k for k in sets if k in search.space]
    if searched:
        raise StudyError(f"--set: {searched[0]} is searched by Optuna and cannot be fixed; leave it out of "
                         "the space (--space gives the whole space)")
    _objectives(search, req)
    if req.num_samples is not None:
        search.num_samples = int_option("--num-samples", req.num_samples, 1)
    if req.search_seed is not None:
        search.seed = int_option("--search-seed", req.search_seed, 0)
    if req.scheduler is not None:
        name = scheduler_name(req.scheduler)
        if name is None:
            raise StudyError(f"--scheduler: {scheduler_error(req.scheduler)}")
        search.scheduler = name
    if req.sampler is not None:
        search.sampler = req.sampler
        if search.scheduler == "pbt":
            raise StudyError(f"--sampler: {SAMPLER_WITH_PBT}")
    _pbt_options(search, req)
    problem = sampler_problem(search.sampler, search.space)
    if problem:
        raise StudyError(f"--sampler: {problem}")
    wrong = objectives_problem([(search.metric, search.mode), *search.more], search.sampler, search.scheduler)
    if wrong:
        # The option the user gave that makes the clash: the scheduler or sampler if given, else the metrics.
        given = getattr(req, wrong[0][2:]) is not None
        raise StudyError(f"{wrong[0] if given else '--metric'}: {wrong[1]}")
    return Search(**vars(search))


def _pbt_options(search: SimpleNamespace, req: Request) -> None:
    """--perturbation-interval and --perturb (checked against the steps in planning: study.spec.pbt)."""
    if req.perturbation_interval is not None:
        try:
            search.perturbation_interval = positive_interval(req.perturbation_interval)
        except ValueError as exc:
            raise StudyError(f"--perturbation-interval: {exc}") from None
    if req.perturb is not None:
        names = [req.perturb] if isinstance(req.perturb, str) else list(req.perturb)
        search.perturb = tuple(str(n).strip() for n in names)


def _objectives(search: SimpleNamespace, req: Request) -> None:
    """--metric NAME[:max|min] (repeatable: several objectives) and --mode (one metric's direction)."""
    if req.metric is not None:
        try:
            objectives = parse_objectives(req.metric)
        except ValueError as exc:
            raise StudyError(f"--metric: {exc}") from None
        (search.metric, search.mode), search.more = objectives[0], tuple(objectives[1:])
    if req.mode is not None:
        if req.mode not in MODES:
            raise StudyError(f"--mode: must be max or min, got {req.mode!r}")
        given = [req.metric] if isinstance(req.metric, str) else list(req.metric or [])
        if search.more or any(":" in str(m) for m in given):
            raise StudyError("--mode: not with several metrics or NAME:max|min; give each --metric its direction")
        search.mode = req.mode


def _seeds(base: Study, req: Request, settings: Settings, sets: Mapping[str, Any], search: Search | None,
           has_seeds: bool) -> int | None:
    """--seeds N; --smoke-test's tiny settings (one seed for a grid, unless told)."""
    seeds = base.seeds
    if req.seeds is not None:
        seeds = int_option("--seeds", req.seeds, 1)
    if req.smoke_test:
        searched = search.space if search is not None else {}
        for k, v in SMOKE.items():
            if k not in sets and k not in settings.axes and k not in searched:
                settings.fix(k, v, "--smoke-test")
        if req.seeds is None and has_seeds:
            seeds = 1
    return seeds


def _frontier(base: Study, req: Request) -> Any:
    """A frontier's options changed by --solve-rule, --start-length, --max-length, --speculate."""
    if base.frontier is None:
        return None
    try:
        return frontier_options(base.frontier, {k: getattr(req, k) for k in FRONTIER_KEYS})
    except ValueError as exc:  # the file's own values were checked when it was read
        raise StudyError(str(exc)) from None


def _mlflow(base: Study, req: Request) -> bool | str | None:
    if req.mlflow is None:
        return base.mlflow
    return True if not str(req.mlflow).strip() else str(req.mlflow).strip()


def _description(base: Study, req: Request, where: str) -> str:
    if req.description is not None:
        return str(req.description)
    if req.space is not None and where == "--search optuna":  # no longer the default search's space
        return f"an Optuna search over {', '.join(req.space)}"
    return base.description


def _cells(option: str, key: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        values = [values]
    out = []
    for v in values:
        if key == "length":
            v = int_option(option, v, 1)
        elif isinstance(v, str) and ":" in v:  # a model defined outside palrnn, by its import path
            try:
                check_model(v)
            except ValueError as exc:
                raise StudyError(f"{option}: {exc}") from None
        elif v not in MODELS:
            raise StudyError(f"{option}: unknown model {v!r}; allowed: {', '.join(MODELS)}{did_you_mean(v, MODELS)}")
        if v not in out:
            out.append(v)
    if not out:
        raise StudyError(f"{option}: no {key}s given")
    return out
