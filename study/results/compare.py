"""Studies side by side: cells aligned, B - A with its MOVER interval, a verdict per cell (docs/compare.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import StudyError
from study.basics.stats import mover_interval
from study.results.compare_sides import check_settings, load_sides, parse_ignore, settings_table
from study.results.folder import summary_axes
from study.results.summary import group_columns, sort_groups, summary_table

# Two held-out examples per seed on the smallest held-out set among the committed references (T = 5:
# 100 examples) is 0.02; the seeds of a solved cell of those references spread by at most 0.002
# (their standard deviation). docs/compare.md gives the numbers.
DEFAULT_MARGIN = 0.02
DIFFERS, SAME, INCONCLUSIVE = "differs", "same", "inconclusive"
ROUNDING = 1e-9  # an interval's end this close to +-margin counts as on the margin (inside it)
SIDE = ("seeds", "accuracy", "accuracy_low", "accuracy_high", "solved", "solve_rate", "solve_low", "solve_high")
DIFF = ("accuracy_diff", "accuracy_diff_low", "accuracy_diff_high",
        "solve_rate_diff", "solve_rate_diff_low", "solve_rate_diff_high")


@dataclass
class Comparison:
    """``table`` is compare.csv; ``studies`` the labels, A first; ``settings`` every fixed field's values."""

    table: pd.DataFrame
    studies: list[str]
    axes: list[str]
    summaries: dict[str, pd.DataFrame]
    folders: dict[str, Path]
    margin: float = DEFAULT_MARGIN
    settings: pd.DataFrame = field(default_factory=pd.DataFrame)
    ignored: list[str] = field(default_factory=list)
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
