"""A study folder read back: study.json, its tables, its swept fields (grouping rules: docs/data.md)."""

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
    """``meta``, ``trials``, ``curves``, ``summary`` and ``best`` (or None) of a study folder; else ``NotAStudy``."""
    folder = Path(path)
    hint = "give results/<name>"
    if not folder.is_dir():
        raise NotAStudy(f"{path}: {'not a folder' if folder.exists() else 'no such folder'}; {hint}")
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
    summary = (_read_csv(folder / SUMMARY, path) if (folder / SUMMARY).is_file()
               else summary_table(trials, summary_axes(meta, trials.columns)))
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
    """Every field the study swept but length and seed: study.json's ``axes``, then any ``param_space`` lists."""
    fields = [a for a in meta.get("axes") or [] if isinstance(a, str)]
    space = meta.get("param_space")
    if isinstance(space, Mapping):
        fields += [k for k, v in space.items() if isinstance(k, str) and isinstance(v, list)]
    return [f for f in dict.fromkeys(fields) if f not in ("length", "seed")]


def summary_axes(meta: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The swept fields the table has besides model and length (a search's: configs are never averaged as seeds)."""
    return [a for a in swept_fields(meta) if a not in NOT_AXES and a in columns]


def missing_axes(meta: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The swept fields (but model) the table has no column for: its trials cannot be told apart by them."""
    return [a for a in swept_fields(meta) if a not in NOT_AXES and a not in columns]


def fill_swept_columns(meta: Mapping[str, Any], trials: pd.DataFrame,
                       curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A column for every swept field: from the other table, trial by trial, else from a one-value ``param_space``."""
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
            elif field in space and (not isinstance(space[field], list) or len(space[field]) == 1):
                value = space[field][0] if isinstance(space[field], list) else space[field]
                tables[i] = table.assign(**{field: math.nan if value is None else value})
    return tables[0], tables[1]


def study_target(meta: Mapping[str, Any]) -> float | None:
    try:
        t = float(meta.get("target"))
    except (TypeError, ValueError):
        return None
    return t if math.isfinite(t) else None
