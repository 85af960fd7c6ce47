"""Watching a study from outside (docs/watching.md): the commands that open it in TensorBoard, optuna-dashboard
and MLflow, and the MLflow helpers the driver needs; mlflow is imported only when a study uses it. The Ray
callbacks that write their records are ``study.engine.logger``'s."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path
from typing import Any

from study.basics.errors import StudyError as Refused  # the refusal study.run prints as one line
from study.basics.layout import FIGURES, MLFLOW_ARTIFACTS, MLFLOW_DB, OPTUNA_JOURNAL, REPORT_FILES, TENSORBOARD

MLFLOW_EXPERIMENT = "palrnn"  # every study is a parent run in this experiment; its trials are its children
STUDY_TAG = "palrnn.study"  # tags of the parent run: the study's name and its folder
FOLDER_TAG = "palrnn.folder"
ROLE_TAG = "palrnn.role"  # "study" (the parent run) or "trial"
PARENT_TAG = "palrnn.parent"  # a trial's run: its study's run id (also mlflow.parentRunId)
KEY_TAG = "palrnn.trial_key"  # a trial's run: trial_key(config), the same across restarts and --resume


# The optional dependencies of watching a study, and what installs each (docs/watching.md).
INSTALL = {
    "tensorboard": 'pip install -e ".[viz]"',
    "optuna_dashboard": 'pip install -e ".[viz]"',
    "mlflow": 'pip install -e ".[mlflow]"',
    "tensorboardX": "pip install tensorboardX",  # ray[tune] brings it
}


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def missing(module: str) -> str:
    """The one message for an optional dependency that is not installed: what to install."""
    return f"{module} is not installed; {INSTALL[module]}"


def tensorboard_hint(folder: str | Path) -> str:
    return f"tensorboard --logdir {shlex.quote(str(Path(folder) / TENSORBOARD))}"


def optuna_dashboard_hint(folder: str | Path) -> str:
    """optuna-dashboard takes a journal file's path as its storage (it tells it from SQLite by its header)."""
    return f"optuna-dashboard {shlex.quote(str(Path(folder) / OPTUNA_JOURNAL))}"


def mlflow_hint(uri: str) -> str:
    return uri if uri.startswith(("http://", "https://")) else f"mlflow ui --backend-store-uri {shlex.quote(uri)}"


def watch_lines(folder: str | Path, search: bool = False, mlflow: str | None = None) -> list[str]:
    """How to watch a study in each tool that applies (and what to install), printed at its start."""
    lines = [f"TensorBoard: {tensorboard_hint(folder)}"
             + ("" if installed("tensorboard") else f"  ({INSTALL['tensorboard']})")]
    if search:
        lines.append(f"Optuna dashboard: {optuna_dashboard_hint(folder)}"
                     + ("" if installed("optuna_dashboard") else f"  ({INSTALL['optuna_dashboard']})"))
    if mlflow:
        lines.append(f"MLflow: {mlflow_hint(mlflow)}")
    return lines


def default_mlflow_uri(folder: str | Path) -> str:
    """A SQLite store in the study folder (MLflow 3's own default; its file store is the legacy one): a study's
    tracking works offline and travels with it."""
    return f"sqlite:///{(Path(folder) / MLFLOW_DB).resolve()}"


def mlflow_uri(value: str | None, folder: str | Path) -> str | None:
    """``--mlflow [TRACKING_URI]`` -> the URI a study logs to: ``""``, the study folder's SQLite store; a URI as
    given; a path, made absolute (``--resume`` from elsewhere finds it). StudyError without mlflow."""
    if value is None:
        return None
    if not installed("mlflow"):
        raise Refused(f"--mlflow: {missing('mlflow')}")
    value = value.strip()
    if not value:
        return default_mlflow_uri(folder)
    if "://" in value or value.startswith("databricks"):
        return value
    return str(Path(value).expanduser().resolve())


def artifact_location(uri: str) -> str | None:
    """A new experiment's artifacts: beside a SQLite store (MLflow would use ``./mlruns`` wherever the study runs
    from); elsewhere the store's own default."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri[len("sqlite:///"):]).resolve().parent / MLFLOW_ARTIFACTS).as_uri()


def mlflow_client(uri: str) -> Any:
    import logging

    from mlflow import MlflowClient

    # A new SQLite store is made by alembic migrations, each of which logs a line at INFO.
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking._tracking_service.client"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


def experiment_id(client: Any, uri: str, create: bool = True) -> str | None:
    exp = client.get_experiment_by_name(MLFLOW_EXPERIMENT)
    if exp is not None or not create:
        return None if exp is None else exp.experiment_id
    return client.create_experiment(MLFLOW_EXPERIMENT, artifact_location=artifact_location(uri))


def _literal(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def find_study_run(client: Any, exp_id: str, name: str, folder: str | Path) -> Any | None:
    """The study's parent run in the experiment (the latest, if a store holds several), or None."""
    return _latest(client, exp_id, f"tags.`{ROLE_TAG}` = 'study' and tags.`{STUDY_TAG}` = {_literal(name)} "
                                   f"and tags.`{FOLDER_TAG}` = {_literal(Path(folder).resolve())}")


def find_trial_run(client: Any, exp_id: str, parent_id: str, key: str) -> Any | None:
    return _latest(client, exp_id, f"tags.`{PARENT_TAG}` = {_literal(parent_id)} and tags.`{KEY_TAG}` = "
                                   f"{_literal(key)}")


def _latest(client: Any, exp_id: str, flt: str) -> Any | None:
    runs = client.search_runs([exp_id], filter_string=flt, max_results=1, order_by=["attributes.start_time DESC"])
    return runs[0] if runs else None


def log_study_figures(uri: str | None, folder: str | Path, name: str) -> str | None:
    """Attach the study's figures (``figures/*``) and report files (report.html, trials.csv, ...)
    to its MLflow parent run; call it once the report is written. Returns the parent run's id, or
    None (no MLflow, or no run of this study in the store: a notice says which)."""
    if not uri:
        return None
    if not installed("mlflow"):
        print(f"palrnn: the figures are not logged: {missing('mlflow')}")
        return None
    folder = Path(folder)
    client = mlflow_client(uri)
    exp_id = experiment_id(client, uri, create=False)
    run = find_study_run(client, exp_id, name, folder) if exp_id is not None else None
    if run is None:
        print(f"palrnn: no MLflow run of study {name} in {uri}; the figures are not logged")
        return None
    run_id = run.info.run_id
    if (folder / FIGURES).is_dir():
        client.log_artifacts(run_id, str(folder / FIGURES), FIGURES)
    for file in REPORT_FILES:
        if (folder / file).is_file():
            client.log_artifact(run_id, str(folder / file))
    return run_id
