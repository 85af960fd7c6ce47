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
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from palrnn.config import Config
from study.frontier.search import frontier_doubling
from study.planning.describe import WIDTH, axis_text, cell_text, format_table, wrap_parts
from study.spec.catalogue import default_space
from study.spec.fields import BASE, CELL_FIELDS, FIELDS
from study.spec.space import Dist, for_model, format_dist, parse_dist, space_parts
from study.spec.studyfile import Study

STUDY_FILE = "study.json"


STUDY_TOML = "study.toml"


DASHBOARD_PORT = 8265  # Ray's default


META_KEYS = ("name", "results_dir", "kind", "grid", "axes", "param_space", "grid_axes", "trials", "cpus_per_trial",
             "gpus_per_trial", "checkpoint_every", "max_failures", "max_concurrent", "search", "frontier", "mlflow",
             "command", "target", "extra")


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
            from study.frontier.options import frontier_cells

            return frontier_cells(self.param_space, self.grid_axes)[1]
        if self.search is None:
            return []
        if self.search.get("cells"):
            return [dict(c) for c in self.search["cells"]]
        return [{"model": self.param_space["model"], "length": self.param_space["length"], "study_name": "palrnn",
                 "experiment": None}]

    def space(self, model: str) -> dict[str, Dist]:
        """A search cell's dimensions (study.json keeps them as text; an older study's are the default)."""
        assert self.search is not None
        text = self.search.get("space")
        full = {k: parse_dist(k, v) for k, v in text.items()} if text else default_space()
        return for_model(full, model)

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
            dims = {k: format_dist(d) for k, d in self.space(cell["model"]).items()}
            for i in range(int(self.search["num_samples"])):
                rows.append({**fixed, "model": cell["model"], "length": cell["length"], **dims, "sample": i})
        return _frame(rows, [*FIELDS, "sample"])

    def run(self, **options: Any) -> dict[str, Any]:
        """Run (or resume) the study on Ray; return its tables (``study.driver.execute``).
        ``options``: address, num_cpus, dashboard_host, dashboard_port, object_store_mb (default:
        those given when planning), echo, report."""
        from study.driver.execute import execute

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
        from study.spec.load import from_meta

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
            lines += wrap_parts(space_parts(self.study.search.space), "; ", first="searched: ", indent="  ",
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
        lines += wrap_parts(differ, " ", first=first, indent="  ", width=width) if differ else \
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
        from study.frontier.options import RULE_TEXT

        assert self.frontier is not None
        opts = frontier_options_of(self)
        k, n = opts.rule
        cells = self.cells
        order = list(cells[0]) if cells else ["model"]
        fixed = {key: v for key, v in self.param_space.items() if key not in order}
        neutral = Config.from_dict({**BASE, "model": "LSTM"}).to_dict()
        differ = [f"{key}={cell_text(v)}" for key, v in fixed.items() if key in neutral and v != neutral[key]]
        lines = wrap_parts(differ, " ", first="every trial, besides the exercise's settings: ", indent="  ",
                                 width=width) if differ else ["every trial: the exercise's settings"]
        lines += format_table(order, [[c[key] for key in order] for c in cells], width, index="cell")
        steps, target = self.param_space.get("steps"), self.target
        lines += wrap_parts(
            f"rule {k}/{n}: a length T passes when at least {k} of seeds 0..{n - 1} reach held-out accuracy "
            f"{target:g} within {steps:,} steps; {RULE_TEXT}".split(), " ", first="", indent="  ", width=width)
        doubling = frontier_doubling(opts)
        lines += wrap_parts(
            (f"probes, per cell: T = {', '.join(map(str, doubling))} while each passes (doubling), then bisection "
             f"between the longest pass and the first failure; a probe starts seeds 0..{k - 1} and adds one only "
             f"while {k}/{n} can still go either way").split(), " ", first="", indent="  ", width=width)
        if opts.speculate:
            lines += wrap_parts(
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
            return wrap_parts(parts, " ", first=f"study {label} (memory frontier, {self.count_text()}): ",
                                    indent="  ", width=width)
        if self.kind == "grid":
            seeds = len(self.param_space["seed"])
            parts = [f"{k} {axis_text(self.param_space[k])}" for k in self.grid_axes if k != "seed"]
            parts.append(f"seeds 0..{seeds - 1}" if seeds > 1 else "seed 0")
            return wrap_parts(parts, " x ", first=f"study {label} (grid, {self.n_trials} trials): ",
                                    indent="  ", width=width)
        s = self.search
        assert s is not None
        n = len(self.cells)
        parts = [f"{n} cell{'s' * (n != 1)} x {s['num_samples']} samples,", f"TPE seed {s['seed']},",
                 f"{s.get('metric', 'eval_accuracy')} ({s.get('mode', 'max')}),",
                 "ASHA on" if s.get("scheduler", True) else "no scheduler"]
        return wrap_parts(parts, " ", first=f"study {label} (Optuna search, {self.n_trials} trials): ",
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
    from study.frontier.options import check_frontier_options

    assert plan.frontier is not None
    return check_frontier_options(**plan.frontier)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v
