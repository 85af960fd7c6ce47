"""A study's tables: read a study folder, then compute the summary, the curve bands, the comparison
(nothing here draws).

Group columns: ``model``, ``length`` and every other field the study swept (``swept_fields``:
study.json's ``axes`` and every field its ``param_space`` lists values for); in a grid, ``seed`` is
averaged over; a search's each config is its own group. Values group by ``axis_key``: a missing
value (None, NaN, an empty cell, "none") is a group of its own, and numbers that differ only in
their last digits (64 and 64.0) are one. Models come in ``MODEL_ORDER``, other values ascending,
missing first.

What is averaged: the finished trials of one config only (``stopped_by`` steps, target or diverged).
Errored, unfinished and scheduler-cut trials are in no mean; ``summary_table`` counts them. Intervals:
``study.basics.stats`` and docs/statistics.md; with one seed there is none (NaN)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import NotAStudy, one_line
from study.basics.layout import BEST, CURVES, STUDY_FILE, SUMMARY, TRIALS
from study.results.summary import NOT_AXES, summary_table


def read_study_folder(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A study folder's contents: ``meta`` (study.json), ``trials``, ``curves``, ``summary``, ``best``.

    ``trials`` and ``curves`` have a column for every swept field (``fill_swept_columns``); ``summary``
    is summary.csv when the report has been written, else computed; ``best`` is best.json or None.
    Raises ``NotAStudy`` when the path is missing, not a folder, or lacks study.json or trials.csv."""
    folder = Path(path)
    hint = "give results/<name>"
    if not folder.exists():
        raise NotAStudy(f"{path}: no such folder; {hint}")
    if not folder.is_dir():
        raise NotAStudy(f"{path}: not a folder; {hint}")
    for name in (STUDY_FILE, TRIALS):
        if not (folder / name).is_file():
            raise NotAStudy(f"{path}: not a study folder (no {name}); {hint}")
    try:
        meta = json.loads((folder / STUDY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAStudy(f"{path}: study.json cannot be read ({one_line(exc)}); {hint}") from None
    if not isinstance(meta, dict):
        raise NotAStudy(f"{path}: study.json is not a study description; {hint}")
    trials = _read_csv(folder / TRIALS, path)
    curves = _read_csv(folder / CURVES, path) if (folder / CURVES).is_file() else pd.DataFrame()
    trials, curves = fill_swept_columns(meta, trials, curves)
    axes = summary_axes(meta, trials.columns)
    if (folder / SUMMARY).is_file():
        summary = _read_csv(folder / SUMMARY, path)
    else:
        summary = summary_table(trials, axes)
    best = None
    if (folder / BEST).is_file():
        try:
            best = json.loads((folder / BEST).read_text(encoding="utf-8"))
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
    """The axes to group by besides model and length: the study's swept fields that are in the table (a
    search's searched fields, so that trials of different configs are never averaged as seeds)."""
    return [a for a in swept_fields(meta) if a not in NOT_AXES and a in columns]


def missing_axes(meta: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The swept fields (besides model) that the table has no column for: its trials of different
    values of them cannot be told apart."""
    return [a for a in swept_fields(meta) if a not in NOT_AXES and a not in columns]


def fill_swept_columns(meta: Mapping[str, Any], trials: pd.DataFrame,
                       curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``trials`` and ``curves`` with a column for model, length and every swept field, where it can be
    had: from the other table, trial by trial, else from ``param_space`` where the study held it at one
    value. A swept field neither has stays missing (``missing_axes``)."""
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


def study_target(meta: Mapping[str, Any]) -> float | None:
    """The study's target held-out accuracy from study.json, or None when it has none."""
    try:
        t = float(meta.get("target"))
    except (TypeError, ValueError):
        return None
    return t if math.isfinite(t) else None
