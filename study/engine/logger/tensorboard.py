"""TensorBoard's logger callback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ray.tune.logger import TBXLoggerCallback

from study.basics import tracking
from study.engine.logger.common import Guarded, hparam_value, run_fields, run_name, scalars_of, swept_names


class TensorBoardCallback(TBXLoggerCallback, Guarded):
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

    def relocate(self, study_folder: Path) -> None:
        """Write to ``study_folder`` (a study resumed from another one: ``tuner.relocate``)."""
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
            for key, value in scalars_of(result).items():
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
                     *[k for k in swept_names(trial, self.swept) if k not in ("model", "length", "seed")]]
            params = {k: hparam_value(trial.config.get(k)) for k in swept}
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


def tensorboard_callbacks(plan: Any, folder: str | Path, name: str) -> list[Any]:
    """Every study's TensorBoard runs (its folder's tensorboard/), named by what the study varies."""
    return [TensorBoardCallback(folder, swept=run_fields(plan))]
