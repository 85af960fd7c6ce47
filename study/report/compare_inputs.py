"""What ``study.compare`` compares (study/report/compare.py): each study is a study folder, a trials
table (a pandas DataFrame, one row per trial, as ``study.load_study(folder)["trials"]`` gives it),
or a study's tables as ``study.load_study`` gives them (a dict with ``trials`` and ``meta``); or one
study split by a column, ``by="init"``: each value of that column is a study of its own.

A DataFrame is compared as its trials.csv would be: it is written to CSV and read back as a study
folder's is, so ``study.load_study``'s dtypes (categories, nullable integers) and the folder it
came from give the same rows. A DataFrame has no study.json: its swept fields (the comparison's
cells besides model and length) are the config fields that take two or more values in it (in each
part, when it is split), and its settings are read from its columns (a config field it has no
column for is "not recorded"); the settings table and the refusal name the DataFrames by label.

``by=field`` splits one study by a config field it varies, as if each value had been its own
study that held the field fixed (its trials, study.json's ``axes`` without the field,
``param_space`` the value): the field is the one setting the parts may differ in, so it is set
aside (``ignore``) as the comparison of two such folders needs; every other setting is checked as
for folders. Values come in the order the tables sort them (models RNN, LSTM, GRU; others
ascending, missing first): the first is A. Filter the rows first to compare fewer values
(``trials[trials["init"].isin(["seed", "xavier"])]``). ``model`` and ``length`` define every
comparison's cells and ``seed`` is averaged over: they are refused as ``by``.

Labels: a folder's name; a DataFrame's letter by position (A, B, C ...); a split's
``field=value``; ``labels=`` names them all instead. Bad input raises StudyError (one line).
"""

from __future__ import annotations

import io
import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import StudyError
from study.basics.text import value_text
from study.report.compare_settings import CELL_AND_SEED, settings_fields
from study.results.folder import read_study_folder
from study.results.summary import axis_key, distinct_values

REQUIRED = ("model", "length", "eval_accuracy")  # what a trials table needs to be compared
WHAT = "a study folder, a trials DataFrame (study.load_study(folder)['trials']) or study.load_study(folder)"


@dataclass
class Side:
    """One compared study: its label, ``data`` as ``read_study_folder`` gives it (``meta``,
    ``trials``), its folder (None for a DataFrame), and whether its meta was inferred (a DataFrame)."""

    label: str
    data: dict[str, Any]
    folder: Path | None
    inferred: bool = False


def load_sides(studies: Sequence[Any], by: Any = None, labels: Sequence[str] | None = None) -> list[Side]:
    """The studies to compare, in order, each loaded and labelled; ``by``: split the one study given
    by that column. StudyError (one line) for anything that is not a study, a bad ``by`` or ``labels``."""
    if by is not None:
        if len(studies) != 1:
            raise StudyError(f"by={by!r} splits one study by its values; give one study, not {len(studies)}")
        sides = split_by(_load(studies[0], 0), by)
    else:
        sides = [_load(item, i) for i, item in enumerate(studies)]
    return _labelled(sides, labels, by)


def _load(item: Any, i: int) -> Side:
    if isinstance(item, str | os.PathLike):
        return Side(Path(item).resolve().name or str(item), read_study_folder(item), Path(item))
    if isinstance(item, pd.DataFrame):
        trials = as_read(item, f"study {i + 1}")
        return Side(_letter(i), {"meta": inferred_meta(trials), "trials": trials}, None, inferred=True)
    if isinstance(item, Mapping) and isinstance(item.get("trials"), pd.DataFrame):
        meta = item.get("meta")
        trials = as_read(item["trials"], f"study {i + 1}")
        if not isinstance(meta, Mapping):
            return Side(_letter(i), {"meta": inferred_meta(trials), "trials": trials}, None, inferred=True)
        return Side(str(meta.get("name") or _letter(i)), {"meta": dict(meta), "trials": trials}, None)
    raise StudyError(f"study {i + 1}: not a study ({type(item).__name__}); give {WHAT}")


def _letter(i: int) -> str:
    return string.ascii_uppercase[i] if i < 26 else f"S{i + 1}"


def as_read(trials: pd.DataFrame, where: str) -> pd.DataFrame:
    """A trials DataFrame as a study folder's trials.csv is read (written to CSV and read back)."""
    missing = [c for c in REQUIRED if c not in trials.columns]
    if missing:
        raise StudyError(f"{where}: a table without {', '.join(missing)} is not a trials table; give one row per "
                         f"trial, as study.load_study(folder)['trials'] gives it")
    if trials.empty:
        raise StudyError(f"{where}: the trials table has no rows; nothing to compare")
    return pd.read_csv(io.StringIO(trials.to_csv(index=False)), dtype={"trial_id": str})


def inferred_meta(trials: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame's stand-in for study.json: it swept the config fields that vary in it."""
    return {"axes": varying_fields(trials), "param_space": {}}


def varying_fields(trials: pd.DataFrame) -> list[str]:
    """The settings (config fields but model, length, seed) with two or more values in ``trials``."""
    return [f for f in settings_fields() if f in trials.columns and len(distinct_values(trials, f)) > 1]


def split_by(side: Side, by: Any) -> list[Side]:
    """One study per value of ``by`` (see the module's docstring)."""
    trials, meta = side.data["trials"], side.data["meta"]
    choices = f"split by a setting {side.label} varies: {', '.join(varying_fields(trials)) or 'it varies none'}"
    if not isinstance(by, str) or not by:
        raise StudyError(f"by={by!r}: give one column's name, e.g. by=\"init\"; {choices}")
    if by in CELL_AND_SEED:
        raise StudyError(f"by={by!r}: model and length define the cells every comparison pairs (seed is averaged "
                         f"over), so the studies cannot differ in it; {choices}")
    if by not in trials.columns:
        raise StudyError(f"by={by!r}: no such column in {side.label}'s trials; {choices}")
    if by not in settings_fields():
        raise StudyError(f"by={by!r}: not a config field (a trial's outcome, not its setting); {choices}")
    values = distinct_values(trials, by)
    if len(values) < 2:
        one = value_text(values[0], 6) if values else "no value"
        raise StudyError(f"by={by!r}: {side.label} has one {by} ({one}); nothing to compare; {choices}")
    sides = []
    for value in values:
        key = axis_key(value)
        part = as_read(trials[[axis_key(v) == key for v in trials[by]]], side.label)
        held = inferred_meta(part) if side.inferred else {
            **meta, "axes": [a for a in meta.get("axes") or [] if a != by],
            "param_space": {**(meta.get("param_space") or {}), by: value}}
        sides.append(Side(f"{by}={value_text(value, 6)}", {"meta": held, "trials": part}, side.folder,
                          side.inferred))
    return sides


def _labelled(sides: list[Side], labels: Sequence[str] | None, by: Any) -> list[Side]:
    """Each side's label: ``labels`` where given, else its own, numbered where two share one."""
    if labels is not None:
        names = [labels] if isinstance(labels, str) else list(labels)
        if len(names) != len(sides) or len(set(map(str, names))) != len(names):
            per = f"one per value of {by}" if by is not None else "one per study"
            raise StudyError(f"labels: give {len(sides)} distinct names, {per}; got {names!r}")
        return [Side(str(n), s.data, s.folder, s.inferred) for n, s in zip(names, sides, strict=True)]
    taken: list[str] = []
    for side in sides:
        label, i = side.label, 2
        while label in taken:
            label, i = f"{side.label}#{i}", i + 1
        side.label = label
        taken.append(label)
    return sides
