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
from dataclasses import dataclass, field
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
    """What run.py decides and this module turns into Ray objects."""

    name: str
    results_dir: Path
    param_space: dict[str, Any]  # config field -> value, or a list of values to grid over
    grid_axes: list[str] = field(default_factory=list)  # the keys of param_space that are swept
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    checkpoint_every: int = 1000
    max_failures: int = 2
    max_concurrent: int = 0  # 0: as many as the resources allow
    search: dict[str, Any] | None = None  # optuna: {"space", "seed", "num_samples", "storage", "max_t", ...}
    verbose: int = 1


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
    folder = str((spec.results_dir / spec.name).resolve())
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
    from ray.tune.search.optuna import OptunaSearch

    s = spec.search
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(s["storage"])))
    searcher = OptunaSearch(
        space=s["space"], metric="eval_accuracy", mode="max", sampler=optuna.samplers.TPESampler(seed=s["seed"]),
        study_name="palrnn", storage=storage,
    )
    searcher = ConcurrencyLimiter(searcher, max_concurrent=s["max_concurrent"])
    # ASHA counts training steps, not reports: a trial resumed from its checkpoint reports its
    # steps on from there, while Ray's training_iteration would start again at 1.
    every = int(spec.param_space.get("eval_every", 1))
    scheduler = ASHAScheduler(time_attr="step", metric="eval_accuracy", mode="max",
                              max_t=s["max_t"] * every, grace_period=s["grace_period"] * every, reduction_factor=3)
    kw.pop("max_concurrent_trials", None)
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


def collect(results: Any, config_columns: list[str], study_folder: str | Path | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    return _tables(entries, config_columns)


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
            config_columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
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
        row["stopped_by"] = _stopped_by(row)
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


def _stopped_by(row: dict[str, Any]) -> str:
    """Why a trial ended: error, diverged, target (early stop), steps (all of them), scheduler
    (cut by ASHA), or unfinished (the study was interrupted; --resume continues it).

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
    return "scheduler" if row["status"] == "TERMINATED" else "unfinished"
