"""What ``study.compare`` compares (folders, DataFrames, one study split ``by``), their settings (docs/compare.md)."""

from __future__ import annotations

import io
import os
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import StudyError
from study.basics.text import format_table, value_text
from study.results.folder import read_study_folder
from study.results.summary import axis_key, distinct_values
from study.spec.fields import FIELDS

CELL_AND_SEED = ("model", "length", "seed")
NOT_RECORDED = "not recorded"
# The status column of the settings table: what became of each setting.
EQUAL, DIFFERS, SET_ASIDE = "equal", "differs", "set aside"
REQUIRED = ("model", "length", "eval_accuracy")  # what a trials table needs to be compared
WHAT = "a study folder, a trials DataFrame (study.load_study(folder)['trials']) or study.load_study(folder)"


def settings_fields() -> list[str]:
    """The config fields ``--ignore`` may name."""
    return [f for f in FIELDS if f not in CELL_AND_SEED]


def parse_ignore(ignore: str | Iterable[str] | None) -> list[str]:
    """``--ignore``'s fields (``"init,hidden"``, or a list) in config order; StudyError for any other name."""
    if ignore is None:
        return []
    names = [p.strip() for p in (ignore.split(",") if isinstance(ignore, str) else map(str, ignore)) if p.strip()]
    allowed = settings_fields()
    for name in names:
        if name not in allowed:
            why = (f"{name} defines the cells or is averaged over, it is never a setting" if name in CELL_AND_SEED
                   else f"unknown config field {name!r}")
            raise StudyError(f"--ignore: {why}; allowed: {', '.join(allowed)}")
    return [f for f in allowed if f in names]  # in config order, each once


def _values(meta: Mapping[str, Any], trials: pd.DataFrame, field: str) -> list[Any] | None:
    """A study's distinct values of ``field`` (first-seen order), or None where it is not recorded."""
    if field in trials.columns and len(trials):
        seen: dict[Any, Any] = {}
        return [seen.setdefault(axis_key(v), v) for v in trials[field] if axis_key(v) not in seen]
    space = meta.get("param_space")
    if isinstance(space, Mapping) and field in space and not isinstance(space[field], list | dict):
        return [space[field]]
    return None


def settings_table(studies: Mapping[str, Mapping[str, Any]], axes: Sequence[str],
                   ignore: Sequence[str]) -> pd.DataFrame:
    """One row per setting: ``field``, each study's value(s) as text, ``status`` and ``differs``."""
    rows = []
    for field in [f for f in settings_fields() if f not in axes]:
        values = {label: _values(d["meta"], d["trials"], field) for label, d in studies.items()}
        differs = len({NOT_RECORDED if v is None else frozenset(map(axis_key, v)) for v in values.values()}) > 1
        text = {label: NOT_RECORDED if v is None else " / ".join(value_text(x, 6) for x in v)
                for label, v in values.items()}
        rows.append({"field": field, **text, "status": SET_ASIDE if field in ignore else DIFFERS if differs else EQUAL,
                     "differs": differs})
    return pd.DataFrame(rows, columns=["field", *studies, "status", "differs"])


def check_settings(settings: pd.DataFrame, labels: Sequence[str], axes: Sequence[str],
                   ignore: Sequence[str]) -> None:
    """StudyError (one line) for an ``ignore`` field that is a cell axis, or a setting that differs."""
    swept = [f for f in ignore if f in axes]
    if swept:
        raise StudyError(f"--ignore {','.join(swept)}: swept by a compared study, so it defines the cells "
                         "(each of its values is compared on its own); set aside only fixed settings")
    differ = settings[settings["status"] == DIFFERS]
    if differ.empty:
        return
    names = ", ".join(labels[:-1]) + f" and {labels[-1]}"
    fields = "; ".join(f"{r['field']} ({' | '.join(str(r[lab]) for lab in labels)})" for _, r in differ.iterrows())
    raise StudyError(f"{names} differ in fixed settings {fields}: their cells would pair different trainings; "
                     f"pass --ignore {','.join(differ['field'])} (ignore= in study.compare) to compare them anyway")


def settings_lines(settings: pd.DataFrame, labels: Sequence[str], axes: Sequence[str]) -> list[str]:
    """The printed settings: those set aside with each study's value, then how many are equal."""
    lines = [f"Settings: every config field but the cell axes ({', '.join(axes)}) and seed (averaged over)"]
    aside = settings[settings["status"] == SET_ASIDE]
    if len(aside):
        rows = [[r["field"], *(r[lab] for lab in labels), "differs" if r["differs"] else "equal"]
                for _, r in aside.iterrows()]
        lines.append(f"  set aside (--ignore): {', '.join(aside['field'])}; cells are paired whatever their values")
        lines += ["  " + line for line in format_table(["field", *labels, ""], rows)]
    equal = settings[settings["status"] == EQUAL]
    lines.append(f"  equal in every study: {len(equal)} field{'s' if len(equal) != 1 else ''}"
                 + (f" ({', '.join(equal['field'])})" if len(equal) else ""))
    return lines


@dataclass
class Side:
    """One compared study: ``meta`` and ``trials``; a DataFrame has no ``folder``, and its meta is ``inferred``."""

    label: str
    data: dict[str, Any]
    folder: Path | None
    inferred: bool = False


def load_sides(studies: Sequence[Any], by: Any = None, labels: Sequence[str] | None = None) -> list[Side]:
    """The studies to compare, loaded and labelled; ``by``: the one study given, split by that column."""
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
    frame = item if isinstance(item, pd.DataFrame) else item.get("trials") if isinstance(item, Mapping) else None
    if not isinstance(frame, pd.DataFrame):
        raise StudyError(f"study {i + 1}: not a study ({type(item).__name__}); give {WHAT}")
    trials = as_read(frame, f"study {i + 1}")
    meta = item.get("meta") if isinstance(item, Mapping) else None
    if isinstance(meta, Mapping):
        return Side(str(meta.get("name") or _letter(i)), {"meta": dict(meta), "trials": trials}, None)
    return Side(_letter(i), {"meta": inferred_meta(trials), "trials": trials}, None, inferred=True)


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
    """One study per value of ``by``, each holding it fixed (docs/analysis.md)."""
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
    """``labels`` where given, else each side's own, numbered where two share one."""
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
