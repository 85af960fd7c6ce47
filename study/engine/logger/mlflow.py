"""MLflow's logger callback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ray.tune.logger import LoggerCallback

from study.basics import tracking
from study.basics.store import study_store
from study.engine.logger.common import Guarded, run_fields, run_name, scalars_of, swept_names
from study.results.checkpoints import CONFIG_FIELDS, saved_curve, trial_key
from study.results.trials import RECORDED, stopped_by


class MLflowCallback(LoggerCallback, Guarded):
    """Every trial an MLflow run, nested under the study's run (experiment ``palrnn``): its config
    as params, its metrics at every evaluation at the training step, at its end
    ``best_eval_accuracy`` and the tags ``stopped_by`` and ``ray_status``.

    Not Ray's MLflowLoggerCallback: that one logs at Ray's report count, cannot nest trials under a
    parent run, and starts a second run for a trial continued by ``--resume``. Here a trial's run is
    found again by its ``trial_key`` (as its checkpoint is), and the study's run by its name and
    folder, so a resumed study continues its runs."""

    def __init__(self, uri: str, study_folder: str | Path, name: str, fixed: dict[str, Any] | None = None,
                 kind: str = "grid", swept: list[str] | None = None, storage: str | None = None) -> None:
        self.uri, self.folder, self.name = uri, str(Path(study_folder).resolve()), name
        self.fixed, self.kind = dict(fixed or {}), kind
        self.swept = None if swept is None else list(swept)  # the fields in a trial's run name (None: Ray's)
        self.storage = storage  # --storage, where the trials' checkpoints are; None: the study folder
        self._reset()

    def relocate(self, study_folder: Path) -> None:
        """Log from ``study_folder`` (a study resumed from another one: ``tuner.relocate``); a
        study's own SQLite store is the one in that folder."""
        if self.uri == tracking.default_mlflow_uri(self.folder):
            self.uri = tracking.default_mlflow_uri(study_folder)
        self.folder = str(study_folder)

    def _reset(self) -> None:
        self._client: Any = None
        self._exp_id: str | None = None
        self._parent: str | None = None
        self._runs: dict[str, str] = {}  # Ray trial id -> MLflow run id
        self._ended: set[str] = set()

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

            run_id = self._run(trial)
            if run_id is None:
                return
            now, step = int(time.time() * 1000), int(result["step"])
            metrics = [Metric(k, v, now, step) for k, v in scalars_of(result).items()]
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
            row = {"status": status, **{k: last.get(k) for k in RECORDED}, "steps": trial.config.get("steps")}
            tags = [RunTag("stopped_by", stopped_by(row)), RunTag("ray_status", status)]
            # The best evaluation of the whole curve: the checkpoint holds it all, also the part
            # logged before a restart of the driver.
            curve = saved_curve(study_store(self.storage, self.folder), trial.config, trial.trial_id) or []
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


def mlflow_callbacks(plan: Any, folder: str | Path, name: str) -> list[Any]:
    """The callbacks that log a study to MLflow: ``plan`` is its StudyPlan (its ``mlflow``, the
    tracking URI, or none; its fixed settings become the study run's params), or a tracking URI."""
    if isinstance(plan, str):
        return [MLflowCallback(plan, folder, name)]
    if not plan.mlflow:
        return []
    search = plan.search
    kind = getattr(plan, "kind", None) or "grid"
    swept = set(plan.grid_axes or []) | set(search.settings.space if search is not None else {})
    # The study's settings, not a search cell's: a search over several cells has lists for model and length.
    fixed = {k: v for k, v in plan.param_space.items() if k not in swept and not isinstance(v, list)}
    return [MLflowCallback(plan.mlflow, folder, name, fixed=fixed, kind=kind, swept=run_fields(plan),
                           storage=getattr(plan, "storage", None))]
