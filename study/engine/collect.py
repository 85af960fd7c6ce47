"""Ray's results as the study's tables: ``collect`` makes trials.csv and curves.csv from a Tuner's
ResultGrid, each trial's curve from its own checkpoint (``study.results.checkpoints``), where it
has one, so that no evaluation is lost or counted twice however the trial or the driver stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.store import Store
from study.results.checkpoints import saved_curve
from study.results.trials import trial_tables


def collect(results: Any, config_columns: list[str], study_folder: str | Path | Store | None = None,
            scheduled: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ray's ResultGrid -> (trials, curves). A trial's curve comes from its own checkpoint (every record up
    to its last step), else from Ray's log of its results, which a driver killed outright leaves incomplete."""
    entries = []
    held = {t.trial_id: t for t in ray_trials(results)}
    for result in results:
        last = result.metrics or {}
        trial_id = Path(result.path).name.removeprefix("trial_")
        trial = held.get(trial_id)
        # A trial that never reported to Ray has no config in its result, but may have a
        # checkpoint (it ran in finish_short's Tuner): Ray's Trial has its config.
        config = result.config or dict(getattr(trial, "config", None) or {})
        saved = saved_curve(study_folder, config, trial_id) if study_folder is not None and config else None
        if saved:
            df = pd.DataFrame(saved)
            if int(df["step"].max()) >= int(last.get("step") or 0):
                last = {**last, **saved[-1]}
        else:
            df = result.metrics_dataframe
        if "step" not in last and result.error is None:
            continue  # never started (an interrupted study): nothing to tabulate yet
        error = None if result.error is None else str(result.error).strip().splitlines()[-1][:200]
        entries.append((trial_id, config, last, df, getattr(trial, "status", "TERMINATED"), error))
    return trial_tables(entries, config_columns, scheduled)


def ray_trials(results: Any) -> list[Any]:
    """Ray's Trial objects of a ResultGrid (their status: TERMINATED, ERROR, or PENDING/RUNNING/
    PAUSED when the study was interrupted; their config even before a first result), which
    ResultGrid keeps only on its analysis object."""
    analysis = getattr(results, "_experiment_analysis", None)
    return list(getattr(analysis, "trials", None) or [])
