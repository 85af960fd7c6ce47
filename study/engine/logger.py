"""The study's Ray callbacks: the trackers every study runs (``TRACKERS``: TensorBoard's, and MLflow's
with --mlflow; docs/watching.md says what each records), and those a study's kind names (``CALLBACKS``).
A new tracker is a class and its line in ``TRACKERS`` (docs/extending.md)."""

from __future__ import annotations

import numbers
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune.logger import LoggerCallback, TBXLoggerCallback

from study.basics import tracking
from study.basics.store import study_store
from study.basics.text import value_text
from study.engine.search.frontier import frontier_callback
from study.results.checkpoints import CONFIG_FIELDS, saved_curve, trial_key
from study.results.trials import RECORDED, stopped_by

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec

# What evaluations put on record against the step ("step" too: a restarted trial goes back to its checkpoint).
WATCHED = [m for m in RECORDED if m != "stopped_early"] + ["wall_seconds"]


def scalars_of(result: dict[str, Any]) -> dict[str, float]:
    """The watched metrics of a result that are numbers (a bool as 0/1; None and NaN left out)."""
    return {k: float(v) for k in WATCHED if isinstance(v := result.get(k), numbers.Real) and v == v}


def run_name(config: dict[str, Any], swept: list[str] | None = None) -> str:
    """A trial's run name: model, length, seed and the swept values, e.g. ``LSTM_T10_s0_hidden=64_lr=0.003``."""
    parts = [f"{config.get('model')}_T{config.get('length')}_s{config.get('seed')}"]
    parts += [f"{k}={value_text(config.get(k), 6)}" for k in swept or [] if k not in ("model", "length", "seed")]
    return re.sub(r"[^A-Za-z0-9_.=+-]", "-", "_".join(parts))


def swept_names(trial: Any, fields: list[str] | None = None) -> list[str]:
    """``fields`` where the study names them (``run_fields``), else what Ray chose: a grid's axes, Optuna's."""
    return list(fields) if fields is not None else [k for k in getattr(trial, "evaluated_params", None) or {}
                                                    if "/" not in k]


def run_fields(plan: Any) -> list[str] | None:
    """The fields of a run name beside model, T and seed: the cell fields where the kind's searcher
    proposes whole configs (a frontier's: only those tell its trials apart); None: what Ray chose."""
    kind = getattr(plan, "kind_of", None)
    return list(plan.grid_axes or []) if kind is not None and not kind.tuner(plan).space else None


class Guarded:
    """A tracker must never stop a study: a failing write (a full disk, an MLflow server gone) prints
    one notice per kind of failure and the study goes on."""

    _warned: set[str]

    def _notice(self, what: str, exc: BaseException) -> None:
        warned = self.__dict__.setdefault("_warned", set())
        if what not in warned:
            warned.add(what)
            why = (str(exc).splitlines() or [""])[0][:200]
            print(f"palrnn: {what} failed ({type(exc).__name__}: {why}); the study goes on without it")


class TensorBoardCallback(TBXLoggerCallback, Guarded):
    """Every trial's metrics in ``<study folder>/tensorboard/<run name>/`` against the training step. A
    TBXLoggerCallback so that Ray adds not its own (against Ray's report count); not Ray's ``__init__``, which
    fails without tensorboardX (then it says so once)."""

    _SAVED_FILE_TEMPLATES: list[str] = []  # nothing of ours lives in the trial folders

    def __init__(self, study_folder: str | Path, swept: list[str] | None = None) -> None:
        self.logdir = str(Path(study_folder) / tracking.TENSORBOARD)
        self.swept = None if swept is None else list(swept)  # the fields in a run name (None: Ray's)
        self._reset()

    def _reset(self) -> None:
        self._writers, self._names, self._writer_cls = {}, {}, None  # by trial id; tensorboardX's writer

    def relocate(self, study_folder: Path) -> None:
        self.logdir = str(study_folder / tracking.TENSORBOARD)

    def __getstate__(self) -> dict[str, Any]:  # Ray pickles its run config, callbacks included
        return {"logdir": self.logdir, "swept": self.swept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"swept": None, **state})
        self._reset()

    def setup(self, *args: Any, **kwargs: Any) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            print(f"palrnn: no TensorBoard curves: {tracking.missing('tensorboardX')}")
            return
        self._writer_cls = SummaryWriter

    def run_name(self, trial: Any) -> str:
        if trial.trial_id not in self._names:
            name = run_name(trial.config, swept_names(trial, self.swept))
            if name in self._names.values():  # two trials of one configuration (a search can propose it twice)
                name += f"_{trial.trial_id}"
            self._names[trial.trial_id] = name
        return self._names[trial.trial_id]

    def log_trial_start(self, trial: Any) -> None:
        pass  # the writer is made with the first result: a trial that never reports leaves no run

    def log_trial_result(self, iteration: int, trial: Any, result: dict[str, Any]) -> None:
        if result.get("step") is None or self._writer_cls is None:
            return
        try:
            if trial.trial_id not in self._writers:
                self._writers[trial.trial_id] = self._writer_cls(
                    logdir=os.path.join(self.logdir, self.run_name(trial)), flush_secs=30)
            writer = self._writers[trial.trial_id]
            for key, value in scalars_of(result).items():
                writer.add_scalar(f"palrnn/{key}", value, global_step=int(result["step"]))
            writer.flush()
        except Exception as exc:
            self._notice("TensorBoard logging", exc)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        if (writer := self._writers.pop(trial.trial_id, None)) is None:
            return
        try:
            from tensorboardX.summary import hparams
            swept = ["model", "length", "seed",
                     *[k for k in swept_names(trial, self.swept) if k not in ("model", "length", "seed")]]
            params = {k: v if isinstance(v := trial.config.get(k), str | bool | int | float) else value_text(v, 6)
                      for k in swept}
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


class MLflowCallback(LoggerCallback, Guarded):
    """Every trial an MLflow run nested under the study's. Not Ray's MLflowLoggerCallback (Ray's report
    count, no nesting, a second run after ``--resume``): a trial's run is found by its ``trial_key``."""

    def __init__(self, uri: str, study_folder: str | Path, name: str, fixed: dict[str, Any] | None = None,
                 kind: str = "grid", swept: list[str] | None = None, storage: str | None = None) -> None:
        self.uri, self.folder, self.name = uri, str(Path(study_folder).resolve()), name
        self.fixed, self.kind = dict(fixed or {}), kind
        self.swept = None if swept is None else list(swept)  # the fields in a run name (None: Ray's)
        self.storage = storage  # --storage, where the trials' checkpoints are; None: the study folder
        self._reset()

    def relocate(self, study_folder: Path) -> None:
        """Log from ``study_folder``; a study's own SQLite store is the one in that folder."""
        if self.uri == tracking.default_mlflow_uri(self.folder):
            self.uri = tracking.default_mlflow_uri(study_folder)
        self.folder = str(study_folder)

    def _reset(self) -> None:
        self._client = self._exp_id = self._parent = None  # MLflow's client, experiment, the study's run
        self._runs, self._ended = {}, set()  # Ray trial id -> MLflow run id; trials whose runs ended

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("uri", "folder", "name", "fixed", "kind", "swept", "storage")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"swept": None, "storage": None, **state})
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
            self._parent = self._client.create_run(self._exp_id, run_name=self.name, tags=tags).info.run_id
            self._params(self._parent, self.fixed)
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        # Once: a server gone away would make every later call, and Ray's driver, wait through MLflow's retries.
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
            name = run_name(trial.config, swept_names(trial, self.swept))
            run_id = self._client.create_run(self._exp_id, run_name=name, tags=tags).info.run_id
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
            if (run_id := self._run(trial)) is not None:
                now, step = int(time.time() * 1000), int(result["step"])
                metrics = [Metric(k, v, now, step) for k, v in scalars_of(result).items()]
                self._client.log_batch(run_id, metrics=metrics)
        except Exception as exc:
            self._give_up(exc)

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        try:
            from mlflow.entities import Metric, RunTag
            if (run_id := self._run(trial)) is None:
                return
            last = trial.last_result or {}
            status = "ERROR" if failed else "TERMINATED"
            row = {"status": status, **{k: last.get(k) for k in RECORDED}, "steps": trial.config.get("steps")}
            tags = [RunTag("stopped_by", stopped_by(row)), RunTag("ray_status", status)]
            # The best of the whole curve: the checkpoint holds it all, also what was logged before a driver restart.
            curve = saved_curve(study_store(self.storage, self.folder), trial.config, trial.trial_id) or []
            best = [r["eval_accuracy"] for r in curve if r.get("eval_accuracy") is not None]
            metrics = [Metric("best_eval_accuracy", float(max(best)), int(time.time() * 1000), int(last["step"]))
                       ] if best and last.get("step") is not None else []
            self._client.log_batch(run_id, metrics=metrics, tags=tags)
            self._client.set_terminated(run_id, "FAILED" if failed else "FINISHED")
            self._ended.add(trial.trial_id)
        except Exception as exc:
            self._give_up(exc)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        """Unfinished trials' runs end KILLED, and the study's run KILLED, FAILED (a failed trial) or FINISHED."""
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


def tensorboard_callbacks(plan: Any, folder: str | Path, name: str) -> list[Any]:
    return [TensorBoardCallback(folder, swept=run_fields(plan))]


def mlflow_callbacks(plan: Any, folder: str | Path, name: str) -> list[Any]:
    """``plan``'s ``mlflow`` (or none); its fixed settings become the study run's params."""
    if not plan.mlflow:
        return []
    search = plan.search
    swept = set(plan.grid_axes or []) | set(search.settings.space if search is not None else {})
    # The study's settings, not a search cell's: a search over several cells has lists for model and length.
    fixed = {k: v for k, v in plan.param_space.items() if k not in swept and not isinstance(v, list)}
    return [MLflowCallback(plan.mlflow, folder, name, fixed=fixed, kind=getattr(plan, "kind", None) or "grid",
                           swept=run_fields(plan), storage=getattr(plan, "storage", None))]


# (plan, study folder, study name) -> the callbacks (none where the study does not use that tool).
TRACKERS: list[Callable[[Any, Path, str], list[Any]]] = [tensorboard_callbacks, mlflow_callbacks]
# A name a study's kind gives its Tuners' other callbacks (``Kind.tuner``) -> what builds it from a TunerSpec.
CALLBACKS: dict[str, Callable[[Any], Any]] = {"frontier": frontier_callback}


def study_callbacks(spec: TunerSpec) -> list[Any]:
    """The trackers, on the study's folder and name (also where each search cell is a Ray experiment)."""
    folder = spec.study_folder.resolve()
    return [c for make in TRACKERS for c in make(spec.plan, folder, spec.plan.name)]
