"""The one adapter between palrnn and Ray: every Ray call of the project lives in this module.

Ray's API has moved several times (``ray.air`` -> ``ray.train`` -> ``ray.tune``); in Ray 2.60 a
Tune function trainable uses ``ray.tune.report/get_context`` and the driver
``ray.tune.RunConfig/FailureConfig`` (the ``ray.train.*`` versions warn or raise inside Tune).
Keeping them here means one file to change when it moves again. Trials keep their checkpoints
themselves (``checkpoint_path``), not through Ray's checkpoint API: see there why.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from palrnn.config import Config, field_names

# Ray's newer console output ignores custom progress reporters; the older engine lets ProgressLine
# (below) replace Ray's wide table with one 80-column line. Set before ray.tune is imported.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
# Checkpointing every trial every --checkpoint-every steps forces many small experiment-state
# snapshots; they are cheap here, and Ray's warning about them would flood the terminal.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

import ray  # noqa: E402
from ray import tune  # noqa: E402

CHECKPOINTS = "checkpoints"  # <study folder>/checkpoints/<trial id>.pt, one per trial, overwritten
CONFIG_FIELDS = field_names()


# ---- the trial ----------------------------------------------------------------------------


def trial_key(config: dict[str, Any]) -> str:
    """A trial's name for its checkpoint, from its configuration alone: ``LSTM-T10-s0-<hash>``.

    Not Ray's trial id: when Ray's own experiment state is lost or damaged (a full disk cuts it
    short), Ray starts the study's trials again under new ids, and each must still find its
    checkpoint. Two trials with one configuration are one and the same run (training is
    deterministic), so sharing a checkpoint is right for them too."""
    import hashlib

    # Through Config, so that 10 and 10.0, or a value restored from Ray's JSON, name one trial.
    fields = Config.from_dict({k: v for k, v in config.items() if k in CONFIG_FIELDS}).to_dict()
    fields.pop("device", None)  # where a trial runs is not which trial it is
    digest = hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{config.get('model')}-T{config.get('length')}-s{config.get('seed')}-{digest}"


def checkpoint_path(study_folder: str | Path, key: str) -> Path:
    """Where a trial keeps its one checkpoint (``key``: ``trial_key``). It lives in the study
    folder, not among Ray's checkpoints: Ray's experiment state, saved every few seconds, can name
    a checkpoint that Ray has already replaced and deleted, so a driver killed at the wrong moment
    left a trial that could never be resumed ("does not exist on storage anymore"). A file of our
    own, written atomically at one fixed path, is always the trial's latest complete state."""
    return Path(study_folder) / CHECKPOINTS / f"{key}.pt"


def palrnn_trial(params: dict[str, Any], study_folder: str = ".", checkpoint_every: int = 1000,
                 threads: int = 1) -> None:
    """A Ray Tune function trainable: one palrnn training run, resumable from its checkpoint."""
    import torch

    from palrnn.train import CheckpointError, load_checkpoint, new_state, save_checkpoint, train

    torch.set_num_threads(threads)
    logging.getLogger("ray").setLevel(logging.WARNING)
    config = Config.from_dict({k: v for k, v in params.items() if k in CONFIG_FIELDS})
    if ray.get_gpu_ids() and config.device == "cpu":
        config = config.replace(device="cuda")  # Ray sets CUDA_VISIBLE_DEVICES to the trial's GPU
    node = ray.get_runtime_context().get_node_id()
    path = checkpoint_path(study_folder, trial_key(params))
    trial_id = tune.get_context().get_trial_id()
    path.parent.mkdir(parents=True, exist_ok=True)
    wall_before, restarts, from_scratch, records = 0.0, 0, False, []
    state = None
    if path.exists():  # a restart after a failure, or a resumed study: continue where it stopped
        try:
            state = load_checkpoint(path, device=config.device)
            wall_before, restarts = state.extra["wall_seconds"], state.extra["restarts"] + 1
            from_scratch, records = state.extra["restarted_from_scratch"], list(state.extra["records"])
        except (CheckpointError, KeyError, TypeError) as exc:
            # A corrupt checkpoint must not give a silently wrong result: start the trial over
            # from step 0 and record it (restarted_from_scratch), so the tables show it.
            print(f"palrnn: {exc}; restarting this trial from step 0")
            state, from_scratch, records = None, True, []
    start = time.perf_counter()

    def metrics(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "node": node, "restarts": restarts, "restarted_from_scratch": from_scratch,
                "wall_seconds": wall_before + time.perf_counter() - start}

    if state is None:
        state = new_state(config)
    elif state.last:
        # The record saved with the checkpoint may never have reached Ray (the worker died between
        # the two): report it again. A trial whose checkpoint is its end reports only this.
        tune.report(metrics(state.last))
    last_saved = state.step
    for record in train(state):
        result = metrics(record)
        records.append(result)
        # The checkpoint carries the trial's curve, every record up to its step: the tables are
        # made from it (collect), so no evaluation is lost or counted twice however the trial,
        # its worker or the driver was stopped. Saved before the report: a restarted trial goes
        # on from the last record saved.
        if state.done or state.step - last_saved >= checkpoint_every:
            save_checkpoint(state, path, extra={"wall_seconds": result["wall_seconds"], "restarts": restarts,
                                                "restarted_from_scratch": from_scratch, "records": records,
                                                "pid": os.getpid(), "trial_id": trial_id})
            last_saved = state.step
        tune.report(result)


def saved_curve(study_folder: str | Path, config: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The records a trial's checkpoint holds (its curve up to the checkpoint's step), or None."""
    import torch

    try:
        payload = torch.load(checkpoint_path(study_folder, trial_key(config)), map_location="cpu", weights_only=True)
        return list(payload["extra"]["records"])
    except Exception:  # no checkpoint (the trial failed first), or an unreadable one: Ray's log then
        return None


def experiment_state_damage(study_folder: str | Path) -> str | None:
    """Why Ray's latest experiment state in the folder cannot be read (a full disk cuts it short:
    Ray copies it without a temporary file), or None when it reads."""
    states = sorted(Path(study_folder).glob("experiment_state-*.json"))
    if not states:
        return None
    try:
        json.loads(states[-1].read_text())
    except (OSError, ValueError) as exc:
        return f"{states[-1].name}: {str(exc).splitlines()[0]}"
    return None


# ---- the driver ---------------------------------------------------------------------------


@dataclass
class TunerSpec:
    """One Ray Tuner of a planned study. ``plan`` is the study as planned (``study.planning.StudyPlan``,
    Ray-free: its name, folder, trial settings and resources, as study.json keeps them); this adds
    only what the driver knows once Ray is up. Every other field of the plan reads through
    (``spec.cpus_per_trial``, ``spec.max_failures``, ...).

    A search over several model x length cells runs one Tuner per ``cell``, each its own Ray
    experiment in ``cells/<model>-T<length>/`` of the study folder; ``name`` and ``results_dir``
    are that Ray experiment's, ``study_folder`` the study's (its checkpoints, tables, journal)."""

    plan: Any
    search: dict[str, Any] | None = None  # optuna, ready for Ray: space (distributions), storage (a path), seed, ...
    cell: dict[str, Any] | None = None  # {"model", "length", "study_name", "experiment"}; None: the whole plan
    verbose: int = 1

    @property
    def study_folder(self) -> Path:
        return Path(self.plan.results_dir) / self.plan.name

    @property
    def name(self) -> str:
        """Ray's experiment name (its folder under ``results_dir``)."""
        experiment = (self.cell or {}).get("experiment")
        return Path(experiment).name if experiment else self.plan.name

    @property
    def results_dir(self) -> Path:
        experiment = (self.cell or {}).get("experiment")
        return (self.study_folder / experiment).parent if experiment else Path(self.plan.results_dir)

    @property
    def param_space(self) -> dict[str, Any]:
        """Config field -> value, or a list of values to grid over (``grid_axes``); a cell's model and length."""
        if self.cell is None:
            return dict(self.plan.param_space)
        return {**self.plan.param_space, "model": self.cell["model"], "length": self.cell["length"]}

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_") or "plan" not in self.__dict__:
            raise AttributeError(item)
        return getattr(self.__dict__["plan"], item)


def init_ray(address: str | None, num_cpus: int | None, dashboard_host: str, dashboard_port: int,
             object_store_mb: int, num_gpus: int | None = None) -> str | None:
    """Connect to a cluster (``address``) or start a local Ray; return the dashboard's address."""
    if ray.is_initialized():
        return None
    if address:
        ctx = ray.init(address=address, log_to_driver=True)
    else:
        ctx = ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=True, dashboard_host=dashboard_host,
                       dashboard_port=dashboard_port, object_store_memory=object_store_mb * 1024**2,
                       log_to_driver=True)
    return getattr(ctx, "dashboard_url", None) or None


def ray_running() -> bool:
    return ray.is_initialized()


def shutdown_ray() -> None:
    if ray.is_initialized():
        ray.shutdown()


def cluster_cpus() -> float:
    return float(ray.cluster_resources().get("CPU", 0))


def cluster_gpus() -> float:
    return float(ray.cluster_resources().get("GPU", 0))


def max_node_cpus() -> float:
    return max((float(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=0.0)


def _trainable(spec: TunerSpec) -> Any:
    threads = max(1, int(spec.cpus_per_trial))
    folder = str(spec.study_folder.resolve())
    fn = tune.with_parameters(palrnn_trial, study_folder=folder, checkpoint_every=spec.checkpoint_every,
                              threads=threads)
    return tune.with_resources(fn, {"cpu": spec.cpus_per_trial, "gpu": spec.gpus_per_trial})


def _param_space(spec: TunerSpec) -> dict[str, Any]:
    return {k: tune.grid_search(v) if k in spec.grid_axes else v for k, v in spec.param_space.items()}


class ProgressLine(tune.ProgressReporter):
    """One short line every ``every`` seconds instead of Ray's wide table: fits 80 columns.

        16:52:43  4/36 done  2 running  0 errors  LSTM T=7 s1 step 4000 acc 0.998
    """

    def __init__(self, every: float = 20.0, stream: Any = None, total: int | None = None) -> None:
        # total: the trials to come (a search's num_samples): Ray only knows those proposed so far.
        self.every, self.stream, self.total, self._last = every, stream, total, 0.0

    def should_report(self, trials: list[Any], done: bool = False) -> bool:
        return done or time.monotonic() - self._last >= self.every

    def report(self, trials: list[Any], done: bool, *sys_info: str) -> None:
        import sys

        self._last = time.monotonic()
        count: dict[str, int] = {}
        for t in trials:
            count[t.status] = count.get(t.status, 0) + 1
        finished = count.get("TERMINATED", 0)
        total = max(len(trials), getattr(self, "total", None) or 0)  # a reporter restored from an older pickle
        line = (f"{time.strftime('%H:%M:%S')}  {finished}/{total} done  {count.get('RUNNING', 0)} running  "
                f"{count.get('ERROR', 0)} errors")
        reported = [t for t in trials if t.last_result and "step" in t.last_result]
        latest = max(reported, key=lambda t: t.last_result.get("timestamp", 0), default=None)
        if latest is not None and not done:
            c, r = latest.config, latest.last_result
            line += (f"  {c.get('model')} T={c.get('length')} s{c.get('seed')} step {r.get('step')} "
                     f"acc {r.get('eval_accuracy', float('nan')):.3f}")
        print(line[:79], file=self.stream or sys.stdout, flush=True)


def _run_config(spec: TunerSpec) -> tune.RunConfig:
    reporter = ProgressLine(total=(spec.search or {}).get("num_samples")) if spec.verbose else None
    return tune.RunConfig(
        name=spec.name,
        storage_path=str(spec.results_dir.resolve()),
        failure_config=tune.FailureConfig(max_failures=spec.max_failures),
        progress_reporter=reporter,
        verbose=spec.verbose,
        # Ray adds its CSV and JSON loggers itself (collect() reads them); its TensorBoard logger
        # is replaced by TensorBoardCallback (a subclass, so Ray does not add its own).
        callbacks=study_callbacks(spec),
    )


def _tune_config(spec: TunerSpec) -> tune.TuneConfig:
    # reuse_actors: a new trial runs in the finished trial's worker process, so torch and palrnn
    # are imported once per worker, not once per trial (most of Ray's per-trial overhead).
    kw: dict[str, Any] = {"trial_dirname_creator": _dirname, "reuse_actors": True}
    if spec.max_concurrent:
        kw["max_concurrent_trials"] = spec.max_concurrent
    if spec.search is None:
        return tune.TuneConfig(**kw)
    import optuna
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import ConcurrencyLimiter

    s = spec.search
    metric, mode = s.get("metric", "eval_accuracy"), s.get("mode", "max")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(s["storage"])))
    # PalrnnOptunaSearch (below, with the other watchers): Ray's OptunaSearch that also records each
    # trial's values at its training step and its stopped_by, for optuna-dashboard.
    searcher = PalrnnOptunaSearch(
        space=s["space"], metric=metric, mode=mode, sampler=optuna.samplers.TPESampler(seed=s["seed"]),
        study_name=s.get("study_name", "palrnn"), storage=storage,
    )
    searcher = ConcurrencyLimiter(searcher, max_concurrent=s["max_concurrent"])
    kw.pop("max_concurrent_trials", None)
    if not s.get("scheduler", True):
        return tune.TuneConfig(search_alg=searcher, num_samples=s["num_samples"], **kw)
    # ASHA counts training steps, not reports: a trial resumed from its checkpoint reports its
    # steps on from there, while Ray's training_iteration would start again at 1.
    every = int(spec.param_space.get("eval_every", 1))
    scheduler = ASHAScheduler(time_attr="step", metric=metric, mode=mode,
                              max_t=s["max_t"] * every, grace_period=s["grace_period"] * every, reduction_factor=3)
    return tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=s["num_samples"], **kw)


def _dirname(trial: Any) -> str:
    return f"trial_{trial.trial_id}"


def run_tuner(spec: TunerSpec) -> Any:
    tuner = tune.Tuner(_trainable(spec), param_space=_param_space(spec), tune_config=_tune_config(spec),
                       run_config=_run_config(spec))
    return tuner.fit()


def restore_tuner(spec: TunerSpec) -> Any:
    path = str((spec.results_dir / spec.name).resolve())
    tuner = tune.Tuner.restore(path, trainable=_trainable(spec), resume_unfinished=True, resume_errored=True,
                               param_space=_param_space(spec))
    return tuner.fit()


def can_restore(path: Path) -> bool:
    return tune.Tuner.can_restore(str(path.resolve()))


# ---- results -> tables --------------------------------------------------------------------

METRICS = ["step", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy", "examples_per_second", "grad_norm",
           "grad_norm_max", "mean_train_accuracy", "diverged", "steps_to_target", "stopped_early"]


def collect(results: Any, config_columns: list[str], study_folder: str | Path | None = None,
            scheduled: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ray's ResultGrid -> (trials, curves): one row per trial, and one per trial per evaluation.

    A trial's curve comes from its own checkpoint in ``study_folder`` (every record up to its
    last step, written atomically with the state), else from Ray's log of its results, which a
    driver killed outright leaves incomplete (Ray copies it to the study folder only now and then).
    """
    entries = []
    # Ray's own status of each trial (TERMINATED, ERROR, or PENDING/RUNNING/PAUSED when the study
    # was interrupted); ResultGrid keeps it only on its analysis object.
    analysis = getattr(results, "_experiment_analysis", None)
    status = {t.trial_id: t.status for t in getattr(analysis, "trials", None) or []}
    for result in results:
        last = result.metrics or {}
        trial_id = Path(result.path).name.removeprefix("trial_")
        saved = saved_curve(study_folder, result.config or {}) if study_folder is not None else None
        if saved:
            df = pd.DataFrame(saved)
            if int(df["step"].max()) >= int(last.get("step") or 0):
                last = {**last, **saved[-1]}
        else:
            df = result.metrics_dataframe
        if "step" not in last and result.error is None:
            continue  # never started (an interrupted study): nothing to tabulate yet
        error = None if result.error is None else str(result.error).strip().splitlines()[-1][:200]
        entries.append((trial_id, result.config or {}, last, df, status.get(trial_id, "TERMINATED"), error))
    return _tables(entries, config_columns, scheduled)


class FinishedTables:
    """The tables of the trials finished so far, from their checkpoints alone (no Ray): what the
    driver writes while a study runs, so that a study stopped by a full disk or a crash keeps the
    tables of everything that finished. Checkpoints are read again only when they change."""

    def __init__(self, study_folder: str | Path, config_columns: list[str]) -> None:
        self.folder, self.columns = Path(study_folder), config_columns
        self._cache: dict[str, tuple[int, str, dict[str, Any], list[dict[str, Any]]]] = {}

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """(trials, curves) of the finished trials; None when nothing has changed since the last call."""
        import torch

        changed = False
        for path in sorted((self.folder / CHECKPOINTS).glob("*.pt")):
            try:
                mtime = path.stat().st_mtime_ns
                if self._cache.get(path.stem, (None,))[0] == mtime:
                    continue
                payload = torch.load(path, map_location="cpu", weights_only=True)
                extra = payload["extra"]
                self._cache[path.stem] = (mtime, extra["trial_id"], payload["config"], list(extra["records"]))
                changed = True
            except Exception:  # being replaced this instant, or unreadable: the next call sees it
                continue
        if not changed:
            return None
        entries = [(trial_id, config, records[-1], pd.DataFrame(records), "TERMINATED", None)
                   for _, trial_id, config, records in self._cache.values() if records and records[-1].get("done")]
        return _tables(entries, self.columns)


def _tables(entries: list[tuple[str, dict[str, Any], dict[str, Any], Any, str, str | None]],
            config_columns: list[str], scheduled: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trial id, config, last record, its records as a DataFrame or None, Ray status, error) per
    trial -> (trials, curves)."""
    trials, curves = [], []
    for trial_id, config, last, df, status, error in entries:
        cfg = {k: config.get(k) for k in config_columns}
        best = None
        if df is not None and len(df) and "step" in df:
            # A trial restored from a checkpoint reports the steps after it again: keep the last.
            df = df.drop_duplicates("step", keep="last").sort_values("step")
            part = df[[c for c in METRICS if c in df]].copy()
            part.insert(0, "trial_id", trial_id)
            for k, v in reversed(cfg.items()):
                part.insert(1, k, [v] * len(part))
            curves.append(part)
            if "eval_accuracy" in part and part["eval_accuracy"].notna().any():
                best = float(part["eval_accuracy"].max())
        row = {"trial_id": trial_id, **cfg, **{k: last.get(k) for k in METRICS}}
        # The best evaluation, beside the final one: a run can reach the target and then lose it.
        row["best_eval_accuracy"] = best if best is not None else last.get("eval_accuracy")
        row["status"] = "ERROR" if error is not None else status
        row["stopped_by"] = _stopped_by(row, scheduled)
        row["node"] = last.get("node")
        row["restarts"] = last.get("restarts", 0)
        row["restarted_from_scratch"] = last.get("restarted_from_scratch", False)
        row["wall_seconds"] = last.get("wall_seconds")
        row["error"] = error
        trials.append(row)
    trials_df = pd.DataFrame(trials)
    if len(trials_df):
        trials_df = trials_df.sort_values([c for c in config_columns if c in trials_df] + ["trial_id"],
                                          key=_sort_key).reset_index(drop=True)
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["trial_id", *METRICS])
    if len(curves_df):
        curves_df = curves_df.sort_values(["trial_id", "step"]).reset_index(drop=True)
    return trials_df, curves_df


def _sort_key(col: pd.Series) -> pd.Series:
    # Columns mixing None and numbers (max_norm) sort with None first.
    return col.map(lambda v: (0, "") if v is None or (isinstance(v, float) and v != v) else (1, v))


def _stopped_by(row: dict[str, Any], scheduled: bool = True) -> str:
    """Why a trial ended: error, diverged, target (early stop), steps (all of them), scheduler
    (cut by ASHA), or unfinished (the study was interrupted; --resume continues it).

    ``scheduled``: a scheduler may cut the study's trials. Without one (a grid), a trial Ray
    ended short of its steps was stopped with the study (Ray may mark it TERMINATED on Ctrl-C):
    it is unfinished.

    "steps" is judged from the step reached, not from the ``done`` of the last result: Ray sets
    ``done`` itself on the last result of a trial its scheduler stopped."""
    if row["status"] == "ERROR":
        return "error"
    if row.get("diverged"):
        return "diverged"
    if row.get("stopped_early"):
        return "target"
    if row.get("step") is not None and row.get("steps") is not None and row["step"] >= row["steps"]:
        return "steps"
    return "scheduler" if scheduled and row["status"] == "TERMINATED" else "unfinished"


# ---- watching a study: TensorBoard, MLflow, Optuna ----------------------------------------
# Ray calls these callbacks in the driver, so they write to the study folder (or the MLflow
# store) directly, as results arrive; Ray's own per-trial files reach the study folder only
# when Ray copies its staging folder there. docs/watching.md shows what each tool gets.

from ray.tune.logger import LoggerCallback, TBXLoggerCallback  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

from study import tracking  # noqa: E402

# What a trial's evaluations put on record, against the training step ("step" too, to see a
# restarted trial go back to its checkpoint).
WATCHED = [m for m in METRICS if m != "stopped_early"] + ["wall_seconds"]


def _scalars(result: dict[str, Any]) -> dict[str, float]:
    """The watched metrics of a result that are numbers (a bool as 0/1; None and NaN left out)."""
    import numbers

    out = {}
    for key in WATCHED:
        value = result.get(key)
        if isinstance(value, numbers.Real) and value == value:
            out[key] = float(value)
    return out


def _short(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def run_name(config: dict[str, Any], swept: list[str] | None = None) -> str:
    """A trial's name in TensorBoard and MLflow: model, length, seed and the swept values,
    e.g. ``LSTM_T10_s0_hidden=64_lr=0.003``."""
    import re

    parts = [f"{config.get('model')}_T{config.get('length')}_s{config.get('seed')}"]
    parts += [f"{k}={_short(config.get(k))}" for k in swept or [] if k not in ("model", "length", "seed")]
    return re.sub(r"[^A-Za-z0-9_.=+-]", "-", "_".join(parts))


def _swept(trial: Any, fields: list[str] | None = None) -> list[str]:
    """The fields Ray chose for the trial: the grid's axes, or what Optuna proposed; ``fields`` when
    the study names them (a frontier's searcher proposes every field of a trial's config, but only
    its cell's fields, its length and its seed tell its trials apart)."""
    if fields is not None:
        return list(fields)
    return [k for k in (getattr(trial, "evaluated_params", None) or {}) if "/" not in k]


def _hparam(value: Any) -> Any:
    return value if isinstance(value, str | bool | int | float) else _short(value)


class _Guarded:
    """A watcher must never stop a study: a failing write (a full disk, an MLflow server that
    went away) prints one notice per kind of failure and the study goes on."""

    _warned: set[str]

    def _notice(self, what: str, exc: BaseException) -> None:
        warned = self.__dict__.setdefault("_warned", set())
        if what not in warned:
            warned.add(what)
            why = (str(exc).splitlines() or [""])[0][:200]
            print(f"palrnn: {what} failed ({type(exc).__name__}: {why}); the study goes on without it")


class TensorBoardCallback(TBXLoggerCallback, _Guarded):
    """Every trial's metrics in TensorBoard, live: ``<study folder>/tensorboard/<run name>/``,
    tags ``palrnn/<metric>``, plotted against the training step (not Ray's report count), and the
    trial's swept values in the HPARAMS tab once it ends.

    A subclass of Ray's TBXLoggerCallback so that Ray does not add its own (which writes into each
    trial's folder, against Ray's report count). A trial restarted from its checkpoint reports its
    steps after the checkpoint again: TensorBoard keeps the later value of a step written twice.
    Without tensorboardX (ray[tune] brings it) it does nothing and says so once."""

    _SAVED_FILE_TEMPLATES: list[str] = []  # nothing of ours lives in the trial folders

    # Not Ray's __init__, which fails without tensorboardX. ``swept``: the fields in a trial's run
    # name besides its model, T and seed (None: those Ray chose for it).
    def __init__(self, study_folder: str | Path, swept: list[str] | None = None) -> None:
        self.logdir = str(Path(study_folder) / tracking.TENSORBOARD)
        self.swept = None if swept is None else list(swept)
        self._reset()

    def _reset(self) -> None:
        self._writers: dict[str, Any] = {}
        self._names: dict[str, str] = {}
        self._writer_cls: Any = None

    def __getstate__(self) -> dict[str, Any]:  # Ray pickles its run config, callbacks included
        return {"logdir": self.logdir, "swept": self.swept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"swept": None, **state})
        self._reset()

    def setup(self, *args: Any, **kwargs: Any) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            print("palrnn: tensorboardX is not installed: no TensorBoard curves (pip install tensorboardX)")
            return
        self._writer_cls = SummaryWriter

    def run_name(self, trial: Any) -> str:
        if trial.trial_id not in self._names:
            name = run_name(trial.config, _swept(trial, self.swept))
            if name in self._names.values():  # two trials of one configuration (a search can propose it twice)
                name += f"_{trial.trial_id}"
            self._names[trial.trial_id] = name
        return self._names[trial.trial_id]

    def _writer(self, trial: Any) -> Any:
        if self._writer_cls is None:
            return None
        if trial.trial_id not in self._writers:
            self._writers[trial.trial_id] = self._writer_cls(logdir=os.path.join(self.logdir, self.run_name(trial)),
                                                             flush_secs=30)
        return self._writers[trial.trial_id]

    def log_trial_start(self, trial: Any) -> None:
        pass  # the writer is made with the first result: a trial that never reports leaves no run

    def log_trial_result(self, iteration: int, trial: Any, result: dict[str, Any]) -> None:
        if result.get("step") is None:
            return
        try:
            writer = self._writer(trial)
            if writer is None:
                return
            step = int(result["step"])
            for key, value in _scalars(result).items():
                writer.add_scalar(f"palrnn/{key}", value, global_step=step)
            writer.flush()
        except Exception as exc:
            self._notice("TensorBoard logging", exc)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        writer = self._writers.pop(trial.trial_id, None)
        if writer is None:
            return
        try:
            from tensorboardX.summary import hparams

            swept = ["model", "length", "seed",
                     *[k for k in _swept(trial, self.swept) if k not in ("model", "length", "seed")]]
            params = {k: _hparam(trial.config.get(k)) for k in swept}
            metrics = {f"palrnn/{k}": 0.0 for k in ("eval_accuracy", "step", "steps_to_target")}
            for summary in hparams(params, metrics):
                writer.file_writer.add_summary(summary)
        except Exception as exc:
            self._notice("TensorBoard's hparams", exc)
        finally:
            self._close(writer)

    def _close(self, writer: Any) -> None:
        try:
            writer.close()
        except Exception as exc:  # a full disk: the study's own error says so
            self._notice("closing a TensorBoard file", exc)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        for writer in self._writers.values():
            self._close(writer)
        self._writers.clear()


class MLflowCallback(LoggerCallback, _Guarded):
    """Every trial an MLflow run, nested under the study's run (experiment ``palrnn``): its config
    as params, its metrics at every evaluation at the training step, at its end
    ``best_eval_accuracy`` and the tags ``stopped_by`` and ``ray_status``.

    Not Ray's MLflowLoggerCallback: that one logs at Ray's report count, cannot nest trials under a
    parent run, and starts a second run for a trial continued by ``--resume``. Here a trial's run is
    found again by its ``trial_key`` (as its checkpoint is), and the study's run by its name and
    folder, so a resumed study continues its runs."""

    def __init__(self, uri: str, study_folder: str | Path, name: str, fixed: dict[str, Any] | None = None,
                 kind: str = "grid", swept: list[str] | None = None) -> None:
        self.uri, self.folder, self.name = uri, str(Path(study_folder).resolve()), name
        self.fixed, self.kind = dict(fixed or {}), kind
        self.swept = None if swept is None else list(swept)  # the fields in a trial's run name (None: Ray's)
        self._reset()

    def _reset(self) -> None:
        self._client: Any = None
        self._exp_id: str | None = None
        self._parent: str | None = None
        self._runs: dict[str, str] = {}  # Ray trial id -> MLflow run id
        self._ended: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("uri", "folder", "name", "fixed", "kind", "swept")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"swept": None, **state})
        self._reset()

    def setup(self, *args: Any, **kwargs: Any) -> None:
        try:
            self._client = tracking.mlflow_client(self.uri)
            self._exp_id = tracking.experiment_id(self._client, self.uri)
            run = tracking.find_study_run(self._client, self._exp_id, self.name, self.folder)
            if run is not None:  # --resume
                self._parent = run.info.run_id
                self._client.update_run(self._parent, status="RUNNING")
                return
            tags = {tracking.ROLE_TAG: "study", tracking.STUDY_TAG: self.name, tracking.FOLDER_TAG: self.folder,
                    "kind": self.kind}
            run = self._client.create_run(self._exp_id, run_name=self.name, tags=tags)
            self._parent = run.info.run_id
            self._params(self._parent, self.fixed)
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        # Once is enough: a tracking server that went away would make every later call wait
        # through MLflow's retries, and Ray's driver with it.
        self._client = None
        self._notice(f"MLflow logging to {self.uri}", exc)

    def _params(self, run_id: str, values: dict[str, Any]) -> None:
        from mlflow.entities import Param

        params = [Param(k, str(v)) for k, v in values.items()]  # as mlflow.log_params writes them: None -> "None"
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            self._client.log_batch(run_id, params=params[i:i + 100])

    def _run(self, trial: Any) -> str | None:
        if self._client is None:
            return None
        if trial.trial_id in self._runs:
            return self._runs[trial.trial_id]
        key = trial_key(trial.config)
        run = tracking.find_trial_run(self._client, self._exp_id, self._parent, key)
        if run is not None:  # the study was resumed, or Ray started the trial again under a new id
            run_id = run.info.run_id
            self._client.update_run(run_id, status="RUNNING")
            self._client.set_tag(run_id, "ray_trial_id", trial.trial_id)
        else:
            tags = {"mlflow.parentRunId": self._parent, tracking.PARENT_TAG: self._parent, tracking.KEY_TAG: key,
                    tracking.ROLE_TAG: "trial", "ray_trial_id": trial.trial_id}
            run_id = self._client.create_run(self._exp_id, run_name=run_name(trial.config, _swept(trial, self.swept)),
                                             tags=tags).info.run_id
            self._params(run_id, {k: v for k, v in trial.config.items() if k in CONFIG_FIELDS})
        self._runs[trial.trial_id] = run_id
        self._ended.discard(trial.trial_id)
        return run_id

    def log_trial_start(self, trial: Any) -> None:
        try:
            self._run(trial)
        except Exception as exc:
            self._give_up(exc)

    def log_trial_result(self, iteration: int, trial: Any, result: dict[str, Any]) -> None:
        if result.get("step") is None:
            return
        try:
            from mlflow.entities import Metric

            run_id = self._run(trial)
            if run_id is None:
                return
            now, step = int(time.time() * 1000), int(result["step"])
            metrics = [Metric(k, v, now, step) for k, v in _scalars(result).items()]
            self._client.log_batch(run_id, metrics=metrics)
        except Exception as exc:
            self._give_up(exc)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        try:
            from mlflow.entities import Metric, RunTag

            run_id = self._run(trial)
            if run_id is None:
                return
            last = trial.last_result or {}
            status = "ERROR" if failed else "TERMINATED"
            row = {"status": status, **{k: last.get(k) for k in METRICS}, "steps": trial.config.get("steps")}
            tags = [RunTag("stopped_by", _stopped_by(row)), RunTag("ray_status", status)]
            # The best evaluation of the whole curve: the checkpoint holds it all, also the part
            # logged before a restart of the driver.
            curve = saved_curve(self.folder, trial.config) or []
            best = [r["eval_accuracy"] for r in curve if r.get("eval_accuracy") is not None]
            metrics = []
            if best and last.get("step") is not None:
                metrics.append(Metric("best_eval_accuracy", float(max(best)), int(time.time() * 1000),
                                      int(last["step"])))
            self._client.log_batch(run_id, metrics=metrics, tags=tags)
            self._client.set_terminated(run_id, "FAILED" if failed else "FINISHED")
            self._ended.add(trial.trial_id)
        except Exception as exc:
            self._give_up(exc)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        """Runs of trials the study left unfinished (Ctrl-C) end KILLED, and so does the study's
        run; ``--resume`` sets them running again. A study with a failed trial ends FAILED."""
        if self._client is None:
            return
        try:
            for trial_id, run_id in self._runs.items():
                if trial_id not in self._ended:
                    self._client.set_terminated(run_id, "KILLED")
            states = {t.status for t in trials}
            status = "FAILED" if "ERROR" in states else "KILLED" if states - {"TERMINATED"} else "FINISHED"
            self._client.set_terminated(self._parent, status)
        except Exception as exc:
            self._give_up(exc)


def mlflow_callbacks(spec_or_uri: Any, folder: str | Path, name: str) -> list[Any]:
    """The callbacks that log a study to MLflow: ``spec_or_uri`` is a TunerSpec (its ``mlflow``,
    the tracking URI; its fixed settings become the study run's params) or a tracking URI."""
    if isinstance(spec_or_uri, str):
        return [MLflowCallback(spec_or_uri, folder, name)]
    spec = spec_or_uri
    uri = getattr(spec, "mlflow", None)
    if not uri:
        return []
    search = getattr(spec, "search", None)
    kind = getattr(spec, "kind", None) or ("optuna" if search else "grid")
    swept = set(getattr(spec, "grid_axes", None) or []) | set((search or {}).get("space") or {})
    # The study's settings, not a search cell's: a search over several cells has lists for model and length.
    space = getattr(getattr(spec, "plan", None), "param_space", None) or spec.param_space
    fixed = {k: v for k, v in space.items() if k not in swept and not isinstance(v, list)}
    return [MLflowCallback(uri, folder, name, fixed=fixed, kind=kind, swept=_run_fields(spec))]


def _run_fields(spec: Any) -> list[str] | None:
    """The fields a trial's run name shows beside its model, T and seed: a frontier's cell fields
    (its searcher proposes whole configs); None: what Ray chose for the trial."""
    if getattr(spec, "kind", None) == "frontier":
        return list(getattr(spec, "grid_axes", None) or [])
    return None


def study_callbacks(spec: TunerSpec) -> list[Any]:
    """The watchers of a study (RunConfig's callbacks): TensorBoard always, MLflow when the spec
    has a tracking URI (``spec.mlflow``). They write to the study's folder and name, also when a
    study runs as several Ray experiments (one per search cell)."""
    study_folder = getattr(spec, "study_folder", None)
    folder = Path(study_folder if study_folder is not None else spec.results_dir / spec.name).resolve()
    name = getattr(getattr(spec, "plan", None), "name", None) or spec.name
    return [TensorBoardCallback(folder, swept=_run_fields(spec)), *mlflow_callbacks(spec, folder, name)]


class PalrnnOptunaSearch(OptunaSearch):
    """Ray's OptunaSearch, recording what the study's tables say: the intermediate values of a
    trial at its training step (Ray's reports them at its report count, which starts again at 1
    when a trial restarts from its checkpoint), and, when a trial ends, the user attributes
    ``stopped_by`` (as in trials.csv), ``step`` and ``ray_trial_id``.

    What Optuna learns is unchanged: a finished trial is COMPLETE with its last eval_accuracy (an
    ASHA-cut one too: ``stopped_by`` = scheduler says so), a failed one FAIL; TPE reads neither
    intermediate values nor attributes."""

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if isinstance(self.metric, list) or trial_id in self._completed_trials or result.get("step") is None:
            return super().on_trial_result(trial_id, result)
        self._report(trial_id, result)

    def _report(self, trial_id: str, result: dict[str, Any]) -> None:
        import warnings

        if result.get(self.metric) is None or result.get("step") is None:
            return
        with warnings.catch_warnings():  # a restarted trial reports a step again: Optuna keeps the first
            warnings.simplefilter("ignore")
            self._ot_trials[trial_id].report(result[self.metric], int(result["step"]))

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is not None and trial_id not in self._completed_trials:
            last = result or {}
            steps = last.get("config/steps", (last.get("config") or {}).get("steps"))  # Ray flattens the result
            row = {"status": "ERROR" if error else "TERMINATED", **{k: last.get(k) for k in METRICS}, "steps": steps}
            try:
                # The result that ends a trial (its last, or the one at which ASHA stops it) reaches
                # the searcher only here, not through on_trial_result.
                if not isinstance(self.metric, list):
                    self._report(trial_id, last)
                ot_trial.set_user_attr("ray_trial_id", trial_id)
                ot_trial.set_user_attr("stopped_by", _stopped_by(row))
                if last.get("step") is not None:
                    ot_trial.set_user_attr("step", int(last["step"]))
            except Exception as exc:  # never lose the result for an attribute
                logging.getLogger(__name__).warning("optuna: %s", exc)
        super().on_trial_complete(trial_id, result=result, error=error)


# ---- the memory frontier on Ray (the search itself, without Ray: study/frontier.py) -------------


class FrontierSearcher(tune.search.Searcher):
    """Ray Tune's searcher for ``study.frontier.Frontier``: proposes ``{**base, **cell, "length": T,
    "seed": s}`` as the Frontier asks; ``suggest`` returns None while there is nothing to launch
    until a running trial ends, ``Searcher.FINISHED`` once every cell's frontier is known.

    What a trial's results mean for its seed: solved at its first result with a
    ``steps_to_target`` (``observe``: FrontierScheduler calls it on every result, so a probe can
    be decided before that seed's palrnn run stops at its patience); not solved when it ends
    without one (its steps spent, or diverged); stopped (not counted) when it was stopped before
    its end because its probe was decided or moot; an error (counted as not solved) when Ray gives
    up on it after ``max_failures`` restarts.

    Its state (the Frontier, and which Ray trial is which seed) is saved by Ray with the experiment
    state (``save``/``restore``), so ``Tuner.restore`` continues without rerunning a finished
    probe; ``frontier/state.json`` and ``frontier.csv`` in the study folder are rewritten on every
    change, for the report and for a study that cannot end."""

    CKPT_FILE_TMPL = "frontier-searcher-{}.json"

    def __init__(self, frontier: Any, study_folder: str | Path | None = None) -> None:
        super().__init__(metric=None, mode=None)
        self.frontier = frontier
        self.trials: dict[str, list[int]] = {}  # Ray trial id -> [cell, length, seed], while it runs
        self.folder = None if study_folder is None else str(study_folder)
        self._restored = False  # restore() ran: a resumed driver (pickled False in tuner.pkl)
        self.replay: list[list[int]] = []  # finished seeds that Ray's restored state lacks (reconcile)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the Frontier makes every config; there is no search space to take

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        from study.frontier import Trial

        if self.replay:  # a finished seed's trial again: it reports its checkpoint's end, trains nothing
            key = self.replay.pop(0)
            self.trials[trial_id] = key
            return self.frontier.config(Trial(*key))
        nxt = self.frontier.next_trial()
        if not isinstance(nxt, Trial):
            return None if nxt is None else tune.search.Searcher.FINISHED
        self.trials[trial_id] = list(nxt)
        self._changed(table=False)
        return self.frontier.config(nxt)

    def _key(self, trial_id: str, result: dict[str, Any] | None = None) -> Any:
        from study.frontier import Trial

        key = self.trials.get(trial_id)
        if key is not None:
            return Trial(*key)
        result = result or {}
        config = result.get("config") or {k[7:]: v for k, v in result.items() if k.startswith("config/")}
        return self.frontier.trial_of(config) if config else None

    def observe(self, trial_id: str, result: dict[str, Any]) -> None:
        """A trial's result as it arrives: a seed that has reached the target is solved now."""
        from study.frontier import RUNNING

        key = self._key(trial_id, result)
        steps = result.get("steps_to_target")
        if key is not None and steps is not None and self.frontier.seed_state(key) == RUNNING:
            self.frontier.record(*key, solved=True, steps_to_target=steps)
            self._changed()

    def should_stop(self, trial_id: str, result: dict[str, Any] | None = None) -> bool:
        """Stop a trial whose seed still runs in a probe that is decided or moot. A seed already
        solved runs on to its own end (palrnn's patience), as in any study."""
        from study.frontier import RUNNING

        key = self._key(trial_id, result)
        return (key is not None and self.frontier.seed_state(key) == RUNNING
                and self.frontier.decided(key.cell, key.length))

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.observe(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        key = self._key(trial_id, result)
        self.trials.pop(trial_id, None)
        if key is None:
            return
        result = result or {}
        steps = result.get("steps_to_target")
        if error:
            self.frontier.record(*key, solved=False, error=True)
        elif steps is not None:
            self.frontier.record(*key, solved=True, steps_to_target=steps)
        elif self._ended(key, result):
            self.frontier.record(*key, solved=False)
        else:  # stopped before its end: its probe was decided (or Ray stopped it: launched again)
            self.frontier.stop(*key)
        self._changed()

    def _ended(self, key: Any, result: dict[str, Any]) -> bool:
        if result.get("diverged") or result.get("stopped_early"):
            return True
        budget = self.frontier.config(key).get("steps", Config().steps)
        return result.get("step") is not None and int(result["step"]) >= int(budget)

    def reconcile(self, trials: list[Any]) -> None:
        """Match the Frontier with the trials Ray holds, when a driver starts (``--resume``): a seed
        whose trial Ray no longer has is launched again; a trial that ended unseen is recorded; a
        live trial the Frontier does not know (a state saved before it started) is adopted."""
        from ray.tune.utils import flatten_dict

        if self._restored or trials:
            self._load_newer_state()
        held = {t.trial_id: t for t in trials}
        for trial_id, key in list(self.trials.items()):
            t = held.get(trial_id)
            if t is None:
                self.trials.pop(trial_id)
                self.frontier.release(*key)
            elif t.status == "TERMINATED":
                self.on_trial_complete(trial_id, flatten_dict(dict(t.last_result or {})))
            elif t.status == "ERROR":
                self.on_trial_complete(trial_id, error=True)
        seen = set()  # the seeds of the trials Ray holds, besides those in self.trials
        for t in trials:
            if t.trial_id in self.trials:
                continue
            key = self.frontier.trial_of(t.config or {})
            if key is None:
                continue
            seen.add(tuple(key))
            if t.status in ("PENDING", "RUNNING", "PAUSED"):
                if self.frontier.adopt(*key):
                    self.trials[t.trial_id] = list(key)
            elif t.status == "TERMINATED" and self.frontier.seed_state(key) is None:
                self.on_trial_complete(t.trial_id, flatten_dict(dict(t.last_result or {})))
        mine = {tuple(k) for k in self.trials.values()}
        for key in self.frontier.running():  # running in the Frontier, but no trial of Ray's
            if tuple(key) not in mine:
                self.frontier.release(*key)
        # A seed that finished after Ray last saved its experiment state (a driver killed within
        # those seconds) is counted in the Frontier but missing from Ray's trials, and so from
        # the tables: its trial runs once more, finds its checkpoint at its end and reports it.
        self.replay = [list(k) for k in self.frontier.ended() if tuple(k) not in seen | mine]
        self._changed()

    def _load_newer_state(self) -> None:
        """Take the study folder's frontier/state.json when it is further on than the state Ray
        restored: Ray copies its experiment and searcher state to the study folder only every few
        minutes, this file is written on every change."""
        from study.frontier import FILE, Frontier

        try:
            state = json.loads((Path(self.folder) / FILE).read_text()) if self.folder else None
            newer = Frontier.from_dict(state) if state else None
        except (OSError, ValueError, KeyError, TypeError):
            return
        if newer is not None and newer.same_search(self.frontier) and newer.progress() > self.frontier.progress():
            self.frontier = newer
            self.trials = {k: list(v) for k, v in (state.get("ray_trials") or {}).items()}

    def _changed(self, table: bool = True) -> None:
        if self.folder is None:
            return
        from study import frontier as fr
        from study.io import write_csv_atomic, write_json_atomic

        folder = Path(self.folder)
        (folder / fr.FILE).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / fr.FILE, {**self.frontier.to_dict(), "ray_trials": self.trials})
        if table:
            write_csv_atomic(folder / fr.CSV, fr.frontier_table(self.frontier))

    def get_state(self) -> dict[str, Any]:
        return {"frontier": self.frontier.to_dict(), "trials": self.trials, "folder": self.folder}

    def set_state(self, state: dict[str, Any]) -> None:
        from study.frontier import Frontier

        self.frontier = Frontier.from_dict(state["frontier"])
        self.trials = {k: list(v) for k, v in state["trials"].items()}
        self._restored = True

    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text(json.dumps(self.get_state(), default=str))

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(json.loads(Path(checkpoint_path).read_text()))


class FrontierScheduler(tune.schedulers.FIFOScheduler):
    """Runs trials in the order the searcher proposed them and stops, at its next result, a trial
    whose probe is decided or moot (``FrontierSearcher.should_stop``): it ends TERMINATED,
    ``stopped_by`` = scheduler in trials.csv, and is not counted in the frontier's k/n."""

    def __init__(self, searcher: FrontierSearcher) -> None:
        super().__init__()
        self.searcher = searcher

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        self.searcher.observe(trial.trial_id, result)
        if self.searcher.should_stop(trial.trial_id, result):
            return tune.schedulers.TrialScheduler.STOP
        return tune.schedulers.TrialScheduler.CONTINUE


class FrontierCallback(tune.Callback):
    """Before the first step of a driver, the searcher takes the study folder's newer state if any
    and is matched with the trials Ray restored (``FrontierSearcher.reconcile``), so that no
    finished seed runs again and no seed waits for a trial that is gone."""

    def __init__(self, searcher: FrontierSearcher) -> None:
        self.searcher = searcher
        self._matched = False

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if not self._matched:
            self._matched = True
            self.searcher.reconcile(trials)


def _frontier_tuner_configs(spec: TunerSpec, searcher: FrontierSearcher) -> tuple[tune.TuneConfig, tune.RunConfig]:
    import dataclasses

    # The grid's settings (actor reuse, trial folder names, --max-concurrent) with the frontier's
    # searcher and scheduler; num_samples -1: as many trials as the searcher proposes.
    tune_config = dataclasses.replace(_tune_config(dataclasses.replace(spec, search=None)), search_alg=searcher,
                                      scheduler=FrontierScheduler(searcher), num_samples=-1)
    run_config = _run_config(spec)
    run_config.callbacks = [*(run_config.callbacks or []), FrontierCallback(searcher)]
    return tune_config, run_config


def run_frontier(spec: TunerSpec, frontier_options: Any) -> Any:
    """Run the memory frontier of ``spec`` on Ray (``study.frontier``); returns Ray's ResultGrid.

    The cells are the combinations of ``spec.grid_axes``' values in ``spec.param_space`` (model
    always among them; ``length`` and ``seed`` are the search's), every other field shared:
    ``study.frontier.frontier_cells``. ``frontier_options``: a ``FrontierOptions``
    (``check_frontier_options``) or a dict of its arguments. The study folder gets
    ``frontier/state.json`` and ``frontier.csv`` as the search goes; ``study.frontier.write_frontier``
    adds the figure and prints the table."""
    from study.frontier import Frontier, FrontierOptions, check_frontier_options, frontier_cells

    options = (frontier_options if isinstance(frontier_options, FrontierOptions)
               else check_frontier_options(**dict(frontier_options)))
    base, cells = frontier_cells(spec.param_space, spec.grid_axes)
    frontier = Frontier(cells, rule=options.rule, start=options.start, max_length=options.max_length,
                        speculate=options.speculate, base=base)
    folder = Path(getattr(spec, "study_folder", None) or Path(spec.results_dir) / spec.name).resolve()
    searcher = FrontierSearcher(frontier, folder)
    tune_config, run_config = _frontier_tuner_configs(spec, searcher)
    return tune.Tuner(_trainable(spec), tune_config=tune_config, run_config=run_config).fit()


def restore_frontier(spec: TunerSpec) -> Any:
    """Continue an interrupted frontier (``--resume``): Ray restores the searcher with its state,
    finished probes are not run again, trials that were running continue from their checkpoints.
    Trials that ended in an error stay so (the frontier counted them as not solved)."""
    path = str((spec.results_dir / spec.name).resolve())
    tuner = tune.Tuner.restore(path, trainable=_trainable(spec), resume_unfinished=True, resume_errored=False)
    return tuner.fit()
