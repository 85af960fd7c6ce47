"""The summary, the curve bands, the parity table; how rows are grouped, sorted and averaged: docs/data.md."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from palrnn.data import eval_count
from study.basics.stats import accuracy_interval, contrast_interval, wilson_interval

FORGET_GATE_MODELS = ("LSTM",)  # forget_bias is ignored by the others
# Config fields that are never a summary axis: seed is averaged over, length is always a group.
NOT_AXES = ("model", "length", "seed")
MODEL_ORDER = ["RNN", "LSTM", "GRU"]  # the exercise's two, then the GRU; other models follow alphabetically
SUMMARY_STATS = ["seeds", "eval_accuracy_mean", "eval_accuracy_low", "eval_accuracy_high", "solved",
                 "solved_low", "solved_high", "held", "steps_to_target_median", "diverged", "stopped_early",
                 "mean_train_accuracy", "train_accuracy_final", "errored", "unfinished", "cut"]
# Why a trial ended (trials.csv's stopped_by) -> its outcome in the tables. Only "finished" trials
# enter a mean; the others are counted in summary columns of their own (errored, unfinished, cut).
OUTCOMES = {"steps": "finished", "target": "finished", "diverged": "finished",
            "error": "errored", "unfinished": "unfinished", "scheduler": "cut"}


def held_out_examples(rows: pd.DataFrame) -> np.ndarray:
    """Each row's held-out examples (``eval_count``); NaN for an unknown length, which leaves the t part alone."""
    defaults = (("length", np.nan), ("eval_fraction", 0.1), ("eval_size", 4096))
    length, fraction, size = (pd.to_numeric(rows.get(c, pd.Series(d, index=rows.index)), errors="coerce")
                              .astype(float).fillna(d) for c, d in defaults)
    return np.array([eval_count(int(t), float(f), int(e)) if np.isfinite(t) and t >= 1 else np.nan
                     for t, f, e in zip(length, fraction, size, strict=True)], dtype=float)


def group_columns(axes: Sequence[str], columns: Sequence[str] | None = None) -> list[str]:
    """``model``, ``length``, then the other swept axes (those present in ``columns`` if given)."""
    cols = ["model", "length", *[a for a in axes if a not in NOT_AXES]]
    return cols if columns is None else [c for c in cols if c in columns]


def extra_axes(table: pd.DataFrame, first_stat: str) -> list[str]:
    """The group columns of a computed table besides model and length (those before ``first_stat``)."""
    cols = list(table.columns)
    cols = cols[: cols.index(first_stat)] if first_stat in cols else cols
    return [c for c in cols if c not in NOT_AXES]


def is_missing(value: Any) -> bool:
    """None, NaN, pd.NA, an empty CSV cell or the text "none" (max_norm none)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, str) and value.strip().lower() in ("", "none", "nan")


def axis_key(value: Any) -> Any:
    """What an axis value groups and sorts by: None if missing; a number (or one read back as text) as a
    float to 12 significant digits (0.003 and 0.0030000000000000001, 64 and 64.0 are one); else its text."""
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    try:
        number = float(value if isinstance(value, int | float | np.integer | np.floating) else str(value).strip())
    except ValueError:
        return str(value).strip()
    return None if math.isnan(number) else float(f"{number:.12g}")


def group_rows(table: pd.DataFrame, columns: Sequence[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """(values, rows) per group of ``columns`` by ``axis_key``, in order of first appearance (NaN if missing)."""
    columns = list(columns)
    if not columns:
        return [((), table)]
    positions: dict[tuple[Any, ...], list[int]] = {}
    for i, key in enumerate(zip(*[[axis_key(v) for v in table[c].tolist()] for c in columns], strict=True)):
        positions.setdefault(key, []).append(i)
    return [(tuple(math.nan if k is None else table[c].iloc[rows[0]] for c, k in zip(columns, key, strict=True)),
             table.iloc[rows]) for key, rows in positions.items()]


def model_order(models: Sequence[Any] | pd.Series) -> list[str]:
    """The distinct models in ``MODEL_ORDER``, any other after them alphabetically."""
    present = list(dict.fromkeys(str(m) for m in models if not is_missing(m)))
    return [m for m in MODEL_ORDER if m in present] + sorted(m for m in present if m not in MODEL_ORDER)


def _sort_key(value: Any) -> tuple[int, float, str]:
    key = axis_key(value)
    return (0, 0.0, "") if key is None else (1, float(key), "") if isinstance(key, bool | float) else (2, 0.0, str(key))


def distinct_values(table: pd.DataFrame, column: str) -> list[Any]:
    """The distinct values of a column (one per ``axis_key``), in ``sort_groups``' order."""
    if column not in table:
        return []
    return [values[0] for values, _ in group_rows(sort_groups(table[[column]], [column]), [column])]


def trial_outcome(trials: pd.DataFrame) -> pd.Series:
    """Each trial's outcome (finished, errored, unfinished, cut) from ``stopped_by``; where it is missing or
    unknown, from ``status`` (ERROR errored, TERMINATED or none finished, else unfinished). ERROR wins."""
    status = trials["status"].astype(str).str.strip() if "status" in trials else [""] * len(trials)
    stopped = trials["stopped_by"] if "stopped_by" in trials else [None] * len(trials)
    return pd.Series(["errored" if s == "ERROR" else OUTCOMES.get(str(v).strip())
                      or ("finished" if s in ("TERMINATED", "", "nan") else "unfinished")
                      for v, s in zip(stopped, status, strict=True)], index=trials.index, dtype=object)


def finished_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials that ran to their end: the only ones averaged."""
    return trials if trials.empty else trials[trial_outcome(trials) == "finished"]


def parity_table(trials: pd.DataFrame, axes: Sequence[str], metric: str = "eval_accuracy") -> pd.DataFrame:
    """Are odd lengths easier than even ones? The contrast c(T) of docs/statistics.md; finished trials only."""
    groups = [c for c in group_columns(axes, trials.columns) if c != "length"]
    rows = []
    if trials.empty or metric not in trials:
        return pd.DataFrame(columns=[*groups, "length", "parity", "contrast", "low", "high"])
    ok = finished_trials(trials)
    ok = ok[pd.to_numeric(ok[metric], errors="coerce").notna()]
    for key, g in group_rows(ok, groups):
        values = {int(t): pd.to_numeric(sub[metric]).to_numpy(dtype=float) for t, sub in g.groupby("length")}
        examples = {int(t): held_out_examples(sub) for t, sub in g.groupby("length")}
        for t in sorted(t for t in values if t - 1 in values and t + 1 in values):
            c, low, high = contrast_interval([values[t], values[t - 1], values[t + 1]], [1.0, -0.5, -0.5],
                                             [examples[t], examples[t - 1], examples[t + 1]])
            rows.append({**dict(zip(groups, key, strict=True)), "length": t, "parity": "odd" if t % 2 else "even",
                         "contrast": c, "low": low, "high": high})
    table = pd.DataFrame(rows, columns=[*groups, "length", "parity", "contrast", "low", "high"])
    return sort_groups(table, [*groups, "length"])


def flag(values: pd.Series) -> pd.Series:
    """A boolean column as read back from CSV (True/False, 'True'/'False', 1/0, empty = False)."""
    return values.map(_true).astype(bool)


def _true(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "1.0")


def sort_groups(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows by the group columns: models in ``model_order``, else missing first, numbers ascending, then text."""
    by = [c for c in by if c in table.columns]
    if not by or table.empty:
        return table.reset_index(drop=True)

    def key(col: pd.Series) -> pd.Series:
        if col.name == "model":
            ranks = {m: i for i, m in enumerate(model_order(col))}
            return col.map(lambda m: -1 if is_missing(m) else ranks[str(m)])
        ranks = {k: i for i, k in enumerate(sorted({_sort_key(v) for v in col}))}
        return col.map(lambda v: ranks[_sort_key(v)])

    return table.sort_values(list(by), key=key, kind="stable").reset_index(drop=True)


def summary_table(trials: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """summary.csv (docs/data.md); a group with no finished trial still has its row (``seeds`` 0, the means NaN)."""
    if trials.empty or "eval_accuracy" not in trials:
        return pd.DataFrame(columns=[*group_columns(axes, trials.columns if len(trials.columns) else None),
                                     *SUMMARY_STATS])
    groups = group_columns(axes, trials.columns)
    df = trials.assign(eval_accuracy=pd.to_numeric(trials["eval_accuracy"], errors="coerce"),
                       _outcome=trial_outcome(trials))
    rows = []
    for key, everyone in group_rows(df, groups):
        outcome = everyone["_outcome"]
        g = everyone[(outcome == "finished") & everyone["eval_accuracy"].notna()]
        n, mean, low, high = accuracy_interval(g["eval_accuracy"], held_out_examples(g))
        steps = pd.to_numeric(g.get("steps_to_target", pd.Series(dtype=float)), errors="coerce").dropna()
        target = pd.to_numeric(g.get("target", pd.Series(0.99, index=g.index)), errors="coerce").fillna(0.99)
        solved_low, solved_high = wilson_interval(len(steps), n)
        rows.append({
            **dict(zip(groups, key, strict=True)), "seeds": n,
            "eval_accuracy_mean": mean, "eval_accuracy_low": low, "eval_accuracy_high": high,
            "solved": int(len(steps)), "solved_low": solved_low, "solved_high": solved_high,
            "held": int((g["eval_accuracy"] >= target).sum()),
            "steps_to_target_median": float(steps.median()) if len(steps) else math.nan,
            **{c: int(flag(g[c]).sum()) if c in g else 0 for c in ("diverged", "stopped_early")},
            "mean_train_accuracy": _mean(g, "mean_train_accuracy"), "train_accuracy_final": _mean(g, "train_accuracy"),
            **{o: int((outcome == o).sum()) for o in ("errored", "unfinished", "cut")},
        })
    return sort_groups(pd.DataFrame(rows, columns=[*groups, *SUMMARY_STATS]), groups)


def _mean(g: pd.DataFrame, column: str) -> float:
    x = pd.to_numeric(g[column], errors="coerce").dropna() if column in g else ()
    return float(x.mean()) if len(x) else math.nan


def curves_table(curves: pd.DataFrame, axes: Sequence[str], metric: str = "eval_accuracy") -> pd.DataFrame:
    """Mean and 95% band of ``metric`` per group and evaluation step (docs/data.md: who is held at its last value)."""
    groups = group_columns(axes, curves.columns)
    stats = [f"{metric}_mean", f"{metric}_low", f"{metric}_high"]
    columns = [*groups, "step", "seeds", *stats]
    if curves.empty or metric not in curves or "step" not in curves:
        return pd.DataFrame(columns=columns)
    df = curves.assign(**{c: pd.to_numeric(curves[c], errors="coerce") for c in ("step", metric)})
    df = df[df["step"].notna()].sort_values(["trial_id", "step"], kind="stable")
    rows = []
    for key, g in group_rows(df, groups):
        series, off_schedule = {}, []
        for tid, t in g.groupby("trial_id", sort=True):
            last = t.iloc[-1]
            off_schedule += [t.index[-1]] if _true(last.get("diverged")) else []
            s = t.dropna(subset=[metric]).drop_duplicates("step", keep="last").set_index("step")[metric]
            series[tid] = (s, t["step"].max(), _true(last.get("diverged")) or _true(last.get("stopped_early")))
        grid = sorted(set(g.loc[~g.index.isin(off_schedule), "step"])) or sorted(set(g["step"]))
        wide = {}
        for tid, (s, last_step, held) in series.items():
            v = s.reindex(sorted(set(s.index) | set(grid))).ffill().reindex(grid)
            wide[tid] = v if held else v.where(v.index <= last_step)
        matrix = pd.DataFrame(wide, index=grid)
        examples = held_out_examples(g.drop_duplicates("trial_id").set_index("trial_id").reindex(matrix.columns)
                                     .reset_index())
        for step, values in matrix.iterrows():
            n, mean, low, high = accuracy_interval(values, examples)
            if n:
                rows.append({**dict(zip(groups, key, strict=True)), "step": int(step), "seeds": n,
                             stats[0]: mean, stats[1]: low, stats[2]: high})
    if not rows:
        return pd.DataFrame(columns=columns)
    return sort_groups(pd.DataFrame(rows, columns=columns), [*groups, "step"])
