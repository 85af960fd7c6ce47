"""The StudyPlan: everything decided before Ray starts, as study.json keeps it, and its --dry-run text; what
it will cost, its wall time and each trial's peak memory, from the cost table costs.json, with no torch import
(docs/estimates.md says how)."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError
from study.basics.text import WIDTH
from study.planning.kinds import KINDS, Kind
from study.planning.kinds.base import para
from study.planning.kinds.search import SearchPlan
from study.spec.document import FORMAT_VERSION, to_dict
from study.spec.load import read_meta
from study.spec.space import Dist
from study.spec.studyfile import Study

DASHBOARD_PORT = 8265  # Ray's default
# The estimates' cost table, measured on this machine by scripts/calibrate_estimate.py (docs/estimates.md).
COSTS = Path(__file__).with_name("costs.json")
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
    estimate: Any = field(default=None, repr=False, compare=False)  # its Estimate
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


GIB = 2**30
EVAL_CHUNK = 8192  # palrnn.train.evaluate's
ENUMERATE_LIMIT = 2**14  # palrnn.data's
INT64, FLOAT32 = 8, 4
IGNORE = "--ignore-memory"


@functools.lru_cache(maxsize=1)
def costs() -> dict[str, Any]:
    return json.loads(COSTS.read_text())


def _fit(model: str, threads: int, which: str) -> list[float]:
    table = costs()["models"]
    entry = table.get(model, table["LSTM"])  # a model of one's own: costed as the LSTM
    return entry[f"threads_{min(max(threads, 1), 2)}"][which]


def _seconds(c: Sequence[float], length: int, batch: int, hidden: int) -> float:
    return c[0] + length * (c[1] + c[2] * batch * hidden + c[3] * batch * hidden * hidden)


def _eval_examples(cfg: Mapping[str, Any]) -> int:
    """About how many held-out examples a trial evaluates (``palrnn.data.eval_count``'s rule, no torch)."""
    m, fraction, size = (int(cfg["length"]) + 2) // 2, float(cfg["eval_fraction"]), int(cfg["eval_size"])
    if m > 308 or 10**m * fraction > 2 * ENUMERATE_LIMIT:
        return size
    held = max(1, round(10**m * fraction))
    return held if held <= max(size, ENUMERATE_LIMIT) else size


def trial_seconds(cfg: Mapping[str, Any], threads: int) -> float:
    """Training and evaluation seconds of one trial that runs all its steps (no Ray)."""
    model, length, batch, hidden = str(cfg["model"]), int(cfg["length"]), int(cfg["batch_size"]), int(cfg["hidden"])
    steps, every = int(cfg["steps"]), int(cfg["eval_every"])
    train = steps * _seconds(_fit(model, threads, "step"), length, batch, hidden)
    examples = _eval_examples(cfg)
    chunks = [EVAL_CHUNK] * (examples // EVAL_CHUNK) + ([examples % EVAL_CHUNK] if examples % EVAL_CHUNK else [])
    forward = sum(_seconds(_fit(model, threads, "forward"), length, c, hidden) for c in chunks)
    return train + math.ceil(steps / every) * forward


@dataclass(frozen=True)
class Memory:
    """One trial's peak bytes: on the machine (``host``) and, for a trial on a GPU, on it (``device``)."""

    host: int
    device: int
    parts: dict[str, int]


def trial_memory(cfg: Mapping[str, Any], on_gpu: bool = False) -> Memory:
    """A trial's peak memory (docs/estimates.md); ``on_gpu``: the held-out draw stays on the machine."""
    model, length, batch, hidden = str(cfg["model"]), int(cfg["length"]), int(cfg["batch_size"]), int(cfg["hidden"])
    inputs = 10 if cfg.get("input") == "onehot" else 1
    table = costs()
    measured = table["models"].get(model, table["models"]["LSTM"])["memory"]
    examples, gates = _eval_examples(cfg), {"RNN": 1, "LSTM": 4, "GRU": 3}.get(model, 4)
    parameters = gates * (hidden * inputs + hidden * hidden + 2 * hidden) + 10 * hidden + 10
    parts = {
        "parameters": 4 * FLOAT32 * parameters,  # weights, gradients, optimizer (2)
        "held-out set": examples * (length * inputs * FLOAT32 + INT64),
        "training step": int(length * batch * hidden * measured["train"]),  # measured: graph, gradients, batch
        # measured: torch's kernel returns every step's output
        "evaluation": int(min(examples, EVAL_CHUNK) * length * hidden * measured["eval"]),
    }
    draw = 0 if examples < int(cfg["eval_size"]) else max(1024, math.ceil(examples / float(cfg["eval_fraction"]) * 1.2))
    host_only = {"worker": int(table.get("worker_bytes", 0.5 * GIB)),
                 "held-out draw": 2 * draw * ((length + 2) // 2) * INT64 + examples * (length + 1) * 2 * INT64}
    device = parts["parameters"] + parts["held-out set"] + max(parts["training step"], parts["evaluation"])
    if on_gpu:
        host = host_only["worker"] + max(host_only["held-out draw"], parts["held-out set"])
    else:
        host = host_only["worker"] + parts["parameters"] + parts["held-out set"] + max(
            parts["training step"], parts["evaluation"], host_only["held-out draw"])
    return Memory(host=int(host), device=int(device) if on_gpu else 0, parts={**parts, **host_only})


def machine_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def gpu_memory() -> int | None:
    """The first GPU's bytes (torch imported only for trials on GPUs), None without one."""
    try:
        import torch
        return int(torch.cuda.get_device_properties(0).total_memory) if torch.cuda.is_available() else None
    except (ImportError, RuntimeError, AssertionError):
        return None


def size_text(n: float) -> str:
    """512 MB, 3.1 GB, 103 GB (powers of 1,000, as machines are sold)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            v = n / scale
            return f"{v:.1f} {unit}" if v < 10 else f"{v:,.0f} {unit}"
    return f"{max(n, 0) / 1e3:,.0f} kB"


def duration_text(seconds: float) -> str:
    """1 min 5 s, 2 h 10 min, 3 d 4 h."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s < 600 else f"{round(s / 60)} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


@dataclass(frozen=True)
class Estimate:
    """A plan's wall time (``bound``: why it is an upper bound, None: expected) and largest trial's memory."""

    trials: int
    wall: float
    at_once: int
    where: str  # what runs the trials at once: "this machine's 2 CPUs"
    bound: str | None
    memory: Memory
    biggest: str  # the settings of the trial with the largest memory
    machine: int | None
    gpu: int | None
    cluster: bool
    shorter: str = "fewer --lengths"  # how its trials get smaller (``Kind.shorter``)

    def lines(self) -> list[str]:
        time = (f"estimate: {'at most' if self.bound else 'about'} {duration_text(self.wall)} wall time "
                f"({self.trials:,} trials, {self.at_once} at once on {self.where}; Ray's start and "
                f"{costs()['ray']['per_trial']:.1f} s per trial included"
                f"{'; ' + self.bound if self.bound else '; every trial trains all its steps'})")
        mem = f"memory: up to {size_text(self.memory.host)} per trial ({self.biggest})"
        if self.memory.device:
            mem += f", {size_text(self.memory.device)} of it on its GPU"
        if self.cluster:
            mem += "; the cluster's nodes are not checked"
        elif self.machine:
            mem += f"; this machine has {size_text(self.machine)}"
            if self.at_once * self.memory.host > self.machine:
                mem += f", less than {self.at_once} such trials at once need"
        return [*para(time), *para(mem)]

    def refusal(self) -> str | None:
        fix = f"{self.shorter}, a smaller hidden or batch_size (--set), or {IGNORE} to run it anyway"
        if self.gpu and self.memory.device > self.gpu:
            return (f"memory: one trial ({self.biggest}) needs about {size_text(self.memory.device)} on its GPU; "
                    f"the GPU has {size_text(self.gpu)}; {fix}")
        if not self.cluster and self.machine and self.memory.host > self.machine:
            return (f"memory: one trial ({self.biggest}) needs about {size_text(self.memory.host)}; this machine "
                    f"has {size_text(self.machine)}; {fix}")
        return None


def estimate(plan: StudyPlan) -> Estimate:
    cpus = plan.options.num_cpus or os.cpu_count() or 1  # how many trials run at once, and on what
    at_once = max(1, int(cpus // plan.cpus_per_trial)) if plan.cpus_per_trial else 1
    where = f"this machine's {cpus} CPU{'s' * (cpus != 1)}"
    if plan.gpus_per_trial:
        import torch
        gpus = torch.cuda.device_count()
        at_once = min(at_once, max(1, int(gpus // plan.gpus_per_trial)))
        where += f" and {gpus} GPU{'s' * (gpus != 1)}"
    at_once = min(at_once, plan.max_concurrent or at_once, plan.kind_of.most_at_once(plan) or at_once)
    where += " (a cluster may run more)" if plan.options.address else ""
    threads = max(1, int(plan.cpus_per_trial))
    on_gpu, per_trial = plan.gpus_per_trial > 0, costs()["ray"]["per_trial"]
    wall, biggest, memory = costs()["ray"]["start"], "", Memory(0, 0, {})
    configs: list[dict[str, Any]] = []
    for group in plan.kind_of.costly(plan):
        times = [(trial_seconds(cfg, threads) + per_trial, n) for cfg, n in group]
        total = sum(t * n for t, n in times)
        wall += max(total / min(at_once, sum(n for _, n in group)), max(t for t, _ in times))
        for cfg, _ in group:
            configs.append(cfg)
            m = trial_memory(cfg, on_gpu)
            if (m.device, m.host) > (memory.device, memory.host):
                memory, biggest = m, f"{cfg['model']} T={int(cfg['length']):,}, hidden {cfg['hidden']}, batch " \
                                     f"{cfg['batch_size']}"
    bound = plan.kind_of.bound(plan)
    if bound is None and any(int(c.get("patience") or 0) > 0 for c in configs):
        bound = ("an upper bound: every trial trains all its steps, but early stopping at the target ends many "
                 "sooner (--full trains them all)")
    return Estimate(trials=plan.n_trials, wall=wall, at_once=min(at_once, max(plan.n_trials, 1)), where=where,
                    bound=bound, memory=memory, biggest=biggest, machine=machine_memory(),
                    gpu=gpu_memory() if on_gpu else None, cluster=bool(plan.options.address),
                    shorter=plan.kind_of.shorter)


def check_memory(plan: StudyPlan, ignore: bool = False) -> Estimate:
    """The plan's estimate; StudyError when a trial cannot fit the memory, unless ``ignore`` (--ignore-memory)."""
    est = estimate(plan)
    if (refusal := est.refusal()) and not ignore:
        raise StudyError(refusal)
    return est

