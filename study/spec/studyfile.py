"""Study files: a whole study as data, in TOML (read with the standard library's ``tomllib``).

A grid: every combination of the ``[axes]`` values, each run with seeds 0 .. ``seeds`` - 1::

    name = "hidden-lr"                  # the study's name; its folders are <name>-<date>-<time>
    description = "hidden units x learning rate at longer T"
    seeds = 2                           # default 3

    [fixed]                             # palrnn Config fields, the same in every trial
    steps = 3000                        # (patience = 0 trains every step, like --full)

    [axes]                              # swept Config fields: lists of values
    model = ["RNN"]                     # default: RNN and LSTM
    hidden = [64, 128]
    lr = [1e-3, 3e-3]
    length = [15, 20]                   # default: 5 .. 10
    # max_norm = ["none", 1.0]          # none turns clipping off

A search: an Optuna TPE search per model x length cell (``[axes]`` may hold only model and length)::

    name = "rnn20"

    [fixed]
    model = "RNN"                       # default RNN (or [axes] model = [...] for one search per model)
    length = 20                         # default 20

    [search]
    num_samples = 40                    # trials per cell; default 40
    metric = "eval_accuracy"            # default eval_accuracy; several: ["eval_accuracy:max",
                                        #   "steps_to_target:min"] (study/spec/objectives.py)
    mode = "max"                        # one metric's direction; default: min for a loss, else max
    scheduler = "asha"                  # asha, hyperband, median or none (true: asha, false: none)
    seed = 0                            # the sampler's seed; default 0
    sampler = "tpe"                     # tpe, random, cmaes, gp, qmc or nsga2; default tpe

    [space]                      # FIELD = "choice:V1,V2,..." | "uniform:LOW:HIGH" |
    lr = "loguniform:1e-4:3e-2"         #         "loguniform:LOW:HIGH" | "int:LOW:HIGH"
    hidden = "choice:32,64,128"

A memory frontier (docs/frontier.md): for every cell, a combination of the ``[axes]`` values
(model always among them), the longest T at which K of seeds 0 .. N-1 reach the target; the
search chooses the lengths and the seeds, so neither ``seeds`` nor a ``length`` is given::

    name = "frontier-init"

    [fixed]
    hidden = 64

    [axes]
    model = ["RNN", "LSTM", "GRU"]      # default: RNN and LSTM
    init = ["default", "xavier"]

    [frontier]
    solve_rule = "4/5"                  # K/N: a length passes when K of seeds 0 .. N-1 solve it
    start_length = 5                    # the first length probed; default 5
    max_length = 100                    # the longest; default 100
    speculate = 1                       # undecided probes a cell may run ahead of; default 1

Any study may also log every trial to MLflow (docs/watching.md): ``mlflow = true`` (a SQLite
store in the study folder) or ``mlflow = "http://host:5000"`` (a tracking URI), at the top.

Every study starts from the exercise's settings (``EXERCISE``) and stops a trial once it has held
the target for 3 evaluations (``patience = 3``); ``[fixed]`` changes any of them. Every value is
checked here, by palrnn's own Config validation, before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError, first_line
from study.frontier.options import FrontierOptions, check_frontier_options
from study.spec.fields import (
    CELL_FIELDS,
    FIELDS,
    NAME_RE,
    canonical_axes,
    check_axis,
    config_value,
)
from study.spec.search import Search, search_block
from study.spec.space import format_dist

TOP_KEYS = ("name", "description", "seeds", "fixed", "axes", "search", "frontier", "mlflow", "storage")
# A [frontier] table's keys, each the command line's option of the same name (--solve-rule, ...).
FRONTIER_KEYS = ("solve_rule", "start_length", "max_length", "speculate")


@dataclass
class Study:
    """A study as its file states it; each field is a key of a study file (``TOP_KEYS``)."""

    name: str
    description: str = ""
    seeds: int | None = None  # a grid's seeds (None: 3); a search trains each config on seed 0
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)
    search: Search | None = None
    frontier: Any = None  # a memory frontier: its options (study.frontier.options.FrontierOptions)
    mlflow: bool | str | None = None  # True: the study folder's own MLflow store; a str: a tracking URI
    storage: str | None = None  # where trials keep what they share (--storage); None: the study folder

    @property
    def kind(self) -> str:
        if self.frontier is not None:
            return "frontier"
        return "optuna" if self.search is not None else "grid"


def read_toml(path: Path, where: str) -> Study:
    """The study in a TOML study file; StudyError (``where: ...``) when it cannot be read or checked."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError(f"{where}: cannot be read ({first_line(exc)})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"{where}: not valid TOML: {first_line(exc)}") from None
    default_name = path.stem if NAME_RE.fullmatch(path.stem) else "study"
    return from_dict(data, where, default_name=default_name)



def from_dict(data: Any, where: str, default_name: str = "study") -> Study:
    """A study from a file's contents (or the same dict in Python); StudyError names the key."""

    def bad(message: str) -> StudyError:
        return StudyError(f"{where}: {message}")

    if not isinstance(data, Mapping):
        raise bad(f"must be a table of keys, got {type(data).__name__}")
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise bad(f"unknown key {unknown[0]!r}; allowed: {', '.join(TOP_KEYS)}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or len(name) > 80:
        raise bad(f"name: {name!r} is not allowed; use letters, digits, '.', '_' and '-' (at most 80 characters)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise bad(f"description: must be a string, got {description!r}")
    fixed_values, axis_values = _settings(data, bad)
    seeds = data.get("seeds")
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise bad(f"seeds: must be an integer >= 1, got {seeds!r}")
    search = _file_search(data, seeds, axis_values, fixed_values, bad) if "search" in data else None
    frontier = None
    if "frontier" in data:
        if search is not None:
            raise bad("frontier: not with [search]; a study is a grid, a search or a frontier")
        frontier = _file_frontier(data, seeds, axis_values, fixed_values, bad)
    mlflow = mlflow_value(data.get("mlflow"), bad)
    storage = data.get("storage")
    if storage is not None and (not isinstance(storage, str) or not storage.strip()):
        raise bad(f"storage: must be a URI such as \"s3://bucket/prefix\" or a path, got {storage!r}")
    return Study(name=name, description=description, seeds=seeds, fixed=fixed_values,
                 axes=canonical_axes(axis_values), search=search, frontier=frontier, mlflow=mlflow, storage=storage)



def _settings(data: Mapping[str, Any], bad: Any) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """[fixed] and [axes], every value typed and checked by palrnn."""
    fixed = _table(data, "fixed", bad)
    axes = _table(data, "axes", bad)
    for key in ("fixed", "axes"):
        if "seed" in (fixed if key == "fixed" else axes):
            raise bad(f"[{key}] seed: seeds are swept by the key seeds = N (seeds 0 .. N-1)")
    try:
        fixed_values = {k: config_value(k, v) for k, v in fixed.items()}
    except ValueError as exc:
        raise bad(f"[fixed] {exc}") from None
    axis_values: dict[str, list[Any]] = {}
    for k, values in axes.items():
        if not isinstance(values, list):
            example = _toml(FIELDS[k].default)
            raise bad(f"[axes] {k}: give a list of values, e.g. {k} = [{example}]")
        try:
            axis_values[k] = check_axis(k, values)
        except ValueError as exc:
            raise bad(f"[axes] {exc}") from None
    both = [k for k in axes if k in fixed]
    if both:
        raise bad(f"{both[0]}: in both [fixed] and [axes]; give one")
    return fixed_values, axis_values


def _file_search(data: Mapping[str, Any], seeds: Any, axes: Mapping[str, Any], fixed: Mapping[str, Any],
                  bad: Any) -> Search:
    """[search], which sweeps only the cells' model and length and runs seed 0."""
    search = search_block(data["search"], bad)
    if seeds is not None:
        raise bad("seeds: a search trains each config on seed 0 (the best one's command reruns it over seeds); "
                  "leave seeds out")
    other = [k for k in axes if k not in CELL_FIELDS]
    if other:
        raise bad(f"[axes] {other[0]}: a search sweeps only model and length (one search per cell); "
                  f"search {other[0]} in [search.space] or fix it in [fixed]")
    clash = [k for k in search.space if k in fixed]
    if clash:
        raise bad(f"{clash[0]}: in both [fixed] and [search.space]; give one")
    return search


def _file_frontier(data: Mapping[str, Any], seeds: Any, axes: Mapping[str, Any], fixed: Mapping[str, Any],
                    bad: Any) -> Any:
    """[frontier], which chooses the lengths and the seeds itself."""
    frontier = frontier_block(data["frontier"], bad)
    if seeds is not None:
        raise bad("seeds: a frontier runs seeds 0 .. N-1 of its solve rule K/N; leave seeds out")
    for key, table in (("axes", axes), ("fixed", fixed)):
        if "length" in table:
            raise bad(f"[{key}] length: a frontier searches the lengths; give start_length and max_length "
                      "in [frontier]")
    return frontier

def mlflow_value(value: Any, bad: Any) -> bool | str | None:
    """A study file's ``mlflow``: true (the study folder's own store), false, or a tracking URI."""
    if value is None or value is False:
        return None
    if value is True or (isinstance(value, str) and value.strip()):
        return value if value is True else value.strip()
    raise bad(f"mlflow: must be true (a SQLite store in the study folder), false or a tracking URI such as "
              f"\"http://host:5000\", got {value!r}")


def frontier_block(block: Any, bad: Any) -> Any:
    """A [frontier] table as ``study.frontier.options.FrontierOptions``, every value checked; an error names
    the key (``solve_rule: ...``)."""
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
    numbers), checked by ``study.frontier.check_frontier_options``: a ValueError naming the option."""
    values = {**options.to_dict(), **{k: v for k, v in changes.items() if v is not None}}
    if isinstance(values["solve_rule"], bool):
        raise ValueError(f"--solve-rule: must be K/N with 1 <= K <= N, got {values['solve_rule']!r}")
    return check_frontier_options(**values)


def _table(data: Mapping[str, Any], key: str, bad: Any) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, Mapping):
        raise bad(f"{key}: must be a table ([{key}] with FIELD = value lines), got {table!r}")
    unknown = [k for k in table if k not in FIELDS]
    if unknown:
        raise bad(f"[{key}] {unknown[0]}: unknown config field; allowed: {', '.join(sorted(FIELDS))}")
    return dict(table)


def to_dict(study: Study) -> dict[str, Any]:
    """The study as a file's keys (``from_dict`` reads it back to the same study)."""
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
    return out


def to_toml(study: Study, comments: list[str] | None = None) -> str:
    """The study as a TOML study file; ``load`` reads it back to the same study."""
    data = to_dict(study)
    lines = [f"# {c}" for c in comments or []]
    for key in ("name", "description", "seeds", "mlflow", "storage"):
        if key in data:
            lines.append(f"{key} = {_toml(data[key])}")
    for key in ("fixed", "axes"):
        lines += ["", f"[{key}]"] + [f"{k} = {_toml(v)}" for k, v in data[key].items()]
    if "search" in data:
        block = dict(data["search"])
        space = block.pop("space")
        lines += ["", "[search]"] + [f"{k} = {_toml(v)}" for k, v in block.items()]
        lines += ["", "[search.space]"] + [f"{k} = {_toml(v)}" for k, v in space.items()]
    if "frontier" in data:
        lines += ["", "[frontier]"] + [f"{k} = {_toml(v)}" for k, v in data["frontier"].items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
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
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to a study file")
