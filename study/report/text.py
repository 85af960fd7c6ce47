"""The report's printed text, and the words report.html shares with it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.provenance import provenance_line
from study.basics.stats import METHOD
from study.basics.text import value_text
from study.frontier.table import format_frontier
from study.planning.kinds import kind_named
from study.planning.kinds.search import method_text
from study.results.exercise import format_accuracy_table, single_length, steps_to_target_table
from study.results.folder import missing_axes, study_target, summary_axes
from study.results.pareto import PARETO_TEXT, front_table
from study.results.search import confirm_words, importance_label, importance_text, search_overview, tied_words
from study.results.summary import parity_table


def report_text(folder: Path, meta: dict[str, Any], summary: pd.DataFrame, table: pd.DataFrame, data: dict[str, Any],
                written: list[Path], frontier: pd.DataFrame | None = None) -> str:
    kind = kind_named(meta.get("kind"))
    sections = kind.report  # which of the report's parts the study's kind has (``Kind.report``)
    what = kind.title(meta) + (f": {method_text(meta)}" if "search" in sections else "")
    lines = [f"study {meta.get('name') or folder.name} ({what}): {trials_text(len(data['trials']))}",
             f"provenance: {provenance_line(meta)}"]
    if missing := missing_axes(meta, data["trials"].columns) if len(data["trials"].columns) else []:
        lines += _wrap(f"swept but not in trials.csv (nor curves.csv): {', '.join(missing)}; trials that differ "
                       f"only in {'it' if len(missing) == 1 else 'them'} are grouped together")
    if frontier is not None:
        lines += ["", format_frontier(frontier)]
    if summary.empty or not (pd.to_numeric(summary["seeds"], errors="coerce") > 0).any():
        lines += ["no finished trials to summarise", *_left_out(summary)]
    elif "search" in sections:
        lines += _search_text(meta, data, summary)
    else:
        goal = goal_text(meta)
        lines += ["", *_legend_lines(summary, table, goal), *_left_out(summary), "", format_accuracy_table(table)]
        parity = parity_rows(meta, data["trials"])
        if len(parity) and "odd-even" in sections:
            lines += ["", "Odd vs even T: c(T) = acc(T) - mean(acc(T-1), acc(T+1)); odd lengths easier would",
                      "show c > 0 at odd T and c < 0 at even T, beyond the intervals (95%, MOVER from the",
                      f"three lengths' {METHOD} intervals):", parity.to_string(index=False)]
        if summary["solved"].sum() > 0:
            lines += ["", f"Median steps to {goal} held-out accuracy, over the seeds that got there (- none):",
                      steps_to_target_table(summary).to_string(float_format=lambda v: f"{v:.0f}", na_rep="-")]
    best = data.get("best")
    if "search" in sections and best:
        lines += ["", *_wrap("best trial: " + best_words(meta, best), 120)]
        if best.get("confirm"):
            lines += [f"{confirm_words(best)}\n  {best['confirm']}"]
    where = (f"{folder / 'summary.csv'}, {folder / 'report.html'}"
             + (f", {folder / 'frontier.csv'}" if frontier is not None else "")
             + (f" and {len(written)} figures in {folder / 'figures'}" if written else ""))
    return "\n".join([*lines, "", f"wrote {where}"])


def goal_text(meta: dict[str, Any]) -> str:
    return f"{target:g}" if (target := study_target(meta)) is not None else "the target"


def parity_rows(meta: dict[str, Any], trials: pd.DataFrame) -> pd.DataFrame:
    """The odd-vs-even contrasts as shown: "c [95% CI]" to three decimals, T for length."""
    parity = parity_table(trials, summary_axes(meta, trials.columns))
    parity = parity.assign(**{"c [95% CI]": [f"{r.contrast:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"
                                             for r in parity.itertuples()]})
    return parity.drop(columns=["contrast", "low", "high"]).rename(columns={"length": "T"})


def best_fields(meta: dict[str, Any], best: dict[str, Any]) -> list[str]:
    return ["eval_accuracy", *[a for a in meta.get("axes") or [] if a in best], "steps_to_target"]


def best_words(meta: dict[str, Any], best: dict[str, Any]) -> str:
    """"eval_accuracy=1, lr=0.003, steps_to_target=900" and the ties (best.json)."""
    return ", ".join(f"{k}={value_text(best.get(k), 6)}" for k in best_fields(meta, best)) + tied_words(best)


def importance_words(table: pd.DataFrame | None, stop: str = "") -> str:
    """The searched fields' importances (importances.csv), with what computed them; "" without."""
    if table is None or not len(table):
        return ""
    return (f"Importance of each searched field, {importance_label(str(table['seeds'].iloc[0]))} "
            f"(importances.csv): {importance_text(table)}{stop}")


def _legend_lines(summary: pd.DataFrame, table: pd.DataFrame, goal: str) -> list[str]:
    """What the printed table's columns are (the exercise's where its column is there)."""
    t = single_length(summary)
    lines = [f"every trial at T = {t} (the study swept no length)"] if t is not None else []
    lines += [f"this study: final held-out accuracy, mean over seeds [95% interval, {METHOD},",
              f"docs/statistics.md]; solved: seeds that reached {goal}; final train: last training-batch",
              "accuracy"]
    if "exercise" in table.columns:
        lines[-1] += "; exercise: the exercise's training-batch accuracy at step 10,000, one run"
        lines.append("(docs/exercise.md), where its models, T and settings match")
    return lines


def _wrap(text: str, width: int = 96) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)


def _left_out(summary: pd.DataFrame) -> list[str]:
    shown = left_out_words(summary)
    return [f"not in the means (summary.csv counts them): {', '.join(shown)}"] if shown else []


LEFT_OUT = {"errored": "errored", "unfinished": "unfinished", "cut": "cut by the scheduler"}


def trials_text(n: int) -> str:
    return f"{n} trial{'s' * (n != 1)}"


def left_out_words(summary: pd.DataFrame) -> list[str]:
    """What summary.csv counts but the means leave out: "1 trial errored", "9 trials cut by the scheduler"."""
    counts = {c: int(pd.to_numeric(summary[c], errors="coerce").fillna(0).sum()) for c in LEFT_OUT if c in summary}
    return [f"{trials_text(n)} {LEFT_OUT[c]}" for c, n in counts.items() if n]


def search_words(o: dict[str, Any], trials: pd.DataFrame, summary: pd.DataFrame) -> tuple[str, str]:
    """A search's "5 best of 40 trials (one seed each; ...)" (``search_overview``'s ``o``) and "one row
    per config (...)": its trials differ in their configs, not their seeds, so no mean is taken."""
    configs = int((pd.to_numeric(summary["seeds"], errors="coerce") > 0).sum()) if "seeds" in summary else 0
    return (f"{len(o['top'])} best of {trials_text(len(trials))} (one seed each; {o['scheduled']}; "
            f"{o['reached']} reached {o['goal']}{''.join('; ' + w for w in o['others'])})",
            f"one row per config ({len(summary)} row{'s' * (len(summary) != 1)}, {configs} with a finished trial); "
            "no mean is taken across configs")


def _search_text(meta: dict[str, Any], data: dict[str, Any], summary: pd.DataFrame) -> list[str]:
    """The best trials (ties in Optuna's trial order), the summary, the Pareto front, the importances."""
    trials = data["trials"]
    o = search_overview(meta, trials, data.get("numbers"))
    best, configs = search_words(o, trials, summary)
    lines = ["", f"{best}:", o["top"].to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-"),
             "", f"summary.csv: {configs}"]
    if (front := front_table(meta, trials)) is not None:
        lines += ["", f"Pareto front ({PARETO_TEXT}): {len(front)} of {trials_text(len(trials))}, pareto.csv",
                  front.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")]
    words = importance_words(data.get("importances"))
    return lines + (["", *_wrap(words)] if words else [])
