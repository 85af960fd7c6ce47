"""A study's tables: read a study folder, then compute the summary, the curve bands, the comparison.

Compute first, draw later (``study.plots`` draws from these DataFrames; nothing here draws).

Group columns: every table is grouped by ``model``, ``length`` and every other field the study swept
(``swept_fields``: study.json's ``axes`` and every field its ``param_space`` lists values for, a
user's own sweep of ``hidden``, ``lr``, ``batch_size``, ``max_norm``, ``steps`` ... included); in a
grid, ``seed`` is what is averaged over. A search (Optuna) draws each trial's config: its tables are
grouped by every searched field, so each config is its own group (usually one trial). Values group
by ``axis_key``: a missing value (None, NaN, an empty CSV cell, "none": max_norm none) is a group of
its own, and numbers that differ only in their last digits (0.003 and 0.0030000000000000001 after a
CSV round trip, 64 and 64.0) are one group. Models come in ``MODEL_ORDER`` (RNN, LSTM, GRU, then
any other alphabetically), other values ascending, missing first.

What is averaged: the finished trials of one config only, those with ``stopped_by`` steps, target
or diverged (a diverged run finished: it counts, as a failure). Errored, unfinished (an interrupted
study) and scheduler-cut trials are not in any mean; ``summary_table`` counts them in their own
columns (``errored``, ``unfinished``, ``cut``).

Intervals (formulas in ``study.stats``): the mean accuracy across seeds has the 95% logit-t interval
(Student t on the logit scale, accuracies clipped to [1e-4, 1 - 1e-4] first, back-transformed,
widened to include the arithmetic mean when skewed seeds leave it outside), which stays inside
[0, 1]; the solve rate has the 95% Wilson interval; the odd-vs-even contrast has the MOVER interval
built from its groups' logit-t intervals, inside [-1, 1]. With one seed there is no interval: low
and high are NaN. The t quantile comes from scipy (a dependency).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from study.stats import METHOD, contrast_interval, logit_t_interval, wilson_interval
from study.stats import t_quantile as t_quantile  # re-exported: the tables' users need not import stats

# The exercise's reported results (docs/exercise.md): training-batch accuracy at step 10,000, one run each.
EXERCISE: dict[str, dict[int, float]] = {
    "RNN": {5: 1.00, 6: 0.99, 7: 0.98, 8: 0.60, 9: 0.35, 10: 0.34},
    "LSTM": {5: 1.00, 6: 1.00, 7: 1.00, 8: 1.00, 9: 1.00, 10: 1.00},
}

# The exercise's training settings (docs/exercise.md): its numbers above are for runs with these.
# A row of a study is comparable with them when none of these differs (``exercise_applies``).
EXERCISE_SETTINGS: dict[str, Any] = {"init": "seed", "optimizer": "rmsprop", "lr": 1e-3, "batch_size": 128,
                                     "hidden": 128, "max_norm": 10.0, "steps": 10_000, "input": "scalar",
                                     "forget_bias": 0.0}
FORGET_GATE_MODELS = ("LSTM",)  # forget_bias is ignored by the others

# Config fields that are never a summary axis: seed is averaged over, length is always a group.
NOT_AXES = ("model", "length", "seed")
MODEL_ORDER = ["RNN", "LSTM", "GRU"]  # the exercise's two, then the GRU; other models follow alphabetically

SUMMARY_STATS = ["seeds", "eval_accuracy_mean", "eval_accuracy_low", "eval_accuracy_high", "solved",
                 "solved_low", "solved_high", "steps_to_target_median", "diverged", "stopped_early",
                 "mean_train_accuracy", "train_accuracy_final", "errored", "unfinished", "cut"]
CI_COLUMN = f"this study (mean [95% CI, {METHOD}])"

# Why a trial ended (trials.csv's stopped_by) -> its outcome in the tables. Only "finished" trials
# enter a mean; the others are counted in summary columns of their own (errored, unfinished, cut).
OUTCOMES = {"steps": "finished", "target": "finished", "diverged": "finished",
            "error": "errored", "unfinished": "unfinished", "scheduler": "cut"}


class NotAStudy(ValueError):
    """The path is not a study folder; the message is one line that names the path."""


# ---- reading a study folder ------------------------------------------------------------------

def read_study_folder(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A study folder's contents: ``meta`` (study.json), ``trials``, ``curves``, ``summary``, ``best``.

    ``trials`` and ``curves`` have a column for model, length and every swept field
    (``fill_swept_columns``), even where trials.csv or curves.csv lacks one.

    ``summary`` is summary.csv when the report has been written, else computed from the trials.
    ``best`` is best.json (Optuna studies) or None. Raises ``NotAStudy`` (a ValueError) with a
    one-line message when the path is missing, not a folder, or lacks study.json or trials.csv.
    """
    folder = Path(path)
    hint = "give results/<name>"
    if not folder.exists():
        raise NotAStudy(f"{path}: no such folder; {hint}")
    if not folder.is_dir():
        raise NotAStudy(f"{path}: not a folder; {hint}")
    for name in ("study.json", "trials.csv"):
        if not (folder / name).is_file():
            raise NotAStudy(f"{path}: not a study folder (no {name}); {hint}")
    try:
        meta = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAStudy(f"{path}: study.json cannot be read ({one_line(exc)}); {hint}") from None
    if not isinstance(meta, dict):
        raise NotAStudy(f"{path}: study.json is not a study description; {hint}")
    trials = _read_csv(folder / "trials.csv", path)
    curves = _read_csv(folder / "curves.csv", path) if (folder / "curves.csv").is_file() else pd.DataFrame()
    trials, curves = fill_swept_columns(meta, trials, curves)
    axes = summary_axes(meta, trials.columns)
    if (folder / "summary.csv").is_file():
        summary = _read_csv(folder / "summary.csv", path)
    else:
        summary = summary_table(trials, axes)
    best = None
    if (folder / "best.json").is_file():
        try:
            best = json.loads((folder / "best.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            best = None
    return {"meta": meta, "trials": trials, "curves": curves, "summary": summary, "best": best}


def _read_csv(file: Path, shown: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(file, dtype={"trial_id": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise NotAStudy(f"{shown}: {file.name} cannot be read ({one_line(exc)})") from None


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def swept_fields(meta: Mapping[str, Any]) -> list[str]:
    """Every config field the study swept, besides length and seed: study.json's ``axes`` in their
    order, then any other field its ``param_space`` gives a list of values for (a user's own sweep
    whose ``axes`` were not written, or are incomplete). ``model`` is among them when it was swept."""
    fields = [a for a in meta.get("axes") or [] if isinstance(a, str)]
    space = meta.get("param_space")
    if isinstance(space, Mapping):
        fields += [k for k, v in space.items() if isinstance(k, str) and isinstance(v, list)]
    return [f for f in dict.fromkeys(fields) if f not in ("length", "seed")]


def summary_axes(meta: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The axes to group by besides model and length: the study's swept fields (``swept_fields``)
    that are in the table.

    For a grid, its swept fields; for an Optuna search, its searched fields, so that each config is
    a group of its own and trials of different configs are never averaged as if they were seeds.
    A swept field missing from the table cannot group it (``missing_axes`` names those; the report
    says so): ``read_study_folder`` fills what it can first (``fill_swept_columns``).
    """
    return [a for a in swept_fields(meta) if a not in NOT_AXES and a in columns]


def missing_axes(meta: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The swept fields (besides model) that the table has no column for: its trials of different
    values of them cannot be told apart."""
    return [a for a in swept_fields(meta) if a not in NOT_AXES and a not in columns]


def fill_swept_columns(meta: Mapping[str, Any], trials: pd.DataFrame,
                       curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``trials`` and ``curves`` with a column for model, length and every swept field, where it can be had.

    A field missing from one table (an older study, a hand-made one) is taken from the other, trial
    by trial (``trial_id``); failing that, from ``param_space`` where the study held it at one value
    (a value, or a list of one). A swept field neither table has stays missing (``missing_axes``).
    """
    space = meta.get("param_space") if isinstance(meta.get("param_space"), Mapping) else {}
    fields = ["model", "length", *[a for a in swept_fields(meta) if a not in NOT_AXES]]
    tables = [trials, curves]
    for field in fields:
        for i, other in ((0, 1), (1, 0)):
            table, source = tables[i], tables[other]
            if table.empty or field in table:
                continue
            if field in source and "trial_id" in table and "trial_id" in source and not source.empty:
                first = source.drop_duplicates("trial_id")
                values = pd.Series(first[field].to_numpy(), index=first["trial_id"].astype(str))
                tables[i] = table.assign(**{field: table["trial_id"].astype(str).map(values)})
            elif field in space:
                value = space[field]
                if isinstance(value, list):
                    if len(value) != 1:
                        continue
                    value = value[0]
                tables[i] = table.assign(**{field: math.nan if value is None else value})
    return tables[0], tables[1]


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
    """None, NaN, pd.NA, an empty CSV cell or the text "none" (max_norm none): no value."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, str) and value.strip().lower() in ("", "none", "nan")


def axis_key(value: Any) -> Any:
    """What an axis value groups and sorts by: None for a missing value (``is_missing``); a number
    (or a number read back as text) as a float to 12 significant digits, so that 0.003 and
    0.0030000000000000001, or 64 and 64.0, are one value; any other value as its text."""
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(f"{float(value):.12g}")
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return None if math.isnan(number) else float(f"{number:.12g}")


def group_rows(table: pd.DataFrame, columns: Sequence[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """(values, rows) per group of ``columns`` (``axis_key``: a missing value is a group of its own,
    never dropped), in order of first appearance. ``values`` are the group's own, its first row's
    (NaN for a missing value). No columns: one group, the whole table."""
    columns = list(columns)
    if not columns:
        return [((), table)]
    positions: dict[tuple[Any, ...], list[int]] = {}
    keys = zip(*[[axis_key(v) for v in table[c].tolist()] for c in columns], strict=True)
    for i, key in enumerate(keys):
        positions.setdefault(key, []).append(i)
    out = []
    for key, rows in positions.items():
        sub = table.iloc[rows]
        values = tuple(math.nan if k is None else sub[c].iloc[0] for c, k in zip(columns, key, strict=True))
        out.append((values, sub))
    return out


def model_order(models: Sequence[Any] | pd.Series) -> list[str]:
    """The distinct models in ``MODEL_ORDER`` (RNN, LSTM, GRU), any other after them alphabetically."""
    present = list(dict.fromkeys(str(m) for m in models if not is_missing(m)))
    return [m for m in MODEL_ORDER if m in present] + sorted(m for m in present if m not in MODEL_ORDER)


def _sort_key(value: Any) -> tuple[int, float, str]:
    key = axis_key(value)
    if key is None:
        return (0, 0.0, "")
    if isinstance(key, bool | float):
        return (1, float(key), "")
    return (2, 0.0, str(key))


def distinct_values(table: pd.DataFrame, column: str) -> list[Any]:
    """The distinct values of a column (one per ``axis_key``), sorted as ``sort_groups`` sorts them."""
    if column not in table:
        return []
    return [values[0] for values, _ in group_rows(sort_groups(table[[column]], [column]), [column])]


# ---- statistics --------------------------------------------------------------------------------

def trial_outcome(trials: pd.DataFrame) -> pd.Series:
    """Each trial's outcome: "finished", "errored", "unfinished" or "cut" (by the scheduler).

    From ``stopped_by`` (``OUTCOMES``); where it is missing or unknown (a hand-made table, an older
    study), from ``status``: ERROR is errored, TERMINATED (or no status) finished, any other
    (RUNNING, PENDING, PAUSED) unfinished. A trial whose status is ERROR is errored whatever its
    ``stopped_by`` says.
    """
    if "stopped_by" in trials:
        out = trials["stopped_by"].map(lambda v: OUTCOMES.get(str(v).strip()))
    else:
        out = pd.Series([None] * len(trials), index=trials.index, dtype=object)
    status = trials["status"].astype(str).str.strip() if "status" in trials else pd.Series("", index=trials.index)
    fallback = status.map(lambda v: "errored" if v == "ERROR" else "finished" if v in ("TERMINATED", "", "nan")
                          else "unfinished")
    out = out.where(out.notna(), fallback)
    return out.where(status != "ERROR", "errored").astype(object)


def finished_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials that ran to their end (``trial_outcome`` finished): the only ones averaged."""
    if trials.empty:
        return trials
    return trials[trial_outcome(trials) == "finished"]


def parity_table(trials: pd.DataFrame, axes: Sequence[str], metric: str = "eval_accuracy") -> pd.DataFrame:
    """Are odd lengths easier than even ones (the exercise's open question)?

    Accuracy falls with T, so comparing T = 7 with T = 6 mixes parity with the trend. For every T
    whose neighbours T - 1 and T + 1 were run, the contrast

        c(T) = mean(T) - (mean(T - 1) + mean(T + 1)) / 2

    removes a linear trend; if odd lengths were easier, c would be > 0 at odd T and < 0 at even T.
    c lies in [-1, 1]; its 95% interval is the MOVER interval (``study.stats.contrast_interval``)
    built from the three lengths' logit-t intervals, which stays inside [-1, 1]. Finished trials
    only; NaN low and high where a length has one seed.
    """
    groups = [c for c in group_columns(axes, trials.columns) if c != "length"]
    rows = []
    if trials.empty or metric not in trials:
        return pd.DataFrame(columns=[*groups, "length", "parity", "contrast", "low", "high"])
    ok = finished_trials(trials)
    ok = ok[pd.to_numeric(ok[metric], errors="coerce").notna()]
    for key, g in group_rows(ok, groups):
        values = {int(t): pd.to_numeric(sub[metric]).to_numpy(dtype=float) for t, sub in g.groupby("length")}
        for t in sorted(values):
            if t - 1 not in values or t + 1 not in values:
                continue
            c, low, high = contrast_interval([values[t], values[t - 1], values[t + 1]], [1.0, -0.5, -0.5])
            rows.append({**dict(zip(groups, key, strict=True)), "length": t, "parity": "odd" if t % 2 else "even",
                         "contrast": c, "low": low, "high": high})
    table = pd.DataFrame(rows, columns=[*groups, "length", "parity", "contrast", "low", "high"])
    return sort_groups(table, [*groups, "length"])


def flag(values: pd.Series) -> pd.Series:
    """A boolean column as read back from CSV (True/False, 'True'/'False', 1/0, empty = False)."""
    return values.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0")).astype(bool)


def sort_groups(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows in a fixed order: by the group columns; models in ``MODEL_ORDER`` (RNN, LSTM, GRU, then
    others alphabetically), other values by ``axis_key``: missing first (no clipping), then numbers
    ascending, then text."""
    by = [c for c in by if c in table.columns]
    if not by or table.empty:
        return table.reset_index(drop=True)

    def key(col: pd.Series) -> pd.Series:
        if col.name == "model":
            ranks = {m: i for i, m in enumerate(model_order(col))}
            return col.map(lambda m: -1 if is_missing(m) else ranks[str(m)])
        keys = sorted({_sort_key(v) for v in col})
        ranks = {k: i for i, k in enumerate(keys)}
        return col.map(lambda v: ranks[_sort_key(v)])

    return table.sort_values(list(by), key=key, kind="stable").reset_index(drop=True)


# ---- the tables ------------------------------------------------------------------------------

def summary_table(trials: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """One row per model x length (x each other swept axis; x each config of a search), over seeds.

    Only the finished trials of a group (``trial_outcome``: stopped_by steps, target or diverged)
    with a final held-out accuracy enter its numbers. Columns: the group columns, then
    ``seeds``: those finished trials; ``eval_accuracy_mean/_low/_high``: final held-out accuracy,
    the arithmetic mean and its 95% logit-t interval (``study.stats.logit_t_interval``; inside
    [0, 1], NaN for one seed); ``solved``: seeds whose ``steps_to_target`` is not empty;
    ``solved_low/_high``: the 95% Wilson interval of the solve rate solved/seeds (``wilson_interval``);
    ``steps_to_target_median``: median over the solved seeds (NaN if none; read it beside ``solved``);
    ``diverged`` and ``stopped_early``: counts among the seeds; ``mean_train_accuracy``: the
    exercise's own metric (mean batch accuracy over all training steps), mean across seeds;
    ``train_accuracy_final``: the last window's training-batch accuracy, mean across seeds;
    ``errored``, ``unfinished``, ``cut``: the group's trials left out of every mean because they
    failed with an error, were not finished when the study stopped (``--resume`` continues them),
    or were stopped early by the scheduler (ASHA). A group with no finished trial still has its
    row: ``seeds`` 0, the means NaN. Rows are sorted by the group columns (``sort_groups``).
    """
    if trials.empty or "eval_accuracy" not in trials:
        return pd.DataFrame(columns=[*group_columns(axes, trials.columns if len(trials.columns) else None),
                                     *SUMMARY_STATS])
    groups = group_columns(axes, trials.columns)
    columns = [*groups, *SUMMARY_STATS]
    df = trials.copy()
    df["eval_accuracy"] = pd.to_numeric(df["eval_accuracy"], errors="coerce")
    df["_outcome"] = trial_outcome(df)
    rows = []
    for key, everyone in group_rows(df, groups):
        outcome = everyone["_outcome"]
        g = everyone[(outcome == "finished") & everyone["eval_accuracy"].notna()]
        n, mean, low, high = logit_t_interval(g["eval_accuracy"])
        steps = pd.to_numeric(g.get("steps_to_target", pd.Series(dtype=float)), errors="coerce").dropna()
        solved_low, solved_high = wilson_interval(len(steps), n)
        rows.append({
            **dict(zip(groups, key, strict=True)),
            "seeds": n,
            "eval_accuracy_mean": mean,
            "eval_accuracy_low": low,
            "eval_accuracy_high": high,
            "solved": int(len(steps)),
            "solved_low": solved_low,
            "solved_high": solved_high,
            "steps_to_target_median": float(steps.median()) if len(steps) else math.nan,
            "diverged": int(flag(g["diverged"]).sum()) if "diverged" in g else 0,
            "stopped_early": int(flag(g["stopped_early"]).sum()) if "stopped_early" in g else 0,
            "mean_train_accuracy": _mean(g, "mean_train_accuracy"),
            "train_accuracy_final": _mean(g, "train_accuracy"),
            "errored": int((outcome == "errored").sum()),
            "unfinished": int((outcome == "unfinished").sum()),
            "cut": int((outcome == "cut").sum()),
        })
    if not rows:
        return pd.DataFrame(columns=columns)
    return sort_groups(pd.DataFrame(rows, columns=columns), groups)


def _mean(g: pd.DataFrame, column: str) -> float:
    if column not in g:
        return math.nan
    x = pd.to_numeric(g[column], errors="coerce").dropna()
    return float(x.mean()) if len(x) else math.nan


def curves_table(curves: pd.DataFrame, axes: Sequence[str], metric: str = "eval_accuracy") -> pd.DataFrame:
    """Mean and 95% band of ``metric`` (an accuracy, in [0, 1]) across seeds, per group and evaluation step.

    Columns: the group columns, ``step``, ``seeds`` (trials contributing at that step),
    ``<metric>_mean``, ``<metric>_low``, ``<metric>_high``: the arithmetic mean and its 95% logit-t
    interval (``study.stats.logit_t_interval``), as in the summary.

    A trial that stopped early (it reached the target ``patience`` times in a row) or diverged
    ended before the others: its ``metric`` is held at its last value for every later step of its
    group, so that the mean across seeds is not biased by the finished runs dropping out (a solved
    run stays solved, a diverged one stays failed). Any other trial that ended early (a Ray
    scheduler stop, an error) simply stops contributing: ``seeds`` counts who is left. The step
    of a diverged trial's last record, off the evaluation schedule, is not a step of the table.
    """
    groups = group_columns(axes, curves.columns)
    stats = [f"{metric}_mean", f"{metric}_low", f"{metric}_high"]
    columns = [*groups, "step", "seeds", *stats]
    if curves.empty or metric not in curves or "step" not in curves:
        return pd.DataFrame(columns=columns)
    df = curves.copy()
    df["step"] = pd.to_numeric(df["step"], errors="coerce")
    df[metric] = pd.to_numeric(df[metric], errors="coerce")
    df = df[df["step"].notna()].sort_values(["trial_id", "step"], kind="stable")
    rows = []
    for key, g in group_rows(df, groups):
        series, held = {}, {}
        for tid, t in g.groupby("trial_id", sort=True):
            last = t.iloc[-1]
            diverged = bool(flag(pd.Series([last.get("diverged")])).iloc[0])
            stopped = bool(flag(pd.Series([last.get("stopped_early")])).iloc[0])
            held[tid] = diverged or stopped
            s = t.dropna(subset=[metric]).drop_duplicates("step", keep="last").set_index("step")[metric]
            series[tid] = (s, t["step"].max())
        on_schedule = set(g.loc[~g.index.isin(_last_rows_of_diverged(g)), "step"])
        grid = sorted(on_schedule) or sorted(set(g["step"]))
        wide = {}
        for tid, (s, last_step) in series.items():
            v = s.reindex(sorted(set(s.index) | set(grid))).ffill().reindex(grid)
            if not held[tid]:
                v[v.index > last_step] = np.nan
            wide[tid] = v
        matrix = pd.DataFrame(wide, index=grid)
        for step, values in matrix.iterrows():
            n, mean, low, high = logit_t_interval(values)
            if n:
                rows.append({**dict(zip(groups, key, strict=True)), "step": int(step), "seeds": n,
                             stats[0]: mean, stats[1]: low, stats[2]: high})
    if not rows:
        return pd.DataFrame(columns=columns)
    return sort_groups(pd.DataFrame(rows, columns=columns), [*groups, "step"])


def _last_rows_of_diverged(g: pd.DataFrame) -> list[Any]:
    """Index labels of each diverged trial's final record (off the evaluation schedule)."""
    out = []
    for _, t in g.groupby("trial_id", sort=False):
        last = t.iloc[-1]
        if bool(flag(pd.Series([last.get("diverged")])).iloc[0]):
            out.append(t.index[-1])
    return out


def study_settings(meta: Mapping[str, Any], trials: pd.DataFrame | None = None) -> dict[str, Any]:
    """The config fields the study held at one value, with that value: ``param_space``'s (a value, or a
    list of one); for a field it does not give (an older study.json), trials.csv's column where it
    has one distinct value. None stands for a missing value (max_norm none)."""
    out: dict[str, Any] = {}
    space = meta.get("param_space")
    for field, value in (space.items() if isinstance(space, Mapping) else []):
        if isinstance(value, list):
            if len(value) != 1:
                continue
            value = value[0]
        out[field] = None if is_missing(value) else value
    if trials is not None and not trials.empty:
        for field in EXERCISE_SETTINGS:
            if field not in out and field in trials:
                values = distinct_values(trials, field)
                if len(values) == 1:
                    out[field] = None if is_missing(values[0]) else values[0]
    return out


def exercise_applies(summary: pd.DataFrame, settings: Mapping[str, Any] | None = None,
                     exercise: Mapping[str, Mapping[int, float]] = EXERCISE) -> pd.Series:
    """Per summary row: is the exercise's number comparable? Its model and T are in the exercise's
    table, and every one of the exercise's settings (``EXERCISE_SETTINGS``) known for the row, from
    its own columns or else from the study's fixed ``settings`` (``study_settings``), is the
    exercise's (forget_bias only for the LSTM, the others ignore it). A setting the study did not
    record is not held against it."""
    settings = settings or {}
    ok = []
    for r in summary.to_dict("records"):
        model = r.get("model")
        good = not math.isnan(_exercise(exercise, model, r.get("length")))
        for field, wanted in EXERCISE_SETTINGS.items():
            if not good:
                break
            if field == "forget_bias" and str(model) not in FORGET_GATE_MODELS:
                continue
            if field in r:
                value = r[field]
            elif field in settings:
                value = settings[field]
            else:
                continue
            good = axis_key(value) == axis_key(wanted)
        ok.append(good)
    return pd.Series(ok, index=summary.index, dtype=bool)


def exercise_points(summary: pd.DataFrame, settings: Mapping[str, Any] | None = None,
                    exercise: Mapping[str, Mapping[int, float]] = EXERCISE) -> pd.DataFrame:
    """The summary's rows the exercise's numbers apply to (``exercise_applies``): their group columns
    and ``exercise``, the exercise's training-batch accuracy at step 10,000 (one run)."""
    groups = [c for c in summary.columns if c not in SUMMARY_STATS]
    if summary.empty:
        return pd.DataFrame(columns=[*groups, "exercise"])
    rows = summary[exercise_applies(summary, settings, exercise)]
    return rows[groups].assign(exercise=[_exercise(exercise, m, t) for m, t in zip(rows["model"], rows["length"],
                                                                                   strict=True)]).reset_index(drop=True)


def single_length(summary: pd.DataFrame) -> int | None:
    """The one palindrome length T of a study that swept none (None when it has several, or none)."""
    if "length" not in summary or summary.empty:
        return None
    lengths = distinct_values(summary, "length")
    return int(lengths[0]) if len(lengths) == 1 and not is_missing(lengths[0]) else None


def accuracy_vs_length(summary: pd.DataFrame, exercise: Mapping[str, Mapping[int, float]] = EXERCISE,
                       digits: int = 3, settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """This study's held-out accuracy, beside the exercise's reported numbers where they apply; one row per group.

    Index: model, T (and any other swept axis); no T when the study has a single T
    (``single_length``: the caller says which). Columns:
    ``this study (mean [95% CI, logit-t])`` (``CI_COLUMN``): final held-out accuracy as text,
    "mean [low, high]" with the logit-t interval (the mean alone for one seed, "-" for none);
    ``solved``: "seeds solved / seeds"; ``final train``: this study's last training-batch
    accuracy (mean over seeds), the like-for-like number to the exercise's;
    ``exercise``: the exercise's training-batch accuracy at step 10,000, one run, where it applies
    (``exercise_applies``: its models and T, its settings; NaN elsewhere). A study none of whose
    rows it applies to has no ``exercise`` column.
    """
    groups = [c for c in summary.columns if c not in SUMMARY_STATS]
    if summary.empty:
        return pd.DataFrame(columns=[CI_COLUMN, "solved", "final train", "exercise"])
    applies = exercise_applies(summary, settings, exercise).to_numpy()
    out = pd.DataFrame({
        CI_COLUMN: [_ci_text(r, digits) for r in summary.itertuples(index=False)],
        "solved": [f"{int(s)}/{int(n)}" for s, n in zip(summary["solved"], summary["seeds"], strict=True)],
        "final train": pd.to_numeric(summary["train_accuracy_final"], errors="coerce").to_numpy(dtype=float),
    })
    if applies.any():
        out["exercise"] = [_exercise(exercise, m, t) if a else math.nan
                           for m, t, a in zip(summary["model"], summary["length"], applies, strict=True)]
    if single_length(summary) is not None:
        groups = [c for c in groups if c != "length"]
    index = summary[groups].rename(columns={"length": "T"})
    for col in index.columns:
        if col not in ("model", "T"):
            index[col] = [axis_value_text(v) for v in index[col]]
    out.index = pd.MultiIndex.from_frame(index) if len(groups) > 1 else pd.Index(index.iloc[:, 0])
    return out


def steps_to_target_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Median steps to the target over the solved seeds: rows model (x other axes), columns T.

    NaN where no seed of that cell reached the target (``summary``'s ``solved`` is 0).
    """
    groups = [c for c in summary.columns if c not in SUMMARY_STATS]
    rows = [c for c in groups if c != "length"]
    if summary.empty:
        return pd.DataFrame()
    df = summary[[*groups, "steps_to_target_median"]].copy()
    for col in rows:
        if col != "model":
            df[col] = [axis_value_text(v) for v in df[col]]
    # pivot would sort the models alphabetically: keep the summary's order of rows instead.
    keys = list(dict.fromkeys(df[rows].itertuples(index=False, name=None)))
    wide = df.pivot_table(index=rows, columns="length", values="steps_to_target_median", aggfunc="first",
                          dropna=False, sort=False)
    wide = wide.reindex(pd.MultiIndex.from_tuples(keys, names=rows) if len(rows) > 1 else [k[0] for k in keys])
    wide.columns = pd.Index([int(t) for t in wide.columns], name="T")
    return wide[sorted(wide.columns)]


def _ci_text(row: Any, digits: int) -> str:
    mean, low, high = row.eval_accuracy_mean, row.eval_accuracy_low, row.eval_accuracy_high
    if not np.isfinite(mean):
        return "-"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _exercise(exercise: Mapping[str, Mapping[int, float]], model: Any, length: Any) -> float:
    try:
        return float(exercise.get(str(model), {}).get(int(length), math.nan))
    except (TypeError, ValueError):
        return math.nan


def axis_value_text(value: Any) -> str:
    """An axis value as the tables and legends show it: empty max_norm is "none", 0.001 is "0.001"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, float | np.floating):
        return f"{value:g}"
    return str(value)


def format_accuracy_table(table: pd.DataFrame) -> str:
    """The accuracy-vs-length table as printed by ``python -m study.report`` (fits in 80 columns)."""
    return table.to_string(float_format=lambda v: f"{v:.2f}", na_rep="-")


# ---- Optuna ------------------------------------------------------------------------------------

def read_optuna_study(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> Any:
    """The Optuna study in a search's journal file (optuna.journal), or None when there is none."""
    folder = Path(path)
    storage_name = ((meta or {}).get("search") or {}).get("storage") or "optuna.journal"
    journal = Path(storage_name) if Path(storage_name).is_absolute() else folder / storage_name
    if not journal.is_file():
        journal = folder / "optuna.journal"
        if not journal.is_file():
            return None
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    names = optuna.get_all_study_names(storage)
    if not names:
        return None
    name = "palrnn" if "palrnn" in names else names[0]
    return optuna.load_study(study_name=name, storage=storage)


def ranked_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The finished trials with a final held-out accuracy, best first: highest ``eval_accuracy``,
    ties broken by fewer ``steps_to_target`` (a trial that never got there counts as infinitely slow),
    then by the table's own order."""
    if trials.empty or "eval_accuracy" not in trials:
        return trials.iloc[0:0]
    ok = trials[trials["status"] == "TERMINATED"] if "status" in trials else trials
    accuracy = pd.to_numeric(ok["eval_accuracy"], errors="coerce")
    steps = pd.to_numeric(ok["steps_to_target"], errors="coerce") if "steps_to_target" in ok else accuracy * np.nan
    ok = ok.assign(_a=accuracy, _s=steps.fillna(math.inf))[accuracy.notna()]
    return ok.sort_values(["_a", "_s"], ascending=[False, True], kind="stable").drop(columns=["_a", "_s"])


def best_trial_id(trials: pd.DataFrame, best: Mapping[str, Any] | None = None) -> str | None:
    """best.json's trial, else the first of ``ranked_trials``."""
    if best and best.get("trial_id") is not None:
        return str(best["trial_id"])
    ranked = ranked_trials(trials)
    return None if ranked.empty else str(ranked.iloc[0]["trial_id"])


def top_trials(trials: pd.DataFrame, fields: Sequence[str], n: int = 10) -> pd.DataFrame:
    """A search's ``n`` best trials (``ranked_trials``): the searched ``fields`` and how each ended."""
    shown = ["trial_id", *fields, "eval_accuracy", "steps_to_target", "step", "stopped_by"]
    ranked = ranked_trials(trials)
    return ranked[[c for c in shown if c in ranked]].head(n).reset_index(drop=True)


def study_target(meta: Mapping[str, Any]) -> float | None:
    """The study's target held-out accuracy from study.json, or None when it has none."""
    try:
        t = float(meta.get("target"))
    except (TypeError, ValueError):
        return None
    return t if math.isfinite(t) else None


def search_overview(meta: Mapping[str, Any], trials: pd.DataFrame) -> dict[str, Any]:
    """What a search's report says of its trials, for the printed report and report.html alike:
    the best trials (``top``, their searched ``fields`` as text), how many ASHA ``cut``, the
    ``others`` that errored or never finished, how many ``reached`` the target, and that target
    as text (``goal``)."""
    fields = [a for a in meta.get("axes") or [] if a in trials]
    top = top_trials(trials, fields)
    for column in fields:
        top[column] = top[column].map(axis_value_text)
    outcome = trial_outcome(trials) if len(trials) else pd.Series(dtype=object)
    target = study_target(meta)
    return {
        "fields": fields,
        "top": top,
        "cut": int((outcome == "cut").sum()),
        "others": [f"{int((outcome == o).sum())} {o}" for o in ("errored", "unfinished") if (outcome == o).any()],
        "reached": int(trials["steps_to_target"].notna().sum()) if "steps_to_target" in trials else 0,
        "goal": f"{target:g}" if target is not None else "the target",
    }
