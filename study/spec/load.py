"""A study from a file: a study file (TOML), or a study folder (its study.toml, else its study.json);
``read_meta``, the one versioned reader of study.json."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError, first_line
from study.basics.layout import MLFLOW_DB, STUDY_FILE, STUDY_TOML
from study.spec.catalogue import default_space
from study.spec.document import FORMAT_VERSION, RESOURCE_KEYS, Resources, parse
from study.spec.fields import canonical_axes, default_mode, scheduler_name
from study.spec.space import parse_dist
from study.spec.studyfile import Search, Study, frontier_block, read_toml


def load(path: str | Path, where: str | None = None) -> Study:
    """The study in a TOML file, or in a study folder (its study.toml, else its study.json)."""
    path = Path(path)
    where = where or f"--study {path}"
    if path.is_dir():
        if (path / STUDY_TOML).is_file():
            path = path / STUDY_TOML
        elif (path / STUDY_FILE).is_file():
            path = path / STUDY_FILE
        else:
            raise StudyError(f"{where}: a folder without study.toml or study.json is not a study")
    if path.suffix == ".json":
        try:
            return read_meta(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StudyError(f"{where}: not a study file ({first_line(exc)})") from None
    return read_toml(path, where)


def read_meta(meta: Mapping[str, Any]) -> Study:
    """The study document a study.json keeps, whatever its ``format_version``: 2 keeps it whole
    (``study``, read by the document's parser); 1 (no such key: before the document) only the plan
    it derived, from which the study is derived back (one written before study files existed
    included). ValueError for a version this code does not know."""
    version = meta.get("format_version", 1)
    if version == FORMAT_VERSION:
        return parse(meta["study"])
    if version != 1:
        raise ValueError(f"format_version {version!r}: written by a newer version of study (this one reads 1 and "
                         f"{FORMAT_VERSION})")
    resources = Resources.parse({k: meta[k] for k in RESOURCE_KEYS if k in meta})
    return dataclasses.replace(_derived_study(meta), resources=resources)


def _derived_study(meta: Mapping[str, Any]) -> Study:
    """The study a version 1 study.json's plan describes."""
    space = dict(meta["param_space"])
    kind = meta.get("kind", "grid")
    mlflow = _meta_mlflow(meta)
    if kind == "frontier":
        options = frontier_block(meta.get("frontier") or {}, lambda m: ValueError(m))
        swept = [k for k in meta.get("grid_axes") or [] if k not in ("length", "seed")]
        axes = {k: list(space[k]) for k in swept}
        fixed = {k: v for k, v in space.items() if k not in swept and k not in ("length", "seed")}
        return Study(name="frontier", fixed=fixed, axes=canonical_axes(axes),
                     frontier=options, mlflow=mlflow)
    if kind == "grid":
        swept = [k for k in meta.get("grid_axes") or [] if k != "seed"]
        seeds = len(space.get("seed") or [0]) if "seed" in (meta.get("grid_axes") or []) else 1
        axes = {k: list(space[k]) for k in swept}
        fixed = {k: v for k, v in space.items() if k not in swept and k != "seed"}
        return Study(name=meta.get("grid") or "grid", seeds=seeds, fixed=fixed, axes=canonical_axes(axes),
                     mlflow=mlflow)
    block = meta.get("search") or {}
    models = space["model"] if isinstance(space["model"], list) else [space["model"]]
    lengths = space["length"] if isinstance(space["length"], list) else [space["length"]]
    search = search_from_meta(block)
    fixed = {k: v for k, v in space.items() if k not in search.space and k not in ("model", "length", "seed")}
    return Study(name="optuna", fixed=fixed, axes={"model": list(models), "length": list(lengths)}, search=search,
                 mlflow=mlflow)


def _meta_mlflow(meta: Mapping[str, Any]) -> bool | str | None:
    """study.json's MLflow store as a study file states it: the study folder's own store (which a
    rerun into a new folder makes anew there) is ``True``; any other tracking URI is kept."""
    uri = meta.get("mlflow")
    if not uri:
        return None
    if uri.startswith("sqlite:///") and Path(uri[len("sqlite:///"):]).name == MLFLOW_DB \
            and Path(uri[len("sqlite:///"):]).parent.name == meta.get("name"):
        return True
    return str(uri)


def search_from_meta(block: Mapping[str, Any]) -> Search:
    """study.json's ``search`` table as the study file's Search. A study older than a key has
    Search's default for it; one written before search spaces were data searched the default space."""
    text = block.get("space")
    space = {k: parse_dist(k, v) for k, v in text.items()} if text else default_space()
    metric = block.get("metric", Search.metric)
    return Search(space=space, metric=metric, mode=block.get("mode", default_mode(metric)),
                  num_samples=int(block.get("num_samples", Search.num_samples)),
                  scheduler=scheduler_name(block.get("scheduler", Search.scheduler)) or Search.scheduler,
                  seed=int(block.get("seed", Search.seed)),
                  sampler=str(block.get("sampler", Search.sampler)),
                  more=tuple((str(m), str(d)) for m, d in (block.get("objectives") or [])[1:]),
                  perturbation_interval=block.get("perturbation_interval"), perturb=tuple(block.get("perturb") or ()))
