"""Planning: every study, from the command line, a study file or Python, becomes one StudyPlan here.

    request (python -m study.run's options | study.plan's keywords)
      -> Study: a shipped grid (--grid), a study file (--study), a search (--search), a memory
         frontier (--frontier) or the exercise, changed by --sweep / --set / --models / --lengths /
         --space / --solve-rule / ... (``merge``)
      -> every trial's Config checked by palrnn (``resolve``), the folder and resources checked
      -> StudyPlan: what study.json keeps; ``.trials`` as a DataFrame, ``.run()`` runs it

Nothing here imports Ray or Optuna, and nothing is written: a bad input raises StudyError, whose
message is the one line the command prints. ``study.driver`` runs a plan.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import os
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from palrnn.config import Config
from study import grids
from study import search as sr
from study.studyfile import (
    BASE,
    CELL_FIELDS,
    FIELDS,
    FRONTIER_KEYS,
    METRICS,
    MODES,
    NAME_RE,
    NUM_SAMPLES,
    SEEDS,
    Search,
    Study,
    StudyError,
    canonical_axes,
    check_axis,
    config_value,
    default_mode,
    frontier_block,
    frontier_options,
    mlflow_value,
    text_value,
    value_text,
)

STUDY_FILE = "study.json"
STUDY_TOML = "study.toml"
DASHBOARD_PORT = 8265  # Ray's default
WIDTH = 100  # --list and --dry-run lines
SMOKE = {"steps": 200, "eval_every": 50, "hidden": 16}  # --smoke-test: 1 seed, these settings
# Options that say how to run a study, not which: --resume takes them; every other option must
# plan the very study it resumes.
RUN_OPTIONS = ("--resume", "--name", "--results-dir", "--no-report", "--dry-run", "--address", "--num-cpus",
               "--dashboard-host", "--dashboard-port", "--object-store-mb")
RESOURCES = {"--cpus-per-trial": "cpus_per_trial", "--gpus-per-trial": "gpus_per_trial",
             "--checkpoint-every": "checkpoint_every", "--max-failures": "max_failures",
             "--max-concurrent": "max_concurrent"}
SEARCH_ONLY = ("--model", "--length", "--space", "--metric", "--mode", "--num-samples", "--search-seed",
               "--scheduler")
FRONTIER_ONLY = tuple("--" + k.replace("_", "-") for k in FRONTIER_KEYS)  # --solve-rule, ...
META_KEYS = ("name", "results_dir", "kind", "grid", "axes", "param_space", "grid_axes", "trials", "cpus_per_trial",
             "gpus_per_trial", "checkpoint_every", "max_failures", "max_concurrent", "search", "frontier", "mlflow",
             "command", "target", "extra")


# ---- the plan ------------------------------------------------------------------------------------


@dataclass
class RunOptions:
    """Where and how a plan runs; not part of the study (study.json does not keep them)."""

    address: str | None = None
    num_cpus: int | None = None
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int | None = None
    object_store_mb: int = 128


@dataclass
class StudyPlan:
    """Everything decided before Ray starts. study.json keeps it (``to_meta``) for --resume and the
    report; ``study`` is the resolved study, written beside it as study.toml."""

    name: str
    results_dir: str
    kind: str  # grid | optuna | frontier
    grid: str | None  # a grid's name (the study's name); None for a search or a frontier
    axes: list[str]  # a grid's (a frontier's) swept fields besides length and seed (model included); a search's
    # searched fields
    param_space: dict[str, Any]  # config field -> value, or list of values (a grid's axes, a search's cells, a
    # frontier's cells: no length, no seed, which the frontier chooses)
    grid_axes: list[str]  # the keys of param_space that Ray sweeps (grid_search); a frontier's cell fields
    n_trials: int  # study.json's "trials"; a frontier's: at most this many (it stops when it knows)
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    checkpoint_every: int = 1000
    max_failures: int = 2
    max_concurrent: int = 0
    search: dict[str, Any] | None = None  # seed, num_samples (per cell), max_t, grace_period, storage, space, ...
    frontier: dict[str, Any] | None = None  # solve_rule ("4/5"), start_length, max_length, speculate
    mlflow: str | None = None  # the MLflow tracking URI every trial logs to (--mlflow); None: no MLflow
    command: str = ""
    target: float = 0.99
    extra: dict[str, Any] = field(default_factory=dict)
    study: Study | None = None
    options: RunOptions = field(default_factory=RunOptions)
    resume: bool = False

    @property
    def folder(self) -> Path:
        return Path(self.results_dir) / self.name

    # -- what runs --

    def configs(self) -> list[dict[str, Any]]:
        """A grid's trials, each its full config, in the order of the axes (model first, seed last)."""
        if self.kind != "grid":
            raise ValueError(f"a {'frontier' if self.kind == 'frontier' else 'search'}'s trials are chosen while it "
                             "runs; see .cells and .trials")
        fixed = {k: v for k, v in self.param_space.items() if k not in self.grid_axes}
        names = list(self.grid_axes)
        return [{**fixed, **dict(zip(names, combo, strict=True))}
                for combo in itertools.product(*(self.param_space[k] for k in names))]

    @property
    def cells(self) -> list[dict[str, Any]]:
        """A search's cells: one Optuna study each, with its model, length, Optuna study name and Ray
        experiment (None: the study folder itself, as for a search of one cell). A frontier's cells:
        the combinations of its swept fields (``study.frontier.frontier_cells``), model first."""
        if self.kind == "frontier":
            from study.frontier import frontier_cells

            return frontier_cells(self.param_space, self.grid_axes)[1]
        if self.search is None:
            return []
        if self.search.get("cells"):
            return [dict(c) for c in self.search["cells"]]
        return [{"model": self.param_space["model"], "length": self.param_space["length"], "study_name": "palrnn",
                 "experiment": None}]

    def space(self, model: str) -> dict[str, sr.Dist]:
        """A search cell's dimensions (study.json keeps them as text; an older study's are the default)."""
        assert self.search is not None
        text = self.search.get("space")
        full = {k: sr.parse_dist(k, v) for k, v in text.items()} if text else sr.default_space()
        return sr.for_model(full, model)

    @property
    def trials(self) -> Any:
        """The planned trials as a DataFrame, one row each: a grid's full configs; a search's
        samples (``sample`` 0 .. num_samples-1 per cell), its searched fields as their distributions."""
        if self.kind == "grid":
            return _frame(self.configs(), list(FIELDS))
        if self.kind == "frontier":  # one row per cell: its lengths and seeds are the search's
            fixed = {k: v for k, v in self.param_space.items() if k not in self.grid_axes}
            return _frame([{**fixed, **cell} for cell in self.cells],
                          [f for f in FIELDS if f not in ("length", "seed")])
        rows = []
        fixed = {k: v for k, v in self.param_space.items() if k not in ("model", "length")}
        for cell in self.cells:
            dims = {k: sr.format_dist(d) for k, d in self.space(cell["model"]).items()}
            for i in range(int(self.search["num_samples"])):
                rows.append({**fixed, "model": cell["model"], "length": cell["length"], **dims, "sample": i})
        return _frame(rows, [*FIELDS, "sample"])

    def run(self, **options: Any) -> dict[str, Any]:
        """Run (or resume) the study on Ray; return its tables (``study.driver.execute``).
        ``options``: address, num_cpus, dashboard_host, dashboard_port, object_store_mb (default:
        those given when planning), echo, report."""
        from study.driver import execute

        run = {**dataclasses.asdict(self.options), **{k: v for k, v in options.items()
                                                      if k in dataclasses.asdict(self.options)}}
        rest = {k: v for k, v in options.items() if k not in run}
        return execute(self, resume=self.resume, **run, **rest)

    # -- study.json --

    def to_meta(self) -> dict[str, Any]:
        """study.json's plan keys (the report reads kind, axes, grid, param_space, search, target,
        trials, command, name)."""
        meta = {k: getattr(self, k) for k in META_KEYS if k != "trials"}
        meta["trials"] = self.n_trials
        return {k: _jsonable(meta[k]) for k in META_KEYS}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> StudyPlan:
        """The plan a study.json keeps (also one written before study files existed)."""
        from study.studyfile import from_meta

        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: meta[k] for k in META_KEYS if k in meta and k in known}
        values["n_trials"] = int(meta["trials"])
        plan = cls(**values)
        plan.study = from_meta(meta)
        return plan

    # -- for people --

    def text(self, width: int = WIDTH) -> str:
        """The --dry-run text: the study in one line, what every trial shares beyond the exercise's
        settings, then a table of every trial's settings that differ (a search: of every cell)."""
        lines = self._headline(width)
        if self.kind == "frontier":
            return "\n".join(self._tracking(lines + self._frontier_text(width)))
        if self.kind == "optuna":
            assert self.study is not None and self.study.search is not None
            lines += grids.wrap_parts(sr.space_parts(self.study.search.space), "; ", first="searched: ", indent="  ",
                                      width=width)
            cells = self.cells
            rows = [[c["model"], c["length"], self.search["num_samples"],
                     ", ".join(self.space(c["model"]))] for c in cells]
            table = format_table(["model", "length", "samples", "searched"], rows, width, index="cell")
            varying = set(CELL_FIELDS) | set(self.axes)
            common = {k: v for k, v in self.param_space.items() if k not in varying and k != "seed"}
        else:
            configs = self.configs()
            varying = [k for k in self.grid_axes if len(self.param_space[k]) > 1 or k in ("model", "length", "seed")]
            order = [k for k in ("model",) if k in varying] + [k for k in varying if k not in CELL_FIELDS + ("seed",)]
            order += [k for k in ("length", "seed") if k in varying]
            table = format_table(order, [[c[k] for k in order] for c in configs], width, index="trial")
            common = {k: v for k, v in configs[0].items() if k not in order} if configs else {}
        neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
        differ = [f"{k}={cell_text(v)}" for k, v in common.items() if k in neutral and v != neutral[k]]
        first = "every trial, besides the exercise's settings: "
        lines += grids.wrap_parts(differ, " ", first=first, indent="  ", width=width) if differ else \
            ["every trial: the exercise's settings"]
        lines += table
        lines.append(f"{self.n_trials} trials")
        return "\n".join(self._tracking(lines))

    def _tracking(self, lines: list[str]) -> list[str]:
        """The dry run's lines with the MLflow store (--mlflow) named before the last (the count)."""
        if not self.mlflow:
            return lines
        return [*lines[:-1], f"MLflow: every trial logged to {self.mlflow}", lines[-1]]

    def count_text(self) -> str:
        """``36 trials``; a frontier's ``up to 120 trials`` (it stops once it knows each cell's frontier)."""
        return f"up to {self.n_trials} trials" if self.kind == "frontier" else f"{self.n_trials} trials"

    def _frontier_text(self, width: int) -> list[str]:
        """A frontier's dry run below its headline: what every trial shares, the cells, the rule and
        the probes it starts with."""
        from study.frontier import RULE_TEXT

        assert self.frontier is not None
        opts = frontier_options_of(self)
        k, n = opts.rule
        cells = self.cells
        order = list(cells[0]) if cells else ["model"]
        fixed = {key: v for key, v in self.param_space.items() if key not in order}
        neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
        differ = [f"{key}={cell_text(v)}" for key, v in fixed.items() if key in neutral and v != neutral[key]]
        lines = grids.wrap_parts(differ, " ", first="every trial, besides the exercise's settings: ", indent="  ",
                                 width=width) if differ else ["every trial: the exercise's settings"]
        lines += format_table(order, [[c[key] for key in order] for c in cells], width, index="cell")
        steps, target = self.param_space.get("steps"), self.target
        lines += grids.wrap_parts(
            f"rule {k}/{n}: a length T passes when at least {k} of seeds 0..{n - 1} reach held-out accuracy "
            f"{target:g} within {steps:,} steps; {RULE_TEXT}".split(), " ", first="", indent="  ", width=width)
        doubling = frontier_doubling(opts)
        lines += grids.wrap_parts(
            (f"probes, per cell: T = {', '.join(map(str, doubling))} while each passes (doubling), then bisection "
             f"between the longest pass and the first failure; a probe starts seeds 0..{k - 1} and adds one only "
             f"while {k}/{n} can still go either way").split(), " ", first="", indent="  ", width=width)
        if opts.speculate:
            lines += grids.wrap_parts(
                (f"speculate {opts.speculate}: while CPUs are free a cell may start the probe it would make next if "
                 f"its undecided probe{'s' * (opts.speculate > 1)} passed (up to {opts.speculate} ahead)").split(),
                " ", first="", indent="  ", width=width)
        lines.append(f"{self.count_text()} ({len(cells)} cell{'s' * (len(cells) != 1)}; the search stops once it "
                     "knows every cell's frontier)")
        return lines

    def _headline(self, width: int) -> list[str]:
        label = self.study.name if self.study else (self.grid or self.kind)
        if self.kind == "frontier":
            assert self.frontier is not None
            n = len(self.cells)
            f = self.frontier
            parts = [f"{n} cell{'s' * (n != 1)},", f"rule {f['solve_rule']},",
                     f"T from {f['start_length']} to {f['max_length']},", f"speculate {f['speculate']}"]
            return grids.wrap_parts(parts, " ", first=f"study {label} (memory frontier, {self.count_text()}): ",
                                    indent="  ", width=width)
        if self.kind == "grid":
            seeds = len(self.param_space["seed"])
            parts = [f"{k} {axis_text(self.param_space[k])}" for k in self.grid_axes if k != "seed"]
            parts.append(f"seeds 0..{seeds - 1}" if seeds > 1 else "seed 0")
            return grids.wrap_parts(parts, " x ", first=f"study {label} (grid, {self.n_trials} trials): ",
                                    indent="  ", width=width)
        s = self.search
        assert s is not None
        n = len(self.cells)
        parts = [f"{n} cell{'s' * (n != 1)} x {s['num_samples']} samples,", f"TPE seed {s['seed']},",
                 f"{s.get('metric', 'eval_accuracy')} ({s.get('mode', 'max')}),",
                 "ASHA on" if s.get("scheduler", True) else "no scheduler"]
        return grids.wrap_parts(parts, " ", first=f"study {label} (Optuna search, {self.n_trials} trials): ",
                                indent="  ", width=width)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """Rows as a DataFrame; a column holding None (max_norm: no clipping) keeps None, not NaN."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=columns)
    for c in columns:
        if any(r.get(c) is None for r in rows):
            df[c] = pd.Series([r.get(c) for r in rows], dtype=object, index=df.index)
    return df


def frontier_options_of(plan: StudyPlan) -> Any:
    """A frontier plan's options as ``study.frontier.FrontierOptions``."""
    from study.frontier import check_frontier_options

    assert plan.frontier is not None
    return check_frontier_options(**plan.frontier)


def frontier_doubling(options: Any) -> list[int]:
    """The lengths a frontier probes while they pass: the start, doubled, capped at the max length."""
    lengths = [options.start]
    while lengths[-1] < options.max_length:
        lengths.append(min(2 * lengths[-1], options.max_length))
    return lengths


def frontier_max_trials(options: Any, cells: int) -> int:
    """At most how many trials a frontier of ``cells`` cells runs: the probes of the longest path of
    doubling and bisection (every path is some monotone solve rate's, so each threshold T is
    tried), N seeds each, and as many moot probes again per undecided probe it may speculate."""
    from study.frontier import DONE, Frontier

    longest = 0
    for threshold in range(options.start - 1, options.max_length + 1):
        fr = Frontier([{"model": "RNN"}], rule=options.rule, start=options.start, max_length=options.max_length,
                      speculate=0)
        while (trial := fr.next_trial()) not in (DONE, None):
            fr.record(*trial, solved=trial.length <= threshold)
        longest = max(longest, len(fr.probes(0)))
    return cells * options.rule[1] * longest * (1 + options.speculate)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def cell_text(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)  # never a rounded value
    return str(v)


def axis_text(values: Sequence[Any]) -> str:
    return "{" + ", ".join(cell_text(v) for v in values) + "}"


def format_table(columns: list[str], rows: list[list[Any]], width: int = WIDTH, index: str = "") -> list[str]:
    """A plain text table, left-aligned, two spaces between columns; columns that do not fit in
    ``width`` continue in a block below (each block repeats the index)."""
    texts = [[cell_text(v) for v in row] for row in rows]
    idx = [str(i) for i in range(len(rows))]
    iw = max([len(index), *map(len, idx)])
    widths = [max([len(c), *(len(r[j]) for r in texts)]) for j, c in enumerate(columns)]
    blocks, block, used = [], [], iw
    for j, w in enumerate(widths):
        if block and used + 2 + w > width:
            blocks.append(block)
            block, used = [], iw
        block.append(j)
        used += 2 + w
    if block:
        blocks.append(block)
    lines = []
    for b in blocks:
        lines.append((index.rjust(iw) + "".join("  " + columns[j].ljust(widths[j]) for j in b)).rstrip())
        for i, r in enumerate(texts):
            lines.append((idx[i].rjust(iw) + "".join("  " + r[j].ljust(widths[j]) for j in b)).rstrip())
    return [line[:width] for line in lines]


# ---- the request ---------------------------------------------------------------------------------


@dataclass
class Request:
    """What the user asked for, from the command line or Python, not yet checked. ``given``: the
    options given, by their command-line names (an API keyword counts as its option)."""

    given: list[str] = field(default_factory=list)
    grid: str | None = None
    study: Any = None  # a path (str, Path) or a study file's contents (dict)
    search: Any = None  # "optuna" / True, or a [search] table (dict)
    seeds: Any = None
    models: Any = None
    lengths: Any = None
    model: Any = None
    length: Any = None
    sets: dict[str, Any] = field(default_factory=dict)  # field -> value (typed and checked)
    sweeps: dict[str, list[Any]] = field(default_factory=dict)  # field -> values (typed and checked)
    space: dict[str, sr.Dist] | None = None
    metric: Any = None
    mode: Any = None
    num_samples: Any = None
    search_seed: Any = None
    scheduler: Any = None  # True / False
    frontier: Any = None  # True, or a [frontier] table (dict)
    solve_rule: Any = None
    start_length: Any = None
    max_length: Any = None
    speculate: Any = None
    mlflow: Any = None  # "" (the study folder's own store) or a tracking URI; None: not given
    full: bool = False
    patience: Any = None
    smoke_test: bool = False
    description: Any = None
    name: Any = None
    results_dir: Any = "results"
    resume: bool = False
    cpus_per_trial: Any = 1
    gpus_per_trial: Any = 0
    checkpoint_every: Any = 1000
    max_failures: Any = 2
    max_concurrent: Any = 0
    address: Any = None
    num_cpus: Any = None
    dashboard_host: Any = "127.0.0.1"
    dashboard_port: Any = None
    object_store_mb: Any = 128
    command: str = ""


def _int(option: str, value: Any, low: int) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise StudyError(f"{option}: must be an integer >= {low}, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise StudyError(f"{option}: must be an integer >= {low}, got {value!r}")
    if value < low:
        raise StudyError(f"{option}: must be an integer >= {low}, got {value}")
    return value


def _float(option: str, value: Any, low: float, strict: bool = False) -> float:
    shown = value
    try:
        value = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or not (value > low if strict else value >= low):
        raise StudyError(f"{option}: must be a number {'>' if strict else '>='} {low:g}, got {shown!r}")
    return value


def _field(option: str, key: Any) -> str:
    if not isinstance(key, str) or key not in FIELDS:
        raise StudyError(f"{option}: unknown config field {key!r}; allowed: {', '.join(sorted(FIELDS))}")
    return key


def _pairs(option: str, items: Sequence[str], form: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise StudyError(f"{option}: expected {form}, got {item!r}")
        _field(option, key)
        if key in out:
            raise StudyError(f"{option}: {key} is given twice")
        out[key] = text
    return out


def sets_from_text(items: Sequence[str]) -> dict[str, Any]:
    out = {}
    for key, text in _pairs("--set", items, "FIELD=VALUE").items():
        try:
            out[key] = text_value(key, text)
        except ValueError as exc:
            raise StudyError(f"--set: {exc}") from None
    return out


def sweeps_from_text(items: Sequence[str]) -> dict[str, list[Any]]:
    out = {}
    for key, text in _pairs("--sweep", items, "FIELD=V1,V2,...").items():
        try:
            if not text.strip():
                raise ValueError(f"{key}: no values; give at least one, e.g. --sweep {key}=V1,V2")
            out[key] = check_axis(key, [text_value(key, t) for t in text.split(",")])
        except ValueError as exc:
            raise StudyError(f"--sweep: {exc}") from None
    return out


def space_from_text(items: Sequence[str]) -> dict[str, sr.Dist]:
    out = {}
    for key, text in _pairs("--space", items, f"FIELD=DIST with DIST one of {sr.SYNTAX}").items():
        try:
            out[key] = sr.parse_dist(key, text)
        except ValueError as exc:
            raise StudyError(f"--space: {exc}") from None
    return out


def sets_from_mapping(values: Any) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise StudyError(f"--set: give a dict of config fields, got {values!r}")
    out = {}
    for key, value in values.items():
        try:
            out[_field("--set", key)] = config_value(key, value)
        except ValueError as exc:
            raise StudyError(f"--set: {exc}") from None
    return out


def sweeps_from_mapping(values: Any) -> dict[str, list[Any]]:
    if not isinstance(values, Mapping):
        raise StudyError(f"--sweep: give a dict of config fields and their values, got {values!r}")
    out = {}
    for key, vs in values.items():
        _field("--sweep", key)
        if isinstance(vs, (str, bytes)) or not isinstance(vs, Sequence):
            raise StudyError(f"--sweep: {key}: give a list of values, e.g. {{{key!r}: [...]}}")
        try:
            out[key] = check_axis(key, list(vs))
        except ValueError as exc:
            raise StudyError(f"--sweep: {exc}") from None
    return out


def space_from_mapping(values: Any) -> dict[str, sr.Dist]:
    if not isinstance(values, Mapping):
        raise StudyError(f"--space: give a dict of config fields and distributions, got {values!r}")
    out = {}
    for key, spec in values.items():
        try:
            out[_field("--space", key)] = sr.parse_dist(key, spec)
        except ValueError as exc:
            raise StudyError(f"--space: {exc}") from None
    return out


# The API's keywords and the command-line options they stand for.
KEYWORDS = {
    "grid": "--grid", "study": "--study", "search": "--search", "seeds": "--seeds", "models": "--models",
    "lengths": "--lengths", "model": "--model", "length": "--length", "axes": "--sweep", "fixed": "--set",
    "set": "--set", "space": "--space", "metric": "--metric", "mode": "--mode", "num_samples": "--num-samples",
    "search_seed": "--search-seed", "scheduler": "--scheduler", "frontier": "--frontier",
    "solve_rule": "--solve-rule", "start_length": "--start-length", "max_length": "--max-length",
    "speculate": "--speculate", "mlflow": "--mlflow", "full": "--full", "patience": "--patience",
    "smoke_test": "--smoke-test", "description": "--description", "name": "--name", "results_dir": "--results-dir",
    "resume": "--resume", "cpus_per_trial": "--cpus-per-trial", "gpus_per_trial": "--gpus-per-trial",
    "checkpoint_every": "--checkpoint-every", "max_failures": "--max-failures", "max_concurrent": "--max-concurrent",
    "address": "--address", "num_cpus": "--num-cpus", "dashboard_host": "--dashboard-host",
    "dashboard_port": "--dashboard-port", "object_store_mb": "--object-store-mb",
}


def request_from_args(args: Any, argv: Sequence[str], prog: str = "python -m study.run") -> Request:
    """The command line's options (text, as argparse leaves them) as a Request."""
    given = [option for option, value in _given_options(args)]
    req = Request(given=given, command=" ".join([prog, *map(shlex.quote, argv)]))
    for key in ("grid", "seeds", "models", "lengths", "model", "length", "metric", "mode", "num_samples",
                "search_seed", "patience", "name", "address", "num_cpus", "dashboard_port", "solve_rule",
                "start_length", "max_length", "speculate", "mlflow"):
        setattr(req, key, getattr(args, key))
    req.study = args.study
    req.search = args.search
    req.frontier = True if args.frontier else None
    req.full, req.smoke_test, req.resume = args.full, args.smoke_test, args.resume
    req.sets = sets_from_text(args.set or [])
    req.sweeps = sweeps_from_text(args.sweep or [])
    req.space = space_from_text(args.space) if args.space else None
    req.scheduler = None if args.scheduler is None else args.scheduler == "on"
    for key in ("results_dir", "cpus_per_trial", "gpus_per_trial", "checkpoint_every", "max_failures",
                "max_concurrent", "dashboard_host", "object_store_mb"):
        if getattr(args, key) is not None:
            setattr(req, key, getattr(args, key))
    return req


def _given_options(args: Any) -> list[tuple[str, Any]]:
    out = []
    for key, value in vars(args).items():
        if value is None or value is False or value == []:
            continue
        out.append(("--" + key.replace("_", "-"), value))
    return out


def request_from_kwargs(study: Any = None, **kw: Any) -> Request:
    """``study.plan``'s keywords as a Request; each stands for its command-line option."""
    unknown = [k for k in kw if k not in KEYWORDS]
    if unknown:
        raise TypeError(f"unknown keyword {unknown[0]!r}; allowed: study, {', '.join(KEYWORDS)}")
    if "fixed" in kw and "set" in kw and kw["fixed"] is not None and kw["set"] is not None:
        raise StudyError("--set: give fixed= or set= (the same thing), not both")
    defaults = Request()
    given = [KEYWORDS[k] for k, v in kw.items() if v is not None and (v is not False or k == "scheduler")
             and not (k in ("results_dir", "dashboard_host") and v == getattr(defaults, k))]
    if study is not None:
        given.insert(0, "--study")
    req = Request(given=given)
    shown = str(study) if isinstance(study, Path) else study
    req.command = "study.plan(" + ", ".join([*([repr(shown)] if study is not None else []),
                                            *(f"{k}={v!r}" for k, v in kw.items() if v is not None)]) + ")"
    req.study = study
    for key, value in kw.items():
        if value is None or (key in ("search", "frontier", "mlflow") and value is False):
            continue
        if key in ("fixed", "set"):
            req.sets = sets_from_mapping(value)
        elif key == "axes":
            req.sweeps = sweeps_from_mapping(value)
        elif key == "space":
            req.space = space_from_mapping(value)
        elif key == "scheduler":
            if value not in (True, False, "on", "off"):
                raise StudyError(f"--scheduler: must be on or off (True or False), got {value!r}")
            req.scheduler = value in (True, "on")
        elif key == "frontier":
            if value is not True and not isinstance(value, Mapping):
                raise StudyError(f"--frontier: give True or a [frontier] table as a dict ({', '.join(FRONTIER_KEYS)}), "
                                 f"got {value!r}")
            req.frontier = value
        elif key == "mlflow":
            uri = mlflow_value(value, lambda m: StudyError(f"--{m}"))
            req.mlflow = "" if uri is True else uri
        else:
            setattr(req, key, value)
    if kw.get("search") is True:
        req.search = "optuna"
    return req


# ---- from the request to the study ---------------------------------------------------------------


def _base(req: Request) -> tuple[Study, str]:
    """The study the options change, and where it came from (the label of its errors)."""
    from study.studyfile import _search, from_dict, load

    shipped = grids.shipped()
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
        from study.frontier import FrontierOptions

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
        elif v not in grids.MODELS:
            raise StudyError(f"{option}: unknown model {v!r}; allowed: {', '.join(grids.MODELS)}")
        if v not in out:
            out.append(v)
    if not out:
        raise StudyError(f"{option}: no {key}s given")
    return out


@dataclass
class Resolved:
    """A study with every default filled in and every trial checked."""

    study: Study  # what study.toml keeps: every setting explicit
    base: Config
    param_space: dict[str, Any]
    grid_axes: list[str]
    axes: list[str]
    n_trials: int
    cells: list[tuple[str, int]] = field(default_factory=list)


def resolve(study: Study, origin: Mapping[str, str] | None = None, where: str = "study") -> Resolved:
    """Fill in the defaults (the exercise's settings, patience 3; a grid's models RNN and LSTM and
    lengths 5..10, a search's RNN at T = 20) and check every trial's Config (a search: every cell
    with every value and bound of its space)."""
    origin = dict(origin or {})

    def fail(exc: ValueError) -> StudyError:
        key = str(exc).split(":", 1)[0]
        return StudyError(f"{origin.get(key, where)}: {exc}")

    fixed = {**BASE, **study.fixed}
    axes = dict(study.axes)
    search = study.kind == "optuna"
    if study.kind == "frontier":
        return _resolve_frontier(study, fixed, axes, fail)
    defaults = {"model": [grids.SEARCH_MODEL] if search else list(grids.GRID_MODELS),
                "length": [grids.SEARCH_LENGTH] if search else list(grids.LENGTHS_EXERCISE)}
    for key in CELL_FIELDS:
        if key not in axes:
            axes[key] = [study.fixed[key]] if key in study.fixed else defaults[key]
    axes = canonical_axes(axes)
    for key in axes:
        fixed.pop(key, None)
    space = study.search.space if study.search else {}
    for key in space:
        fixed.pop(key, None)
    try:
        base = Config.from_dict({**fixed, **{k: v[0] for k, v in axes.items()}})
    except ValueError as exc:
        raise fail(exc) from None
    resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k not in space and k != "seed"}
    if not search:
        seeds = study.seeds or SEEDS
        names = list(axes)
        n = 0
        for combo in itertools.product(*axes.values()):
            try:
                base.replace(**dict(zip(names, combo, strict=True)))
            except ValueError as exc:
                raise fail(exc) from None
            n += seeds
        param_space = {**base.to_dict(), **axes, "seed": list(range(seeds))}
        out = Study(name=study.name, description=study.description, seeds=seeds, fixed=resolved_fixed, axes=axes,
                    mlflow=study.mlflow)
        return Resolved(out, base, param_space, [*axes, "seed"], [k for k in axes if k != "length"], n)
    assert study.search is not None
    cells = list(itertools.product(axes["model"], axes["length"]))
    searched: list[str] = []
    for model, length in cells:
        try:
            cell = base.replace(model=model, length=length)
        except ValueError as exc:
            raise fail(exc) from None
        dims = sr.for_model(space, model)
        if not dims:
            ignored = ", ".join(f"{k} ({', '.join(sr.ONLY_FOR.get(k, ()))} only)" for k in space)
            raise StudyError(f"{origin.get(next(iter(space)), where)}: nothing to search for {model}, which "
                             f"ignores {ignored}; search other fields too, or leave {model} out")
        for name, dist in dims.items():
            for value in sr.values_to_check(dist):
                try:
                    cell.replace(**{name: value})
                except ValueError as exc:
                    raise StudyError(f"{origin.get(name, where)}: {exc}") from None
            if name not in searched:
                searched.append(name)
    param_space = base.to_dict()
    if len(cells) > 1:
        param_space["model"], param_space["length"] = list(axes["model"]), list(axes["length"])
    out = Study(name=study.name, description=study.description, fixed=resolved_fixed, axes=axes,
                search=dataclasses.replace(study.search, space=dict(space)), mlflow=study.mlflow)
    return Resolved(out, base, param_space, [], searched, study.search.num_samples * len(cells), cells)


def _resolve_frontier(study: Study, fixed: dict[str, Any], axes: dict[str, list[Any]], fail: Any) -> Resolved:
    """A frontier: its cells are the combinations of the axes (model always among them; default RNN
    and LSTM), each checked by palrnn at the start and the max length; the lengths and the seeds
    are the search's, so neither is in ``param_space``."""
    options = study.frontier
    if "model" not in axes:
        axes["model"] = [study.fixed["model"]] if "model" in study.fixed else list(grids.GRID_MODELS)
    axes = canonical_axes(axes)
    for key in (*axes, "length", "seed"):
        fixed.pop(key, None)
    try:
        base = Config.from_dict({**fixed, **{k: v[0] for k, v in axes.items()}, "length": options.start})
    except ValueError as exc:
        raise fail(exc) from None
    names = list(axes)
    combos = list(itertools.product(*axes.values()))
    for combo in combos:
        for length in (options.start, options.max_length):
            try:
                base.replace(**dict(zip(names, combo, strict=True)), length=length)
            except ValueError as exc:
                raise fail(exc) from None
    resolved_fixed = {k: v for k, v in base.to_dict().items() if k not in axes and k not in ("length", "seed")}
    param_space = {**{k: v for k, v in base.to_dict().items() if k not in ("length", "seed")}, **axes}
    out = Study(name=study.name, description=study.description, fixed=resolved_fixed, axes=axes, frontier=options,
                mlflow=study.mlflow)
    return Resolved(out, base, param_space, names, names, frontier_max_trials(options, len(combos)))


# ---- the plan ------------------------------------------------------------------------------------


def make_plan(req: Request) -> StudyPlan:
    """Check every option and every trial's Config; raise StudyError before anything runs or is written."""
    if req.resume:
        return _resumed_plan(req)
    return _new_plan(req, check_folder=True)


def _new_plan(req: Request, check_folder: bool) -> StudyPlan:
    resources = _resources(req)
    base, where = _base(req)
    _check_mode(req, base.kind, where)
    study, origin = merge(base, req, where)
    res = resolve(study, origin, where)
    _check_devices(res, study, origin, where, resources, req)
    search = None
    if study.kind == "optuna":
        s = res.study.search
        assert s is not None
        reports = -(-res.base.steps // res.base.eval_every)
        several = len(res.cells) > 1
        cells = [{"model": m, "length": t, "study_name": f"palrnn-{m}-T{t}" if several else "palrnn",
                  "experiment": f"cells/{m}-T{t}" if several else None} for m, t in res.cells]
        search = {"seed": s.seed, "num_samples": s.num_samples, "max_t": reports, "grace_period": max(1, reports // 9),
                  "storage": "optuna.journal", "space": {k: sr.format_dist(d) for k, d in s.space.items()},
                  "metric": s.metric, "mode": s.mode, "scheduler": s.scheduler, "cells": cells}
    user_sets = {k: v for k, v in req.sets.items()}
    patience = res.base.patience
    options = resources.pop("options")
    frontier = res.study.frontier.to_dict() if study.kind == "frontier" else None
    plan = StudyPlan(
        name="", results_dir=str(req.results_dir), kind=study.kind, grid=study.name if study.kind == "grid" else None,
        axes=res.axes, param_space=res.param_space, grid_axes=res.grid_axes, n_trials=res.n_trials,
        search=search, frontier=frontier, command=req.command, target=res.base.target,
        extra={"seeds": res.study.seeds, "full": bool(req.full), "patience": patience, "set": user_sets},
        study=res.study, options=options, **resources)
    plan.name = _check_name(req.name, study.name)
    _plan_mlflow(plan, where if req.mlflow is None else "--mlflow")
    if check_folder:
        _check_folder(plan, resume=False)
    return plan


def _plan_mlflow(plan: StudyPlan, where: str) -> None:
    """``plan.mlflow``: the tracking URI of the study's MLflow store (``study.tracking.mlflow_uri``:
    True, the study folder's own SQLite store), or None; refused when mlflow is not installed.
    The resolved study (study.toml) keeps True for the folder's own store, else the URI."""
    from study import tracking

    assert plan.study is not None
    value = plan.study.mlflow
    if value is None:
        return
    try:
        plan.mlflow = tracking.mlflow_uri("" if value is True else str(value), plan.folder)
    except StudyError as exc:
        if where == "--mlflow":
            raise
        raise StudyError(f"{where}: {str(exc).removeprefix('--')}") from None
    plan.study.mlflow = True if value is True else plan.mlflow


def _resources(req: Request) -> dict[str, Any]:
    cpus = _float("--cpus-per-trial", req.cpus_per_trial, 0, strict=True)
    gpus = _float("--gpus-per-trial", req.gpus_per_trial, 0)
    out: dict[str, Any] = {
        "cpus_per_trial": cpus, "gpus_per_trial": gpus,
        "checkpoint_every": _int("--checkpoint-every", req.checkpoint_every, 1),
        "max_failures": _int("--max-failures", req.max_failures, 0),
        "max_concurrent": _int("--max-concurrent", req.max_concurrent, 0),
    }
    options = _run_options(req)
    if cpus > 1 and cpus != int(cpus):
        raise StudyError(f"--cpus-per-trial: fractions are allowed below 1 only, got {req.cpus_per_trial}")
    local_cpus = options.num_cpus or os.cpu_count() or 1
    if not options.address and cpus > local_cpus:
        raise StudyError(f"--cpus-per-trial: {cpus:g} asked for, but this machine's Ray has {local_cpus} CPUs")
    if gpus > 0 and not options.address:
        import torch

        if not torch.cuda.is_available():
            raise StudyError(f"--gpus-per-trial: {gpus:g} asked for, but this machine has no CUDA GPU; use 0")
    out["options"] = options
    return out


def _run_options(req: Request) -> RunOptions:
    num_cpus = None if req.num_cpus is None else _int("--num-cpus", req.num_cpus, 1)
    port = None if req.dashboard_port is None else _int("--dashboard-port", req.dashboard_port, 1)
    if port is not None and port > 65535:
        raise StudyError(f"--dashboard-port: must be a port number from 1 to 65535, got {port}")
    store = _int("--object-store-mb", req.object_store_mb, 64)
    if num_cpus is not None and req.address:
        raise StudyError("--num-cpus: only for a Ray started here; a cluster (--address) has its own")
    return RunOptions(address=req.address or None, num_cpus=num_cpus, dashboard_host=str(req.dashboard_host),
                      dashboard_port=port, object_store_mb=store)


def _check_devices(res: Resolved, study: Study, origin: Mapping[str, str], where: str, resources: Mapping[str, Any],
                   req: Request) -> None:
    """A trial asked to train on a GPU gets one only from Ray (--gpus-per-trial), and only where there is one."""
    devices = res.param_space["device"] if "device" in res.grid_axes else [res.param_space["device"]]
    label = origin.get("device", where)
    for device in devices:
        if device == "cpu":
            continue
        if not (req.address or resources["options"].address):
            from palrnn.cli import UsageError, check_device

            try:
                check_device(device)
            except UsageError as exc:
                raise StudyError(f"{label}: {str(exc).removeprefix('--')}") from None
        if device.startswith("cuda") and resources["gpus_per_trial"] == 0:
            raise StudyError(f"{label}: device: {device} needs a GPU from Ray for each trial; give --gpus-per-trial "
                             "(the trials then train on their GPU without --set device)")


def _check_name(name: Any, label: str) -> str:
    if name is None:
        return f"{label}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise StudyError(f"--name: {name!r} is not allowed; use letters, digits, '.', '_' and '-' "
                         "(no '/', no '..', at most 100 characters)")
    return name


def _check_folder(plan: StudyPlan, resume: bool) -> None:
    root = Path(plan.results_dir)
    if root.exists() and not root.is_dir():
        raise StudyError(f"--results-dir: {root} exists and is not a folder")
    probe = root if root.exists() else next((p for p in root.absolute().parents if p.exists()), Path("/"))
    if not _writable(probe):
        raise StudyError(f"--results-dir: {root} cannot be written (no folder can be made in {probe})")
    folder = plan.folder
    if resume:
        if not (folder / STUDY_FILE).is_file():
            raise StudyError(f"--resume: no study {plan.name!r} in {root} (no {STUDY_FILE}); "
                             "give --name of an existing study")
    elif folder.exists():
        raise StudyError(f"--name: {folder} already exists; choose another --name, or add --resume to continue it")


def _writable(folder: Path) -> bool:
    """Really try (permission bits say nothing for root, nor on a read-only file system)."""
    if not folder.is_dir():
        return False
    try:
        Path(tempfile.mkdtemp(prefix=".palrnn-probe-", dir=folder)).rmdir()
    except OSError:
        return False
    return True


def _resumed_plan(req: Request) -> StudyPlan:
    import json

    if req.name is None:
        raise StudyError("--resume: give the study's --name")
    name = _check_name(req.name, "")
    folder = Path(str(req.results_dir)) / name
    try:
        data = json.loads((folder / STUDY_FILE).read_text())
        plan = StudyPlan.from_meta(data)
    except FileNotFoundError:
        raise StudyError(f"--resume: no study {name!r} in {req.results_dir} (no {STUDY_FILE}); "
                         "give --name of an existing study") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise StudyError(f"--resume: {folder / STUDY_FILE} is not a study file ({exc})") from None
    plan.results_dir, plan.resume = str(req.results_dir), True
    if (folder / STUDY_TOML).is_file():  # the study as written at its start (its name, its description)
        from study.studyfile import load

        try:
            plan.study = load(folder / STUDY_TOML)
        except StudyError:
            pass  # study.json's plan is the one that runs; its study was derived from it
    plan.options = _run_options(req)
    planning = [o for o in req.given if o not in RUN_OPTIONS]
    if planning:
        _check_same_study(plan, req, planning)
    _check_folder(plan, resume=True)
    return plan


def _check_same_study(plan: StudyPlan, req: Request, given: list[str]) -> None:
    """Options given with --resume must plan the study being resumed: never silently ignored."""
    b = plan.to_meta()

    def refuse(what: str, here: Any, there: Any) -> StudyError:
        return StudyError(f"--resume: these options plan another study than {plan.name!r} ({what}: "
                          f"{_shown(here)} here, {_shown(there)} in its {STUDY_FILE}); resume it with "
                          f"--resume --name {plan.name} and no planning options")

    resources = _resources(req)
    for option, key in RESOURCES.items():
        if option in given and resources[key] != b[key]:
            raise refuse(option, resources[key], b[key])
    if "--mlflow" in given:  # where the study logs: its study.json's store, or refused
        from study import tracking

        uri = tracking.mlflow_uri(str(req.mlflow), plan.folder)
        if uri != b.get("mlflow"):
            raise refuse("--mlflow", uri, b.get("mlflow"))
    if all(o in RESOURCES or o == "--mlflow" for o in given):
        return
    a = _new_plan(dataclasses.replace(req, resume=False, name=plan.name), check_folder=False).to_meta()
    if a["kind"] != b["kind"]:
        raise refuse("kind", a["kind"], b["kind"])
    for key in sorted(set(a["param_space"]) & set(b["param_space"])):  # a field newer than the study: its default
        if a["param_space"][key] != b["param_space"][key]:
            raise refuse(key, a["param_space"].get(key), b["param_space"].get(key))
    if a["grid_axes"] != b["grid_axes"]:
        raise refuse("swept", a["grid_axes"], b["grid_axes"])
    if a["frontier"] != b.get("frontier"):
        raise refuse("frontier", a["frontier"], b.get("frontier"))
    if (a["search"] is None) != (b["search"] is None):
        raise refuse("search", a["search"], b["search"])
    if a["search"] is not None:
        for key in sorted(set(a["search"]) & set(b["search"])):
            if a["search"][key] != b["search"][key]:
                raise refuse(f"search {key}", a["search"][key], b["search"][key])


def _shown(v: Any) -> str:
    text = value_text(v) if not isinstance(v, (list, dict)) else json_text(v)
    return text if len(text) <= 60 else text[:57] + "..."


def json_text(v: Any) -> str:
    import json

    return json.dumps(v, default=str)


# ---- the public entry points ---------------------------------------------------------------------


def plan(study: Any = None, **keywords: Any) -> StudyPlan:
    """``study.plan``: see the package's docstring."""
    return make_plan(request_from_kwargs(study, **keywords))


def plan_from_args(args: Any, argv: Sequence[str], prog: str = "python -m study.run") -> StudyPlan:
    """The command line's plan (``python -m study.run``, ``python -m study.bench``)."""
    return make_plan(request_from_args(args, argv, prog))


def describe_study(study: Study, width: int = WIDTH, where: str | None = None) -> list[str]:
    """--list's lines for one study: its name, trial count and description, then its axes (a
    grid) or its space (a search), and what it fixes beyond the exercise's settings."""
    res = resolve(study, where=where or study.name)
    if study.kind == "frontier":
        opts = res.study.frontier
        cells = math.prod(len(v) for v in res.study.axes.values())
        lines = _head(study, f"up to {res.n_trials} trials ({cells} cell{'s' * (cells != 1)}: memory frontier)",
                      width)
        parts = [f"{k} {_fmt(v)}" for k, v in res.study.axes.items()]
        lines += grids.wrap_parts(parts, "  x  ", first=f"{'':<10} cells: ", indent=" " * 18, width=width)
        lines.append(f"{'':<10} rule {opts.rule[0]}/{opts.rule[1]}, T from {opts.start} to {opts.max_length}, "
                     f"speculate {opts.speculate}")
    elif study.kind == "grid":
        seeds = res.study.seeds
        lines = _head(study, f"{res.n_trials:>4} trials ({seeds} seed{'s' * (seeds != 1)})", width)
        parts = [f"{k} {_fmt(v)}" for k, v in res.study.axes.items()] + ["seed 0..N-1"]
        lines += grids.wrap_parts(parts, "  x  ", first=f"{'':<10} axes: ", indent=" " * 17, width=width)
    else:
        s = res.study.search
        assert s is not None
        cells = ", ".join(f"{m} T={t}" for m, t in res.cells)
        each = " each" if len(res.cells) > 1 else ""
        lines = _head(study, f"{res.n_trials:>4} trials ({cells}: {s.num_samples} samples{each})", width)
        lines += grids.wrap_parts(sr.space_parts(s.space), "; ", first=f"{'':<10} TPE over ", indent=" " * 11,
                                  width=width)
        sched = "ASHA cutting poor trials" if s.scheduler else "no scheduler"
        lines.append(f"{'':<10} metric {s.metric} ({s.mode}), sampler seed {s.seed}, {sched}")
    neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
    differ = [f"{k}={cell_text(v)}" for k, v in res.study.fixed.items() if v != neutral.get(k)]
    if differ:
        lines += grids.wrap_parts(differ, "  ", first=f"{'':<10} fixed: ", indent=" " * 18, width=width)
    return lines


def _head(study: Study, count: str, width: int) -> list[str]:
    words = study.description.split()
    return grids.wrap_parts(words, " ", first=f"{study.name:<10} {count}  ", indent=" " * 11, width=width)


def _fmt(values: list[Any]) -> str:
    return "{" + ", ".join("none" if v is None else str(v) for v in values) + "}"


__all__ = ["DASHBOARD_PORT", "NUM_SAMPLES", "STUDY_FILE", "STUDY_TOML", "RunOptions", "Search", "Study", "StudyError",
           "StudyPlan", "describe_study", "make_plan", "merge", "plan", "plan_from_args", "request_from_args",
           "request_from_kwargs", "resolve"]
