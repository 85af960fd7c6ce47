"""The overlay laid onto the study it changes: ``base`` finds that study (a shipped grid, a study file, the
default search, a frontier), ``merge`` lays the options onto its document and parses it once, remembering
the option (or file) each field came from, for the error that names it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from palrnn.config import check_model
from palrnn.names import did_you_mean
from study.basics.errors import StudyError
from study.planning.kinds import kind_of
from study.planning.overlay import OPTIONS, SMOKE, Overlay, checked, int_option, option_name
from study.spec import catalogue
from study.spec.document import DocumentError, parse, to_dict
from study.spec.fields import MODELS
from study.spec.load import load
from study.spec.studyfile import Study, from_dict, frontier_block, search_block


def base(ov: Overlay) -> tuple[Study, str]:
    """The study the options change, and where it came from (the label of its errors)."""
    shipped = catalogue.shipped()
    grid, search, study = ov.get("grid"), ov.get("search"), ov.get("study")
    if study is not None and grid is not None:
        raise StudyError("--study: not with --grid; a study file says what to run itself (--sweep changes its axes)")
    if search not in (None, "optuna", True) and not isinstance(search, Mapping):
        raise StudyError(f"--search: must be optuna, got {search!r}")
    searching, frontier = search is not None, ov.get("frontier") is not None
    if frontier and grid is not None:
        raise StudyError("--frontier: not with --grid; a frontier's cells are --models and --sweep, its lengths and "
                         "seeds are searched (--start-length, --max-length, --solve-rule)")
    if frontier and searching:
        raise StudyError("--frontier: not with --search optuna; a frontier finds the longest T of each cell, a "
                         "search the best settings of one")
    if grid is not None:
        if searching:
            raise StudyError("--grid: not with --search optuna; a search's cells are --models/--lengths, "
                             "what it chooses --space")
        names = catalogue.grid_names()
        if grid not in names:
            raise StudyError(f"--grid: unknown grid {grid!r}; allowed: {', '.join(names)}"
                             f"{did_you_mean(grid, names)}")
        return shipped[grid], f"--grid {grid}"
    if study is not None:  # --study FILE (or a study file's contents as a dict), of the kind asked for
        base, where = (from_dict(study, "study"), "study") if isinstance(study, Mapping) else \
            (load(study), f"--study {study}")
        for asked, block, other in ((searching, "search", "frontier"), (frontier, "frontier", "search")):
            if asked and getattr(base, block) is None:
                what = f"a {other} (it has a [{other}] table)" if getattr(base, other) is not None else \
                    f"a grid (it has no [{block}] table)"
                raise StudyError(f"--{block}: {study} is {what}")
    elif searching:
        base, where = shipped["optuna"], "--search optuna"
    elif frontier:
        base, where = Study(name="frontier", description="the memory frontier: the longest T each cell remembers",
                            frontier=frontier_block(True, None)), "--frontier"
    elif ov.get("axes"):
        base, where = Study(name="sweep", description="a grid of --sweep axes on the exercise's settings"), "--sweep"
    else:
        base, where = shipped["lengths"], "--grid lengths"
    if isinstance(search, Mapping):
        block = search_block(search, lambda m: StudyError(f"search: {m}"))
        base = dataclasses.replace(base, search=block, fixed={k: v for k, v in base.fixed.items()
                                                              if k not in block.space})
    if isinstance(ov.get("frontier"), Mapping):
        block = frontier_block(ov.get("frontier"), lambda m: StudyError(f"frontier: {m}"))
        base = dataclasses.replace(base, frontier=block)
    return base, where


def merge(base: Study, ov: Overlay, where: str) -> tuple[Study, dict[str, str]]:
    """``base`` changed by the overlay and parsed once; and the file or option each field came from."""
    kind = kind_of(base, where)
    doc = to_dict(base)
    origin = {k: where for k in [*base.fixed, *base.axes]}
    sets = {k: (v, "--set") for k, v in ov.get("fixed").items()}  # field -> (value, the option that gives it)
    sweeps = {k: (vs, "--sweep") for k, vs in ov.get("axes").items()}
    _cell_options(ov, sets, sweeps)
    if (full := ov.get("full")) and ov.get("patience") is not None:  # --full: patience 0, every step
        raise StudyError("--patience: not with --full, which trains every trial for all its steps")
    if full or ov.get("patience") is not None:
        option = "--full" if full else "--patience"
        if "patience" in sets or "patience" in sweeps:
            raise StudyError(f"{option}: patience is also given by --{'set' if 'patience' in sets else 'sweep'}; "
                             "give one of them")
        sets["patience"] = (0 if full else int_option("--patience", ov.get("patience"), 0), option)
    if clash := [k for k in sweeps if k in sets]:
        raise StudyError(f"--sweep: {clash[0]} is also fixed by --set; give one of them")
    kind.check_fixed(sets, sweeps)
    kind.change(doc, ov, origin, sets, sweeps, where)  # its block (a search's, a frontier's), changed
    for k, (v, option) in sets.items():
        doc["axes"].pop(k, None)
        doc["fixed"][k], origin[k] = v, option
    for k, (vs, option) in sweeps.items():
        doc["fixed"].pop(k, None)
        doc["axes"][k], origin[k] = vs, option
    if ov.get("seeds") is not None:
        doc["seeds"] = int_option("--seeds", ov.get("seeds"), 1)
    if ov.get("smoke_test"):
        for k, v in SMOKE.items():
            if k not in sets and k not in doc["axes"] and k not in doc.get("search", {}).get("space", {}):
                doc["fixed"][k], origin[k] = v, "--smoke-test"
        if ov.get("seeds") is None and kind.has_seeds:
            doc["seeds"] = 1
    if not kind.has_seeds:
        doc.pop("seeds", None)
    if (description := ov.get("description")) is None and ov.get("space") is not None and where == "--search optuna":
        description = f"an Optuna search over {', '.join(ov.get('space'))}"  # no longer the default search's space
    doc.update(description=base.description if description is None else str(description),
               mlflow=base.mlflow if ov.get("mlflow") is None else str(ov.get("mlflow")).strip() or True)
    doc.pop("storage", None)
    try:
        return parse({k: v for k, v in doc.items() if v is not None}), origin
    except DocumentError as exc:  # named by the option that gave its key, else the file or option of the study
        path = ".".join(exc.path)
        if given := [option_name(k) for k, (p, _) in OPTIONS.items() if p == path and option_name(k) in ov.given]:
            raise StudyError(f"{given[0]}: {exc.message}") from None
        raise StudyError(f"{origin.get(exc.path[-1], where)}: {exc.path[-1]}: {exc.message}" if exc.path
                         else f"{where}: {exc}") from None


def _cell_options(ov: Overlay, sets: dict[str, Any], sweeps: dict[str, Any]) -> None:
    """--models/--model and --lengths/--length: the model and length axes (a search's cells)."""
    for option, key, values, single in (("--models", "model", ov.get("models"), ov.get("model")),
                                        ("--lengths", "length", ov.get("lengths"), ov.get("length"))):
        if single is not None:
            values, option = [single], option[:-1]
        if values is None:
            continue
        if key in sweeps:
            raise StudyError(f"{option}: {key} is also swept by --sweep; give one of them")
        if key in sets:
            raise StudyError(f"{option}: {key} is also fixed by --set; give one of them")
        sweeps[key] = (_cells(option, key, values), option)


def _cells(option: str, key: str, values: Any) -> list[Any]:
    out: list[Any] = []
    for v in [values] if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) else values:
        if key == "length":
            v = int_option(option, v, 1)
        elif isinstance(v, str) and ":" in v:  # a model defined outside palrnn, by its import path
            checked(option, check_model, v)
        elif v not in MODELS:
            raise StudyError(f"{option}: unknown model {v!r}; allowed: {', '.join(MODELS)}{did_you_mean(v, MODELS)}")
        if v not in out:
            out.append(v)
    if not out:
        raise StudyError(f"{option}: no {key}s given")
    return out
