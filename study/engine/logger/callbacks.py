"""The watchers of a study: its Ray callbacks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from study.engine.logger.common import _run_fields
from study.engine.logger.mlflow import mlflow_callbacks
from study.engine.logger.tensorboard import TensorBoardCallback

if TYPE_CHECKING:
    from study.engine.tuner import TunerSpec


os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


def study_callbacks(spec: TunerSpec) -> list[Any]:
    """The watchers of a study (RunConfig's callbacks): TensorBoard always, MLflow when the spec
    has a tracking URI (``spec.mlflow``). They write to the study's folder and name, also when a
    study runs as several Ray experiments (one per search cell)."""
    study_folder = getattr(spec, "study_folder", None)
    folder = Path(study_folder if study_folder is not None else spec.results_dir / spec.name).resolve()
    name = getattr(getattr(spec, "plan", None), "name", None) or spec.name
    return [TensorBoardCallback(folder, swept=_run_fields(spec)), *mlflow_callbacks(spec, folder, name)]
