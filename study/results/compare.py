"""Studies side by side: what is compared (folders, DataFrames, one study split ``by``) and its settings, the
cells aligned, B - A with its MOVER interval, a verdict per cell (docs/compare.md)."""

from __future__ import annotations

import io
import math
import os
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import StudyError
from study.basics.stats import mover_interval
from study.basics.text import format_table, value_text
from study.results.folder import read_study_folder, summary_axes
from study.results.summary import axis_key, distinct_values, group_columns, sort_groups, summary_table
from study.spec.fields import FIELDS

# Two held-out examples per seed on the smallest held-out set among the committed references (T = 5:
# 100 examples) is 0.02; the seeds of a solved cell of those references spread by at most 0.002
# (their standard deviation). docs/compare.md gives the numbers.
DEFAULT_MARGIN = 0.02
DIFFERS, SAME, INCONCLUSIVE = "differs", "same", "inconclusive"
ROUNDING = 1e-9  # an interval's end this close to +-margin counts as on the margin (inside it)
SIDE = ("seeds", "accuracy", "accuracy_low", "accuracy_high", "solved", "solve_rate", "solve_low", "solve_high")
DIFF = ("accuracy_diff", "accuracy_diff_low", "accuracy_diff_high",
        "solve_rate_diff", "solve_rate_diff_low", "solve_rate_diff_high")


CELL_AND_SEED = ("model", "length", "seed")
NOT_RECORDED = "not recorded"
# The status column of the settings table: what became of each setting.
EQUAL, SET_ASIDE = "equal", "set aside"  # and DIFFERS
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


@dataclass
class Comparison:
    """``table`` is compare.csv; ``studies`` the labels, A first; ``settings`` every fixed field's values."""

    table: pd.DataFrame
    studies: list[str]
    axes: list[str]
    summaries: dict[str, pd.DataFrame]
    folders: dict[str, Path]
    margin: float = DEFAULT_MARGIN
    settings: pd.DataFrame = default(default_factory=pd.DataFrame)
    ignored: list[str] = default(default_factory=list)
    by: str | None = None

    @property
    def flagged(self) -> pd.DataFrame:
        return self.table[self.table["verdict"] == DIFFERS]


def compare_studies(paths: Sequence[Any], margin: Any = DEFAULT_MARGIN, ignore: str | Iterable[str] | None = None,
                    by: str | None = None, labels: Sequence[str] | None = None) -> Comparison:
    """Every later study of ``paths`` against the first; StudyError (one line) for anything it cannot compare."""
    margin = check_margin(margin)
    ignored = parse_ignore(ignore)
    sides = load_sides(paths, by, labels)  # NotAStudy: one line naming the folder
    if len(sides) < 2:
        raise StudyError("give two or more studies to compare (study folders results/<name>, trials DataFrames), "
                         "or one with by=\"<column>\"")
    if by is not None:
        ignored = parse_ignore([*ignored, by])  # the one setting the parts differ in
    data = {side.label: side.data for side in sides}
    labels = [side.label for side in sides]
    axes = _shared_axes([d["meta"] for d in data.values()], [d["trials"] for d in data.values()])
    settings = settings_table(data, axes, ignored)
    check_settings(settings, labels, axes, ignored)
    missing = [lab for lab in labels if any(a not in data[lab]["trials"] for a in axes)]
    if missing:
        raise StudyError(f"{data[missing[0]]['meta'].get('name') or missing[0]}: its trials.csv lacks "
                         f"{', '.join(a for a in axes if a not in data[missing[0]]['trials'])}; cannot align it")
    summaries = {lab: summary_table(data[lab]["trials"], axes) for lab in labels}
    table = pd.concat([_pair(summaries[labels[0]], summaries[lab], labels[0], lab, axes, margin)
                       for lab in labels[1:]], ignore_index=True)
    if not (table["present"] == "both").any():
        raise StudyError(f"{labels[0]} and {', '.join(labels[1:])} have no cell in common "
                         f"(no {', '.join(axes)} they both ran); nothing to compare")
    table["set_aside"] = ",".join(ignored)
    return Comparison(table, labels, axes, summaries, {s.label: s.folder for s in sides if s.folder is not None},
                      margin, settings, ignored, by)


def _shared_axes(metas: list[dict[str, Any]], trials: list[pd.DataFrame]) -> list[str]:
    """model, length, then every field any study swept (in the order the studies name them)."""
    axes = ["model", "length"]
    for meta, table in zip(metas, trials, strict=True):
        axes += [a for a in summary_axes(meta, table.columns) if a not in axes]
    return axes


def _side(summary: pd.DataFrame, groups: list[str], prefix: str) -> pd.DataFrame:
    """A study's summary with the columns compare.csv gives each side, indexed by its cells."""
    out = summary[["seeds", "eval_accuracy_mean", "eval_accuracy_low", "eval_accuracy_high", "solved",
                   "solved_low", "solved_high"]].set_axis(["seeds", *SIDE[1:5], "solve_low", "solve_high"], axis=1)
    out.insert(5, "solve_rate", [s / n if n else math.nan for s, n in zip(out["solved"], out["seeds"], strict=True)])
    out.index = pd.MultiIndex.from_frame(summary[groups].astype(object).where(summary[groups].notna(), None))
    return out.add_prefix(prefix)


def _pair(a: pd.DataFrame, b: pd.DataFrame, label_a: str, label_b: str, axes: list[str],
          margin: float) -> pd.DataFrame:
    """The cells of studies A and B, outer-joined on ``axes``, with B - A, its intervals and verdict."""
    groups = group_columns(axes, a.columns)
    joined = _side(a, groups, "a_").join(_side(b, groups, "b_"), how="outer")
    rows = []
    for key, row in joined.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        has_a, has_b = not pd.isna(row["a_seeds"]), not pd.isna(row["b_seeds"])
        diff = _differences(row) if has_a and has_b else dict.fromkeys(DIFF, math.nan)
        verdict = judge(diff["accuracy_diff_low"], diff["accuracy_diff_high"], margin) if has_a and has_b else None
        rows.append({**dict(zip(groups, key, strict=True)), "study_a": label_a, "study_b": label_b,
                     **{f"{s}_{c}": row[f"{s}_{c}"] for s in "ab" for c in SIDE},
                     **diff, "margin": margin, "verdict": verdict, "differs": verdict == DIFFERS,
                     "present": "both" if has_a and has_b else f"only {label_a}" if has_a else f"only {label_b}"})
    table = pd.DataFrame(rows)
    for c in ("a_seeds", "b_seeds", "a_solved", "b_solved"):
        table[c] = table[c].astype("Int64")
    return sort_groups(table, groups)


def _differences(row: pd.Series) -> dict[str, float]:
    """B - A of the mean accuracies and of the solve rates, each with its MOVER interval."""
    both = [mover_interval([row[f"b_{v}"], row[f"a_{v}"]], [(row[f"{s}_{lo}"], row[f"{s}_{hi}"]) for s in "ba"],
                           [1.0, -1.0]) for v, lo, hi in (("accuracy", "accuracy_low", "accuracy_high"),
                                                         ("solve_rate", "solve_low", "solve_high"))]
    return dict(zip(DIFF, (*both[0], *both[1]), strict=True))


def check_margin(margin: Any) -> float:
    """``--margin`` as a float in [0, 1); StudyError (one line) for anything else."""
    try:
        value = float(margin)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(margin, bool) or not (0.0 <= value < 1.0):
        raise StudyError(f"--margin: {margin!r} is not a held-out accuracy difference; give a number in [0, 1), "
                         f"e.g. {DEFAULT_MARGIN} (the default)")
    return value


def judge(low: float, high: float, margin: float) -> str:
    """The verdict on a difference's 95% interval (docs/compare.md); an end within ``ROUNDING`` of it is on it."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return INCONCLUSIVE
    if low > margin + ROUNDING or high < -margin - ROUNDING:
        return DIFFERS
    return SAME if low >= -margin - ROUNDING and high <= margin + ROUNDING else INCONCLUSIVE
