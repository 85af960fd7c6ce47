"""The watchers of a study: its Ray logger callbacks, one file each, and their registry.

    tensorboard.py   ``TensorBoardCallback`` (Ray's ``TBXLoggerCallback``): every study
    mlflow.py        ``MLflowCallback`` (Ray's ``LoggerCallback``): a study with --mlflow

``CALLBACKS``: functions ``(plan, study folder, study name) -> [callbacks]`` (none where the study
does not use that tool). A new tracking callback is a file beside these and its line below
(docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from study.engine.logger.mlflow import mlflow_callbacks
from study.engine.logger.tensorboard import tensorboard_callbacks

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec

CALLBACKS: list[Callable[[Any, Path, str], list[Any]]] = [
    tensorboard_callbacks,
    mlflow_callbacks,
]


def study_callbacks(spec: TunerSpec) -> list[Any]:
    """The watchers of a study (RunConfig's callbacks). They write to the study's folder and name,
    also when a study runs as several Ray experiments (one per search cell)."""
    folder = spec.study_folder.resolve()
    return [callback for make in CALLBACKS for callback in make(spec.plan, folder, spec.plan.name)]
