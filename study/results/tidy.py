"""A study's tables as ``study.load_study`` gives them: the same columns and dtypes for every kind
of study (grid, search, frontier) and for folders written by older versions, so that a notebook's
pandas code runs on any of them.

trials (one row per trial):
    trial_id          string
    <config fields>   palrnn.config.field_names(), in that order; a field an older study did not
                      have yet (forget_bias) is its default then and now (Config's)
      model, input, init, optimizer, backend, device     category
      length, hidden, batch_size, steps, eval_every, eval_size, patience, seed   Int64
      forget_bias, lr, momentum, max_norm (NaN: no clipping), eval_fraction, target,
      diverge_loss                                        float64
    step, steps_to_target (missing: never reached the target), restarts,
      params (the model's parameter count; missing in studies made before it)    Int64
    train_loss, train_accuracy, eval_loss, eval_accuracy, best_eval_accuracy (missing in
      older studies), examples_per_second, grad_norm, grad_norm_max, mean_train_accuracy,
      wall_seconds                                                             float64
    diverged, stopped_early, restarted_from_scratch                            boolean
    status (TERMINATED, ERROR, ...), stopped_by (steps, target, diverged,
      scheduler, error, unfinished), node                                      category
    error                                                                      string
    Population Based Training adds member, exploits (Int64) and lineage (string), and its
      config columns are the values a trial ended with

curves (one row per trial per evaluation): trial_id, the config fields, then the recorded metrics,
with the dtypes above; under PBT lr and max_norm as each evaluation trained with, and
exploited_from (Int64: the member whose weights the trial went on from since the record before).

summary (one row per cell; see study.results.summary.summary_table): the group columns (model
category, length Int64, any swept field), seeds, solved, held, diverged, stopped_early, errored,
unfinished, cut as Int64, the rest float64.

Internally the report works on the tables as read (``study.results.folder.read_study_folder``);
these dtypes are for users.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from palrnn.config import Config, field_names

CATEGORIES = ("model", "input", "init", "optimizer", "backend", "device", "status", "stopped_by", "node")
INTEGERS = ("length", "hidden", "batch_size", "steps", "eval_every", "eval_size", "patience", "seed", "step",
            "steps_to_target", "restarts", "params", "member", "exploits", "exploited_from")  # the last three: PBT's
FLOATS = ("forget_bias", "lr", "momentum", "max_norm", "eval_fraction", "target", "diverge_loss", "train_loss",
          "train_accuracy", "eval_loss", "eval_accuracy", "best_eval_accuracy", "examples_per_second", "grad_norm",
          "grad_norm_max", "mean_train_accuracy", "wall_seconds")
BOOLEANS = ("diverged", "stopped_early", "restarted_from_scratch")
METRICS = ("step", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy", "best_eval_accuracy",
           "examples_per_second", "grad_norm", "grad_norm_max", "mean_train_accuracy", "diverged",
           "steps_to_target", "stopped_early")
TRIAL_END = ("status", "stopped_by", "node", "restarts", "restarted_from_scratch", "wall_seconds", "params",
             "error")
SUMMARY_COUNTS = ("seeds", "solved", "held", "diverged", "stopped_early", "errored", "unfinished", "cut")


def tidy_tables(data: dict[str, Any]) -> dict[str, Any]:
    """``read_study_folder``'s tables with the columns and dtypes of the module docstring."""
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
        elif name in ("trial_id", "error", "lineage"):
            df[name] = df[name].astype("string")
    return df


def _integers(col: pd.Series) -> pd.Series:
    """Whole numbers as Int64, missing values as <NA> (steps_to_target is written 1500.0)."""
    return pd.to_numeric(col, errors="coerce").round().astype("Int64")


def _booleans(col: pd.Series) -> pd.Series:
    text = col.astype("string").str.strip().str.lower()
    return text.map({"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}).astype("boolean")
