"""The request combined with the study it changes (a shipped grid, a study file, the default
search, a frontier): ``base`` finds that study, ``merge`` applies the options to it (a search's or a
frontier's block by its kind: ``Kind.change``), each field's setting remembering the option (or
file) it came from, for the error that names it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from palrnn.config import check_model
from palrnn.names import did_you_mean
from study.basics.errors import StudyError
from study.planning.kinds import kind_of
from study.planning.kinds.base import Settings
from study.planning.request import SMOKE, Request, int_option
from study.spec import catalogue
from study.spec.fields import (
    MODELS,
    canonical_axes,
)
from study.spec.load import load
from study.spec.studyfile import (
    Search,
    Study,
    from_dict,
    frontier_block,
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
    block = kind.change(base, req, settings, sets, sweeps, where)  # a search's or a frontier's, changed
    search = block.get("search")
    for k, (v, option) in sets.items():
        settings.fix(k, v, option)
    for k, (vs, option) in sweeps.items():
        settings.sweep(k, vs, option)
    seeds = _seeds(base, req, settings, sets, search, kind.has_seeds)
    study = Study(name=base.name, description=_description(base, req, where), seeds=seeds if kind.has_seeds else None,
                  fixed=settings.fixed, axes=canonical_axes(settings.axes), search=search,
                  frontier=block.get("frontier"), mlflow=_mlflow(base, req), kind=base.kind)
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
