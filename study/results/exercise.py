"""A study beside the exercise's reported numbers: where they apply, the accuracy-vs-length table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from study.basics.stats import METHOD
from study.basics.text import value_text
from study.results.summary import (
    FORGET_GATE_MODELS,
    SUMMARY_STATS,
    axis_key,
    distinct_values,
    is_missing,
)
from study.spec.fields import EXERCISE

# The exercise's reported results (docs/exercise.md): training-batch accuracy at step 10,000, one run each.
EXERCISE_RESULTS: dict[str, dict[int, float]] = {
    "RNN": {5: 1.00, 6: 0.99, 7: 0.98, 8: 0.60, 9: 0.35, 10: 0.34},
    "LSTM": {5: 1.00, 6: 1.00, 7: 1.00, 8: 1.00, 9: 1.00, 10: 1.00},
}
# The exercise's training settings (docs/exercise.md): its numbers above are for runs with these.
# A row of a study is comparable with them when none of these differs (``exercise_applies``).
EXERCISE_SETTINGS: dict[str, Any] = {**EXERCISE, "input": "scalar", "forget_bias": 0.0}
CI_COLUMN = f"held out, mean [95% CI, {METHOD}]"


def study_settings(meta: Mapping[str, Any], trials: pd.DataFrame | None = None) -> dict[str, Any]:
    """The config fields the study held at one value (param_space's, else trials.csv's); None: max_norm none."""
    space = meta.get("param_space")
    held = {f: v[0] if isinstance(v, list) else v for f, v in (space.items() if isinstance(space, Mapping) else [])
            if not isinstance(v, list) or len(v) == 1}
    out = {f: None if is_missing(v) else v for f, v in held.items()}
    if trials is not None and not trials.empty:
        for field in [f for f in EXERCISE_SETTINGS if f not in out]:
            values = distinct_values(trials, field)
            if len(values) == 1:
                out[field] = None if is_missing(values[0]) else values[0]
    return out


def exercise_applies(summary: pd.DataFrame, settings: Mapping[str, Any] | None = None) -> pd.Series:
    """Per summary row: are its model, T and each setting known for it (its column, or ``settings``) the exercise's?"""
    settings = settings or {}
    ok = []
    for r in summary.to_dict("records"):
        model = r.get("model")
        known = {**settings, **r}
        ok.append(not math.isnan(_exercise(model, r.get("length"))) and all(
            axis_key(known[field]) == axis_key(wanted) for field, wanted in EXERCISE_SETTINGS.items()
            if field in known and (field != "forget_bias" or str(model) in FORGET_GATE_MODELS)))
    return pd.Series(ok, index=summary.index, dtype=bool)


def exercise_points(summary: pd.DataFrame, settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The summary's rows the exercise's numbers apply to: their group columns and ``exercise``."""
    groups = [c for c in summary.columns if c not in SUMMARY_STATS]
    if summary.empty:
        return pd.DataFrame(columns=[*groups, "exercise"])
    rows = summary[exercise_applies(summary, settings)]
    return rows[groups].assign(exercise=[_exercise(m, t) for m, t in zip(rows["model"], rows["length"],
                                                                         strict=True)]).reset_index(drop=True)


def single_length(summary: pd.DataFrame) -> int | None:
    """The one palindrome length T of a study that swept none, else None."""
    lengths = distinct_values(summary, "length")
    return int(lengths[0]) if len(lengths) == 1 and not is_missing(lengths[0]) else None


def accuracy_vs_length(summary: pd.DataFrame, settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per group: "mean [low, high]", "k/n" solved, the last training-batch accuracy, the exercise's if it applies."""
    if summary.empty:
        return pd.DataFrame(columns=[CI_COLUMN, "solved", "final train", "exercise"])
    one_length = single_length(summary) is not None
    groups = [c for c in summary.columns if c not in SUMMARY_STATS and not (one_length and c == "length")]
    applies = exercise_applies(summary, settings).to_numpy()
    out = pd.DataFrame({
        CI_COLUMN: [_ci_text(r) for r in summary.itertuples(index=False)],
        "solved": [f"{int(s)}/{int(n)}" for s, n in zip(summary["solved"], summary["seeds"], strict=True)],
        "final train": pd.to_numeric(summary["train_accuracy_final"], errors="coerce").to_numpy(dtype=float),
    })
    if applies.any():
        out["exercise"] = [_exercise(m, t) if a else math.nan
                           for m, t, a in zip(summary["model"], summary["length"], applies, strict=True)]
    index = summary[groups].rename(columns={"length": "T"})
    index = index.assign(**{c: [value_text(v, 6) for v in index[c]] for c in index if c not in ("model", "T")})
    out.index = pd.MultiIndex.from_frame(index) if len(groups) > 1 else pd.Index(index.iloc[:, 0])
    return out


def steps_to_target_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Median steps to the target over the solved seeds (NaN: none): rows model (x other axes), columns T."""
    groups = [c for c in summary.columns if c not in SUMMARY_STATS]
    rows = [c for c in groups if c != "length"]
    if summary.empty:
        return pd.DataFrame()
    df = summary[[*groups, "steps_to_target_median"]]
    df = df.assign(**{c: [value_text(v, 6) for v in df[c]] for c in rows if c != "model"})
    # pivot would sort the models alphabetically: keep the summary's order of rows instead.
    keys = list(dict.fromkeys(df[rows].itertuples(index=False, name=None)))
    wide = df.pivot_table(index=rows, columns="length", values="steps_to_target_median", aggfunc="first",
                          dropna=False, sort=False)
    wide = wide.reindex(pd.MultiIndex.from_tuples(keys, names=rows) if len(rows) > 1 else [k[0] for k in keys])
    wide.columns = pd.Index([int(t) for t in wide.columns], name="T")
    return wide[sorted(wide.columns)]


def _ci_text(row: Any) -> str:
    mean, low, high = row.eval_accuracy_mean, row.eval_accuracy_low, row.eval_accuracy_high
    if not np.isfinite(mean):
        return "-"
    return f"{mean:.3f}" + (f" [{low:.3f}, {high:.3f}]" if np.isfinite(low) and np.isfinite(high) else "")


def _exercise(model: Any, length: Any) -> float:
    try:
        return float(EXERCISE_RESULTS.get(str(model), {}).get(int(length), math.nan))
    except (TypeError, ValueError):
        return math.nan


def format_accuracy_table(table: pd.DataFrame) -> str:
    """The accuracy-vs-length table as ``python -m study.report`` prints it (80 columns)."""
    return table.to_string(float_format=lambda v: f"{v:.2f}", na_rep="-")
