"""The StudyPlan: everything decided before Ray starts, as study.json keeps it, and its --dry-run text."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from study.basics.text import WIDTH
from study.planning.kinds import KINDS, Kind
from study.planning.kinds.search import SearchPlan
from study.spec.document import FORMAT_VERSION, to_dict
from study.spec.load import read_meta
from study.spec.space import Dist
from study.spec.studyfile import Study

DASHBOARD_PORT = 8265  # Ray's default
META_KEYS = ("name", "results_dir", "kind", "grid", "axes", "param_space", "grid_axes", "trials", "cpus_per_trial",
             "gpus_per_trial", "checkpoint_every", "max_failures", "max_concurrent", "search", "frontier", "mlflow",
             "command", "target", "extra", "storage")


@dataclass
class RunOptions:
    """Where and how a plan runs (study.json does not keep them)."""

    address: str | None = None
    num_cpus: int | None = None
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int | None = None
    object_store_mb: int = 128


@dataclass
class StudyPlan:
    """Everything decided before Ray starts, kept in study.json; ``study``: the resolved study (study.toml)."""

    name: str
    results_dir: str
    kind: str  # grid | optuna | frontier
    grid: str | None  # a grid's name (the study's name); None for a search or a frontier
    axes: list[str]  # a grid's (a frontier's) swept fields but length and seed; a search's searched fields
    param_space: dict[str, Any]  # config field -> value, or list of values (a frontier's: no length, no seed)
    grid_axes: list[str]  # the keys of param_space that Ray sweeps (grid_search); a frontier's cell fields
    n_trials: int  # study.json's "trials"; a frontier's: at most this many (it stops when it knows)
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    checkpoint_every: int = 1000
    max_failures: int = 2
    max_concurrent: int = 0
    search: SearchPlan | None = None
    frontier: dict[str, Any] | None = None  # solve_rule ("4/5"), start_length, max_length, speculate
    mlflow: str | None = None  # the MLflow tracking URI every trial logs to (--mlflow); None: no MLflow
    command: str = ""
    target: float = 0.99
    extra: dict[str, Any] = field(default_factory=dict)
    study: Study | None = None
    options: RunOptions = field(default_factory=RunOptions)
    resume: bool = False
    storage: str | None = None  # --storage's URI (never credentials); None: the study folder (study.json: no key)
    estimate: Any = field(default=None, repr=False, compare=False)  # study.planning.estimate.Estimate
    # A resume without the study folder: the driver state read from --storage, written there at the start.
    fetched: dict[str, bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def folder(self) -> Path:
        return Path(self.results_dir) / self.name

    @property
    def kind_of(self) -> Kind:
        return KINDS[self.kind]

    def configs(self) -> list[dict[str, Any]]:
        """A grid's trials, each its full config, model first, seed last."""
        return self.kind_of.configs(self)

    @property
    def cells(self) -> list[dict[str, Any]]:
        """A search's cells (model, length, study_name, experiment: None, the study folder); a frontier's."""
        return self.kind_of.cells(self)

    def space(self, model: str) -> dict[str, Dist]:
        return self.search.space(model)

    @property
    def trials(self) -> Any:
        """The planned trials as a DataFrame: a grid's configs, a search's samples, a frontier's cells."""
        return self.kind_of.trials(self)

    def to_meta(self) -> dict[str, Any]:
        """study.json's plan keys, and the document (read back by ``study.spec.load.read_meta``)."""
        out = {k: _jsonable(self.n_trials if k == "trials" else getattr(self, k)) for k in META_KEYS
               if k != "storage" or self.storage is not None}
        if self.study is not None:
            out.update(format_version=FORMAT_VERSION, study=_jsonable(to_dict(self.study, resources=True)))
        return out

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> StudyPlan:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: meta[k] for k in META_KEYS if k in meta and k in known}
        values["n_trials"] = int(meta["trials"])
        if values.get("search") is not None:
            values["search"] = SearchPlan.from_meta(values["search"], values["param_space"])
        plan = cls(**values)
        plan.study = read_meta(meta)
        return plan

    def text(self, width: int = WIDTH) -> str:
        """The --dry-run text: the kind's headline and body, the MLflow store, the count, the estimate."""
        label = self.study.name if self.study else (self.grid or self.kind)
        lines = [*self.kind_of.headline(self, label, width), *self.kind_of.body(self, width)]
        if self.mlflow:  # named before the last line, the count
            lines.insert(len(lines) - 1, f"MLflow: every trial logged to {self.mlflow}")
        if self.storage:
            lines.insert(len(lines) - 1, f"storage: checkpoints and Ray's experiment in {self.storage}")
        return "\n".join([*lines, *self.estimated().lines()])

    def estimated(self) -> Any:
        if self.estimate is None:
            from study.planning.estimate import estimate
            self.estimate = estimate(self)
        return self.estimate

    def count_text(self) -> str:
        return self.kind_of.count_text(self)


def _jsonable(v: Any) -> Any:
    if hasattr(v, "to_meta"):
        return v.to_meta()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v
