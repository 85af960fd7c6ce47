"""A search of several objectives: its Pareto front, from trials.csv alone.

A trial is on the front when no other finished trial of its cell (model x length) is at least as
good in every objective and better in one. The trials are those Optuna counts as COMPLETE: every
trial Ray ended without an error, a scheduler's cut ones too (at the value they were cut at). A
trial that never reached the target has no steps_to_target; it counts as infinitely many steps,
as Optuna was told (``study.engine.search.optuna``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from study.basics.io import write_csv_atomic
from study.basics.layout import PARETO
from study.spec.fields import default_mode

Objective = tuple[str, str]
CELL = ("model", "length")
PARETO_TEXT = "no other trial of its cell is as good in every objective and better in one"


def study_objectives(meta: Mapping[str, Any]) -> list[Objective]:
    """A search's objectives as study.json keeps them; one (its metric) for an older or a
    single-objective search, none for a study that is not a search."""
    search = meta.get("search") or {}
    if not search or meta.get("kind") != "optuna":
        return []
    listed = search.get("objectives")
    if listed:
        return [(str(m), str(d)) for m, d in listed]
    metric = str(search.get("metric", "eval_accuracy"))
    return [(metric, str(search.get("mode", default_mode(metric))))]


def objective_values(trials: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """Each objective as a number to minimise (a max objective negated), per finished trial;
    steps_to_target never reached is +inf; a trial with another missing value is left out."""
    ok = trials[trials["status"] == "TERMINATED"] if "status" in trials else trials
    out = {}
    for metric, mode in objectives:
        col = pd.to_numeric(ok[metric], errors="coerce") if metric in ok else pd.Series(np.nan, index=ok.index)
        if metric == "steps_to_target":
            col = col.fillna(math.inf if mode == "min" else -math.inf)
        out[metric] = col if mode == "min" else -col
    values = pd.DataFrame(out, index=ok.index)
    return values[values.notna().all(axis=1)]


def non_dominated(values: pd.DataFrame) -> pd.Index:
    """The rows of ``values`` (all to minimise) that no other row dominates."""
    v = values.to_numpy(dtype=float)
    keep = []
    for i in range(len(v)):
        others = np.delete(v, i, axis=0)
        dominated = bool(np.any(np.all(others <= v[i], axis=1) & np.any(others < v[i], axis=1))) if len(others) \
            else False
        if not dominated:
            keep.append(values.index[i])
    return pd.Index(keep)


def pareto_front(trials: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """The rows of trials.csv on the Pareto front of their cell, best first by the first
    objective: pareto.csv."""
    if trials.empty or not objectives:
        return trials.iloc[0:0]
    values = objective_values(trials, objectives)
    cells = [c for c in CELL if c in trials]
    front: list[Any] = []
    groups = values.groupby([trials.loc[values.index, c] for c in cells], sort=False) if cells else [(None, values)]
    for _, part in groups:
        front.extend(non_dominated(part))
    rows = trials.loc[front]
    first = values.loc[front, objectives[0][0]]
    order = rows.assign(_first=first).sort_values([*cells, "_first", "trial_id"], kind="stable")
    return order.drop(columns="_first").reset_index(drop=True)


def write_pareto(folder: Path, trials: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """pareto.csv of a search of several objectives, in the study folder; returns it."""
    front = pareto_front(trials, objectives)
    write_csv_atomic(Path(folder) / PARETO, front)
    return front


def front_table(meta: Mapping[str, Any], trials: pd.DataFrame) -> pd.DataFrame | None:
    """What a report shows of a search of several objectives: the front's trials, their cell,
    searched fields and objective values; None for any other study."""
    objectives = study_objectives(meta)
    if len(objectives) < 2:
        return None
    front = pareto_front(trials, objectives)
    fields = [a for a in meta.get("axes") or [] if a in front and a not in CELL]
    shown = ["trial_id", *[c for c in CELL if c in front], *fields, *[m for m, _ in objectives]]
    return front[[c for c in dict.fromkeys(shown) if c in front]]
