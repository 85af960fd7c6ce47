"""The study document: one frozen, typed schema of a whole study, and ``parse``, its one parser.

A study is its ``name`` and ``description``, a grid's ``seeds``, the ``fixed`` settings and the
swept ``axes`` (palrnn Config fields), a ``search`` (``study.spec.search.Search``) or a
``frontier`` (``study.frontier.options.FrontierOptions``), ``mlflow``, ``storage``, the
``resources`` of each trial and the document's ``format_version``. A study file is this
document in TOML (``study.spec.studyfile``, which takes every key but ``resources`` and
``format_version``: those are a run's, from the command line or ``study.plan``); study.json keeps
it under ``study`` beside what planning derived (``study.spec.load.read_meta``).

``parse`` checks a plain dict; its errors (``DocumentError``) name the key path,
``fixed.lr: must be a finite number > 0, got -1.0``; a study file prints the same error in its
tables, ``[fixed] lr: ...`` (``DocumentError.toml``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from study.basics.errors import StudyError
from study.frontier.options import FrontierOptions, check_frontier_options
from study.spec.fields import CELL_FIELDS, FIELDS, NAME_RE, canonical_axes, check_axis, config_value
from study.spec.search import Search, search_block

FORMAT_VERSION = 2  # 1: study.json before the document (no "study" key)
TOP_KEYS = ("name", "description", "seeds", "fixed", "axes", "search", "frontier", "mlflow", "storage", "kind")
DOCUMENT_KEYS = (*TOP_KEYS, "resources", "format_version")
# A [frontier] table's keys, each the command line's option of the same name (--solve-rule, ...).
FRONTIER_KEYS = ("solve_rule", "start_length", "max_length", "speculate")


def whole(value: Any, low: int) -> int:
    """An integer >= ``low`` (or its text); ValueError saying what is allowed."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"must be an integer >= {low}, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"must be an integer >= {low}, got {value}")
    return value


def number(value: Any, low: float, strict: bool = False) -> float:
    """A finite number >= ``low`` (> with ``strict``), or its text; ValueError saying what is allowed."""
    shown = value
    try:
        value = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or not (value > low if strict else value >= low):
        raise ValueError(f"must be a number {'>' if strict else '>='} {low:g}, got {shown!r}")
    return value


@dataclass(frozen=True)
class Resources:
    """What each trial gets and how it survives a failure (--cpus-per-trial, ...)."""

    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    checkpoint_every: int = 1000  # steps between a trial's checkpoints
    max_failures: int = 2  # times a failed trial is resumed from its checkpoint
    max_concurrent: int = 0  # trials at once; 0: as many as the resources allow

    @classmethod
    def parse(cls, data: Any) -> Resources:
        """The ``resources`` table; DocumentError naming its key."""
        if not isinstance(data, Mapping):
            raise DocumentError(("resources",), f"must be a table of {', '.join(RESOURCE_KEYS)}, got {data!r}")
        unknown = [k for k in data if k not in RESOURCE_KEYS]
        if unknown:
            raise DocumentError(("resources",), f"unknown key {unknown[0]!r}; allowed: {', '.join(RESOURCE_KEYS)}",
                                table=True)
        out = {}
        for key, value in data.items():
            try:
                out[key] = (number(value, 0, strict=key == "cpus_per_trial") if key.endswith("_per_trial")
                            else whole(value, 1 if key == "checkpoint_every" else 0))
            except ValueError as exc:
                raise DocumentError(("resources", key), str(exc)) from None
        cpus = out.get("cpus_per_trial", 1)
        if cpus > 1 and cpus != int(cpus):
            raise DocumentError(("resources", "cpus_per_trial"),
                                f"fractions are allowed below 1 only, got {data['cpus_per_trial']}")
        return cls(**out)


RESOURCE_KEYS = tuple(f.name for f in fields(Resources))


@dataclass(frozen=True)
class Study:
    """A study document; each field is a key of the document (``DOCUMENT_KEYS``)."""

    name: str
    description: str = ""
    seeds: int | None = None  # a grid's seeds (None: 3); a search trains each config on seed 0
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)
    search: Search | None = None
    frontier: FrontierOptions | None = None  # a memory frontier's options
    mlflow: bool | str | None = None  # True: the study folder's own MLflow store; a str: a tracking URI
    storage: str | None = None  # where trials keep what they share (--storage); None: the study folder
    resources: Resources = Resources()
    format_version: int = FORMAT_VERSION
    # Its kind (study.planning.kinds.KINDS); left out, the one its blocks make (block_kind).
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", block_kind(self))


def block_kind(study: Study) -> str:
    """The kind a study's blocks make: a [frontier] a frontier, a [search] a search, else a grid."""
    if study.frontier is not None:
        return "frontier"
    return "optuna" if study.search is not None else "grid"


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DocumentError(StudyError):
    """A document's bad value: ``path``, the keys down to it (``("fixed", "lr")``), and why.
    ``str``: ``fixed.lr: why``; ``toml``: as a study file names it, ``[fixed] lr: why``.
    ``table``: the error is about the table ``path`` itself (``[search] unknown key ...``)."""

    def __init__(self, path: tuple[str, ...], message: str, table: bool = False) -> None:
        self.path, self.message, self.table = tuple(path), message, table
        super().__init__(f"{'.'.join(self.path)}: {message}" if self.path else message)

    @property
    def toml(self) -> str:
        if not self.path:
            return self.message
        if self.table:
            return f"[{'.'.join(self.path)}] {self.message}"
        if len(self.path) == 1:
            return f"{self.path[0]}: {self.message}"
        return f"[{'.'.join(self.path[:-1])}] {self.path[-1]}: {self.message}"

    @classmethod
    def of_toml(cls, text: str) -> DocumentError:
        """The error a study file's wording names (``[search.space] lr: why``): ``toml`` gives it back."""
        table: tuple[str, ...] = ()
        if text.startswith("[") and "] " in text:
            head, text = text[1:].split("] ", 1)
            table = tuple(head.split("."))
        key, sep, rest = text.partition(": ")
        if sep and _KEY.fullmatch(key):
            return cls((*table, key), rest)
        return cls(table, text, table=bool(table))


def _bad(message: str) -> DocumentError:
    return DocumentError.of_toml(message)


def parse(data: Any, default_name: str = "study", keys: tuple[str, ...] = DOCUMENT_KEYS) -> Study:
    """A study document from a plain dict (``keys``: those allowed); DocumentError names the key path."""
    if not isinstance(data, Mapping):
        raise DocumentError((), f"must be a table of keys, got {type(data).__name__}")
    unknown = [k for k in data if k not in keys]
    if unknown:
        raise DocumentError((), f"unknown key {unknown[0]!r}; allowed: {', '.join(keys)}")
    version = data.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise DocumentError(("format_version",), f"must be {FORMAT_VERSION}, got {version!r}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or len(name) > 80:
        raise DocumentError(("name",), f"{name!r} is not allowed; use letters, digits, '.', '_' and '-' "
                            "(at most 80 characters)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise DocumentError(("description",), f"must be a string, got {description!r}")
    fixed_values, axis_values = _settings(data)
    seeds = data.get("seeds")
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise DocumentError(("seeds",), f"must be an integer >= 1, got {seeds!r}")
    search = _search(data, seeds, axis_values, fixed_values) if "search" in data else None
    frontier = None
    if "frontier" in data:
        if search is not None:
            raise DocumentError(("frontier",), "not with [search]; a study is a grid, a search or a frontier")
        frontier = _frontier(data, seeds, axis_values, fixed_values)
    mlflow = mlflow_value(data.get("mlflow"), _bad)
    storage = data.get("storage")
    if storage is not None and (not isinstance(storage, str) or not storage.strip()):
        raise DocumentError(("storage",), f"must be a URI such as \"s3://bucket/prefix\" or a path, got {storage!r}")
    resources = Resources.parse(data["resources"]) if "resources" in data else Resources()
    kind = data.get("kind", "")
    if not isinstance(kind, str) or (kind and not _KEY.fullmatch(kind)):
        raise DocumentError(("kind",), f"must be the name of a kind of study, got {kind!r}")
    return Study(name=name, description=description, seeds=seeds, fixed=fixed_values,
                 axes=canonical_axes(axis_values), search=search, frontier=frontier, mlflow=mlflow, storage=storage,
                 resources=resources, kind=kind)


def _settings(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """[fixed] and [axes], every value typed and checked by palrnn."""
    fixed = _table(data, "fixed")
    axes = _table(data, "axes")
    for key in ("fixed", "axes"):
        if "seed" in (fixed if key == "fixed" else axes):
            raise DocumentError((key, "seed"), "seeds are swept by the key seeds = N (seeds 0 .. N-1)")
    try:
        fixed_values = {k: config_value(k, v) for k, v in fixed.items()}
    except ValueError as exc:
        raise _bad(f"[fixed] {exc}") from None
    axis_values: dict[str, list[Any]] = {}
    for k, values in axes.items():
        if not isinstance(values, list):
            raise DocumentError(("axes", k), f"give a list of values, e.g. {k} = [{toml_value(FIELDS[k].default)}]")
        try:
            axis_values[k] = check_axis(k, values)
        except ValueError as exc:
            raise _bad(f"[axes] {exc}") from None
    both = [k for k in axes if k in fixed]
    if both:
        raise DocumentError((both[0],), "in both [fixed] and [axes]; give one")
    return fixed_values, axis_values


def _search(data: Mapping[str, Any], seeds: Any, axes: Mapping[str, Any], fixed: Mapping[str, Any]) -> Search:
    """[search], which sweeps only the cells' model and length and runs seed 0."""
    search = search_block(data["search"], _bad)
    if seeds is not None:
        raise DocumentError(("seeds",), "a search trains each config on seed 0 (the best one's command reruns it "
                            "over seeds); leave seeds out")
    other = [k for k in axes if k not in CELL_FIELDS]
    if other:
        raise DocumentError(("axes", other[0]), "a search sweeps only model and length (one search per cell); "
                            f"search {other[0]} in [search.space] or fix it in [fixed]")
    clash = [k for k in search.space if k in fixed]
    if clash:
        raise DocumentError((clash[0],), "in both [fixed] and [search.space]; give one")
    return search


def _frontier(data: Mapping[str, Any], seeds: Any, axes: Mapping[str, Any], fixed: Mapping[str, Any]) -> Any:
    """[frontier], which chooses the lengths and the seeds itself."""
    frontier = frontier_block(data["frontier"], _bad)
    if seeds is not None:
        raise DocumentError(("seeds",), "a frontier runs seeds 0 .. N-1 of its solve rule K/N; leave seeds out")
    for key, table in (("axes", axes), ("fixed", fixed)):
        if "length" in table:
            raise DocumentError((key, "length"), "a frontier searches the lengths; give start_length and "
                                "max_length in [frontier]")
    return frontier


def mlflow_value(value: Any, bad: Any) -> bool | str | None:
    """The ``mlflow`` key: true (the study folder's own store), false, or a tracking URI."""
    if value is None or value is False:
        return None
    if value is True or (isinstance(value, str) and value.strip()):
        return value if value is True else value.strip()
    raise bad(f"mlflow: must be true (a SQLite store in the study folder), false or a tracking URI such as "
              f"\"http://host:5000\", got {value!r}")


def frontier_block(block: Any, bad: Any) -> Any:
    """A [frontier] table as a FrontierOptions, every value checked; an error names the key."""
    if block is True:
        return FrontierOptions()
    if not isinstance(block, Mapping):
        raise bad(f"frontier: must be a table ([frontier] with solve_rule, start_length, max_length, speculate), "
                  f"got {block!r}")
    unknown = [k for k in block if k not in FRONTIER_KEYS]
    if unknown:
        raise bad(f"[frontier] unknown key {unknown[0]!r}; allowed: {', '.join(FRONTIER_KEYS)}")
    try:
        return frontier_options(FrontierOptions(), dict(block))
    except ValueError as exc:
        text = str(exc)
        for key in FRONTIER_KEYS:
            text = text.replace("--" + key.replace("_", "-"), key)
        raise bad(f"[frontier] {text}") from None


def frontier_options(options: Any, changes: Mapping[str, Any]) -> Any:
    """``options`` (a FrontierOptions) with ``changes`` (``FRONTIER_KEYS`` -> value, strings or
    numbers), checked by ``study.frontier.options.check_frontier_options``: a ValueError naming the option."""
    values = {**options.to_dict(), **{k: v for k, v in changes.items() if v is not None}}
    if isinstance(values["solve_rule"], bool):
        raise ValueError(f"--solve-rule: must be K/N with 1 <= K <= N, got {values['solve_rule']!r}")
    return check_frontier_options(**values)


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, Mapping):
        raise DocumentError((key,), f"must be a table ([{key}] with FIELD = value lines), got {table!r}")
    unknown = [k for k in table if k not in FIELDS]
    if unknown:
        raise DocumentError((key, unknown[0]), f"unknown config field; allowed: {', '.join(sorted(FIELDS))}")
    return dict(table)


def to_dict(study: Study, resources: bool = False) -> dict[str, Any]:
    """The document as a plain dict (``parse`` reads it back to the same study); ``resources``: with
    its ``resources`` and ``format_version`` (study.json's), else a study file's keys."""
    from study.spec.space import format_dist

    out: dict[str, Any] = {"name": study.name}
    if study.description:
        out["description"] = study.description
    if study.seeds is not None:
        out["seeds"] = study.seeds
    out["fixed"] = dict(study.fixed)
    out["axes"] = {k: list(v) for k, v in study.axes.items()}
    if study.search is not None:
        s = study.search
        metric: Any = [f"{m}:{d}" for m, d in s.objectives] if s.more else s.metric
        out["search"] = {"num_samples": s.num_samples, "metric": metric, **({} if s.more else {"mode": s.mode}),
                         "scheduler": s.scheduler, "seed": s.seed,
                         # PBT draws its population at random and takes no sampler (a file naming one is refused)
                         **({} if s.scheduler == "pbt" else {"sampler": s.sampler}),
                         "space": {k: format_dist(d) for k, d in s.space.items()}}
        if s.perturbation_interval is not None:
            out["search"]["perturbation_interval"] = s.perturbation_interval
        if s.perturb:
            out["search"]["perturb"] = list(s.perturb)
    if study.frontier is not None:
        out["frontier"] = study.frontier.to_dict()
    if study.mlflow is not None:
        out["mlflow"] = study.mlflow
    if study.storage is not None:
        out["storage"] = study.storage
    if study.kind != block_kind(study):
        out["kind"] = study.kind
    if resources:
        out["resources"] = {f.name: getattr(study.resources, f.name) for f in fields(Resources)}
        out["format_version"] = study.format_version
    return out


def toml_value(value: Any) -> str:
    """One value as a study file writes it."""
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to a study file")
