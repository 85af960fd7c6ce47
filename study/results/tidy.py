"""A study's tables as ``study.load_study`` gives them: the same columns and dtypes for every kind
of study (grid, search, frontier) and for folders written by older versions, so that a notebook's
pandas code runs on any of them.

The columns, their dtypes and meanings are the data dictionary, ``study.results.columns``
(docs/data.md is made from it): trials and curves get its dtypes; summary its counts as Int64.

Internally the report works on the tables as read (``study.results.folder.read_study_folder``);
these dtypes are for users.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from palrnn.config import Config, field_names
from study.results.columns import BOOLEANS, CATEGORIES, FLOATS, INTEGERS, STRINGS

METRICS = ("step", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy", "best_eval_accuracy",
           "examples_per_second", "grad_norm", "grad_norm_max", "mean_train_accuracy", "diverged",
           "steps_to_target", "stopped_early")
TRIAL_END = ("status", "stopped_by", "node", "restarts", "restarted_from_scratch", "wall_seconds", "params",
             "error")
SUMMARY_COUNTS = ("seeds", "solved", "held", "diverged", "stopped_early", "errored", "unfinished", "cut")


def tidy_tables(data: dict[str, Any]) -> dict[str, Any]:
    """``read_study_folder``'s tables with the columns and dtypes of ``study.results.columns``."""
    out = dict(data)
    out["trials"] = tidy_runs(data["trials"], [*field_names(), *METRICS, *TRIAL_END])
    out["curves"] = tidy_runs(data["curves"], [*field_names(), *METRICS]) if len(data["curves"].columns) else \
        data["curves"]
    out["summary"] = tidy_summary(data["summary"])
    return out


def tidy_runs(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """trials or curves: trial_id, ``columns`` in order (missing ones added), then any other
    column the table has (a user's own), each with its dtype."""
    df = table.copy()
    defaults = Config()
    for name in columns:
        if name not in df:
            df[name] = getattr(defaults, name) if name in field_names() else pd.NA
    order = ["trial_id", *columns]
    df = df[[c for c in order if c in df] + [c for c in df.columns if c not in order]]
    return _typed(df)


def tidy_summary(summary: pd.DataFrame) -> pd.DataFrame:
    df = _typed(summary.copy())
    for name in SUMMARY_COUNTS:  # after _typed: diverged and stopped_early are counts here, not flags
        if name in df:
            df[name] = _integers(summary[name])
    return df


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for name in df.columns:
        if name in CATEGORIES:
            df[name] = df[name].astype("string").astype("category")
        elif name in INTEGERS:
            df[name] = _integers(df[name])
        elif name in FLOATS:
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
        elif name in BOOLEANS:
            df[name] = _booleans(df[name])
        elif name in STRINGS:
            df[name] = df[name].astype("string")
    return df


def _integers(col: pd.Series) -> pd.Series:
    """Whole numbers as Int64, missing values as <NA> (steps_to_target is written 1500.0)."""
    return pd.to_numeric(col, errors="coerce").round().astype("Int64")


def _booleans(col: pd.Series) -> pd.Series:
    text = col.astype("string").str.strip().str.lower()
    return text.map({"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}).astype("boolean")
