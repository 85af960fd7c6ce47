"""The request combined with the study it changes (a shipped grid, a study file, the default search, a frontier)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from study.basics.errors import StudyError
from study.planning.request import FRONTIER_ONLY, SEARCH_ONLY, SMOKE, Request, _int
from study.spec import catalogue
from study.spec.fields import CELL_FIELDS, METRICS, MODELS, MODES, canonical_axes, default_mode
from study.spec.studyfile import FRONTIER_KEYS, Study, frontier_block, frontier_options


def _base(req: Request) -> tuple[Study, str]:
    """The study the options change, and where it came from (the label of its errors)."""
    from study.spec.load import load
    from study.spec.studyfile import _search, from_dict

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
        names = [n for n, s in shipped.items() if s.kind == "grid"]
        if req.grid not in names:
            raise StudyError(f"--grid: unknown grid {req.grid!r}; allowed: {', '.join(names)}")
        return shipped[req.grid], f"--grid {req.grid}"
    if req.study is not None:
        if isinstance(req.study, Mapping):
            base, where = from_dict(req.study, "study"), "study"
        else:
            base, where = load(req.study), f"--study {req.study}"
        if searching and base.search is None:
            what = "a frontier (it has a [frontier] table)" if base.kind == "frontier" else \
                "a grid (it has no [search] table)"
            raise StudyError(f"--search: {req.study} is {what}")
        if frontier and base.frontier is None:
            what = "a search (it has a [search] table)" if base.kind == "optuna" else \
                "a grid (it has no [frontier] table)"
            raise StudyError(f"--frontier: {req.study} is {what}")
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
        base = dataclasses.replace(base, search=_search(req.search, lambda m: StudyError(f"search: {m}")))
        base.fixed = {k: v for k, v in base.fixed.items() if k not in base.search.space}
    if isinstance(req.frontier, Mapping):
        base = dataclasses.replace(base, frontier=frontier_block(req.frontier, lambda m: StudyError(f"frontier: {m}")))
    return base, where


def _check_mode(req: Request, kind: str, where: str) -> None:
    """Options the chosen kind of study does not use are refused, not silently ignored."""
    given = req.given
    from_file = where == "study" or where.startswith("--study")
    if kind != "frontier":
        foreign = [o for o in FRONTIER_ONLY if o in given]
        if foreign:
            what = f"; {where.removeprefix('--study ')} is a {'grid' if kind == 'grid' else 'search'} (no [frontier] " \
                   "table)" if from_file else ""
            raise StudyError(f"{foreign[0]}: only with --frontier{what}")
    if kind == "frontier":
        foreign = [o for o in SEARCH_ONLY if o in given]
        if "--lengths" in given or "--length" in given:
            option = "--lengths" if "--lengths" in given else "--length"
            raise StudyError(f"{option}: not with --frontier, which searches the lengths (--start-length, "
                             "--max-length)")
        if "--seeds" in given:
            raise StudyError("--seeds: not with --frontier, which runs seeds 0 .. N-1 of its solve rule K/N "
                             "(--solve-rule)")
        if foreign:
            hint = "; a frontier takes --models" if foreign[0] == "--model" else ""
            raise StudyError(f"{foreign[0]}: only with --search optuna{hint}")
        return
    if kind == "grid":
        foreign = [o for o in SEARCH_ONLY if o in given]
        if foreign:
            option = foreign[0]
            hint = f"; a grid takes {option}s" if option in ("--model", "--length") else ""
            what = f"; {where.removeprefix('--study ')} is a grid (no [search] table)" if from_file else ""
            raise StudyError(f"{option}: only with --search optuna{hint}{what}")
        return
    if "--seeds" in given:
        raise StudyError("--seeds: not for a search, which trains each config on seed 0; the best config's "
                         "command (printed at its end) reruns it over seeds")
    if "--model" in given and "--models" in given:
        raise StudyError("--model: not with --models; give the models with one of them")
    if "--length" in given and "--lengths" in given:
        raise StudyError("--length: not with --lengths; give the lengths with one of them")


def merge(base: Study, req: Request, where: str) -> tuple[Study, dict[str, str]]:
    """``base`` changed by the request's options; also where each field's setting came from."""
    kind = base.kind
    origin: dict[str, str] = {k: where for k in [*base.fixed, *base.axes]}
    fixed, axes = dict(base.fixed), dict(base.axes)
    sets, sweeps = dict(req.sets), dict(req.sweeps)
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
        sweeps[key] = _cells(option, key, values)
        origin[key] = option
    if req.full and req.patience is not None:
        raise StudyError("--patience: not with --full, which trains every trial for all its steps")
    if req.full or req.patience is not None:
        option = "--full" if req.full else "--patience"
        if "patience" in sets or "patience" in sweeps:
            raise StudyError(f"{option}: patience is also given by --{'set' if 'patience' in sets else 'sweep'}; "
                             "give one of them")
        sets["patience"] = 0 if req.full else _int("--patience", req.patience, 0)
        origin["patience"] = option
    clash = [k for k in sweeps if k in sets]
    if clash:
        raise StudyError(f"--sweep: {clash[0]} is also fixed by --set; give one of them")
    if kind == "frontier" and ("length" in sets or "length" in sweeps):
        option = "--set" if "length" in sets else "--sweep"
        raise StudyError(f"{option}: length: a frontier searches the lengths (--start-length, --max-length)")
    if "seed" in sets or "seed" in sweeps:
        option = "--set" if "seed" in sets else "--sweep"
        if kind == "frontier":
            raise StudyError(f"{option}: seed: a frontier runs seeds 0 .. N-1 of its solve rule K/N (--solve-rule)")
        if kind == "grid":
            raise StudyError(f"{option}: seed is swept by --seeds N (seeds 0 .. N-1)")
        raise StudyError(f"{option}: seed: a search trains each config on seed 0; the best config's command "
                         "reruns it over seeds")
    search = dataclasses.replace(base.search) if base.search is not None else None
    if search is not None:
        for k in search.space:
            origin[k] = where
        if req.space is not None:
            search.space = dict(req.space)
            for k in search.space:
                fixed.pop(k, None)
                origin[k] = "--space"
        other = [k for k in sweeps if k not in CELL_FIELDS]
        if other:
            k = other[0]
            raise StudyError(f"--sweep: {k}: a search sweeps only model and length (one search per cell); "
                             f"search {k} with --space {k}=choice:... or fix it with --set")
        searched = [k for k in sets if k in search.space]
        if searched:
            raise StudyError(f"--set: {searched[0]} is searched by Optuna and cannot be fixed; leave it out of "
                             "the space (--space gives the whole space)")
        if req.metric is not None:
            if req.metric not in METRICS:
                raise StudyError(f"--metric: must be one of {', '.join(METRICS)}, got {req.metric!r}")
            search.metric = req.metric
            search.mode = default_mode(req.metric)
        if req.mode is not None:
            if req.mode not in MODES:
                raise StudyError(f"--mode: must be max or min, got {req.mode!r}")
            search.mode = req.mode
        if req.num_samples is not None:
            search.num_samples = _int("--num-samples", req.num_samples, 1)
        if req.search_seed is not None:
            search.seed = _int("--search-seed", req.search_seed, 0)
        if req.scheduler is not None:
            search.scheduler = bool(req.scheduler)
    for k, v in sets.items():
        axes.pop(k, None)
        fixed[k] = v
        origin[k] = origin[k] if origin.get(k) in ("--full", "--patience") else "--set"
    for k, vs in sweeps.items():
        fixed.pop(k, None)
        axes[k] = vs
        origin[k] = origin[k] if origin.get(k) in ("--models", "--lengths", "--model", "--length") else "--sweep"
    seeds = base.seeds
    if req.seeds is not None:
        seeds = _int("--seeds", req.seeds, 1)
    if req.smoke_test:
        searched = search.space if search is not None else {}
        for k, v in SMOKE.items():
            if k not in sets and k not in axes and k not in searched:
                fixed[k] = v
                origin[k] = "--smoke-test"
        if req.seeds is None and kind == "grid":
            seeds = 1
    frontier = base.frontier
    if frontier is not None:
        changes = {k: getattr(req, k) for k in FRONTIER_KEYS}
        try:
            frontier = frontier_options(frontier, changes)
        except ValueError as exc:  # the file's own values were checked when it was read
            raise StudyError(str(exc)) from None
    mlflow = base.mlflow
    if req.mlflow is not None:
        mlflow = True if not str(req.mlflow).strip() else str(req.mlflow).strip()
    description = base.description
    if req.space is not None and where == "--search optuna":  # no longer the default search's space
        description = f"an Optuna search over {', '.join(req.space)}"
    if req.description is not None:
        description = str(req.description)
    study = Study(name=base.name, description=description, seeds=seeds if kind == "grid" else None, fixed=fixed,
                  axes=canonical_axes(axes), search=search, frontier=frontier, mlflow=mlflow)
    return study, origin


def _cells(option: str, key: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        values = [values]
    out = []
    for v in values:
        if key == "length":
            v = _int(option, v, 1)
        elif v not in MODELS:
            raise StudyError(f"{option}: unknown model {v!r}; allowed: {', '.join(MODELS)}")
        if v not in out:
            out.append(v)
    if not out:
        raise StudyError(f"{option}: no {key}s given")
    return out
