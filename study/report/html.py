"""report.html: one self-contained page to share a study (written by ``python -m study.report``).

The page is a single file: every figure under figures/ is embedded as a base64 ``data:`` URI, the
style sheet is inline, and there is no script, no link, no external font or image: it opens the
same from an e-mail attachment, offline, as from the study's folder, and its Content-Security-Policy
forbids any load but its own data: images and inline style. Every text from the study (names,
commands, axis values) is HTML-escaped.

Shown: the study's name, command, provenance (``study.provenance.provenance_line``), status and wall
time; the summary table as ``python -m study.report`` prints it (``table#summary``: model x T x every
other swept axis, final held-out accuracy "mean [95% CI]" to three decimals, solved k/n, final train
accuracy and, where it applies, the exercise's number to two: only a study with rows of the
exercise's models, T and settings has that column, ``tables.exercise_applies``; a study that swept
no length has no T column, its one T is in the heading); for a grid, the odd-vs-even contrasts
(``table#parity``, where three consecutive T were run) and the median steps to the target
(``table#steps``); for a search (Optuna), the best trial and the ten best trials
(``table#best-trials``), the per-config summary folded below; for a memory frontier, first its
frontier (``table#frontier``: each cell's longest T remembered under the rule, and
``table#frontier-probes``: every probed length's k/n with its 95% Wilson interval, from
frontier.csv) and figures/frontier.png; every figure; and all of summary.csv's columns, folded. A
swept field that trials.csv lacks is named in a note. A re-report of the same folder writes the
same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.io import write_text_atomic
from study.basics.layout import REPORT
from study.basics.provenance import duration_text, provenance_line
from study.basics.stats import METHOD
from study.basics.text import value_text
from study.frontier.options import RULE_TEXT
from study.frontier.table import CSV, cell_fit_text, cell_frontier_text, cell_held_text, format_frontier
from study.report.page import CSP, STYLE, _csv_cell, _e, _figures, _missing, _plain, _table, figure_files
from study.results.exercise import (
    CI_COLUMN,
    accuracy_vs_length,
    exercise_points,
    single_length,
    steps_to_target_table,
    study_settings,
)
from study.results.folder import missing_axes, study_target, summary_axes
from study.results.importance import importance_label, importance_text
from study.results.pareto import PARETO_TEXT, front_table
from study.results.search import confirm_words, method_text, search_overview, tied_words
from study.results.summary import group_columns, parity_table

FILE = REPORT


def write_html(folder: str | os.PathLike[str], data: dict[str, Any], summary: pd.DataFrame | None = None) -> Path:
    """Write ``folder``/report.html (atomically) and return its path.

    ``data``: ``tables.read_study_folder(folder)``; ``summary``: the summary table as written to
    summary.csv (default ``data["summary"]``). Figures are every figures/*.png in the folder.
    """
    folder = Path(folder)
    path = folder / FILE
    write_text_atomic(path, render_html(folder, data, data["summary"] if summary is None else summary))
    return path


def render_html(folder: Path, data: dict[str, Any], summary: pd.DataFrame) -> str:
    meta, trials = data["meta"], data["trials"]
    kind = meta.get("kind") or "?"
    name = str(meta.get("name") or folder.name)
    body: list[str] = [f"<h1>Study {_e(name)}</h1>", _facts(meta, trials, kind)]
    missing = missing_axes(meta, trials.columns) if len(trials.columns) else []
    if missing:
        body.append(f'<p class="note">Swept but not in trials.csv (nor curves.csv): {_e(", ".join(missing))}; '
                    "trials that differ only in these are grouped together.</p>")
    if kind == "frontier":
        body += _frontier(folder)
    finished = not summary.empty and (pd.to_numeric(summary["seeds"], errors="coerce") > 0).any()
    left_out = _left_out(summary)
    if not finished:
        body.append("<p>No finished trials to summarise.</p>")
        body += [f'<p class="note">{_e(left_out)}</p>'] if left_out else []
    elif kind == "optuna":
        body += _search(meta, data, summary, left_out)
    else:
        body += _grid(meta, trials, summary, left_out)
    body += _figures(folder, exercise=finished and kind != "optuna" and not exercise_points(
        summary, study_settings(meta, trials)).empty)
    if not summary.empty:
        groups = group_columns(summary_axes(meta, summary.columns), summary.columns)
        body += ["<details><summary>Every column of summary.csv</summary>",
                 _table(summary, "summary-csv", fmt=_csv_cell, text=set(groups) - {"length"}),
                 "</details>"]
    where = f"{meta.get('results_dir') or 'results'}/{folder.name}"
    body.append(f'<p class="note">Written by <code>python -m study.report {_e(where)}</code> from the '
                "study's trials.csv, curves.csv and study.json; the numbers are summary.csv's.</p>")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>Study {_e(name)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def _facts(meta: dict[str, Any], trials: pd.DataFrame, kind: str) -> str:
    grid = f"grid {meta['grid']}" if meta.get("grid") else "grid"
    what = grid if kind == "grid" else f"search ({method_text(meta)})" if kind == "optuna" else kind
    if kind == "frontier":
        f = meta.get("frontier") or {}
        what = (f"memory frontier (rule {f.get('solve_rule', '?')}, T from {f.get('start_length', '?')} to "
                f"{f.get('max_length', '?')})")
    wall = meta.get("wall_seconds")
    try:
        wall_text = f"{duration_text(float(wall))} ({float(wall):,.0f} s)"
    except (TypeError, ValueError):
        wall_text = "not recorded"
    rows = [("Kind", _e(what)),
            ("Command", f"<code>{_e(meta.get('command') or 'not recorded')}</code>"),
            ("Provenance", _e(provenance_line(meta))),
            ("Status", _e(meta.get("status") or "not recorded")),
            ("Wall time", _e(wall_text)),
            ("Trials", _e(f"{len(trials)} in trials.csv" + _planned(meta, len(trials))))]
    target = study_target(meta)
    if target is not None:
        rows.append(("Target", _e(f"{target:g} held-out accuracy")))
    items = "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="facts">\n{items}\n</dl>'


def _planned(meta: dict[str, Any], n: int) -> str:
    if meta.get("trials") in (None, n):
        return ""
    if meta.get("kind") == "frontier":
        return f" (the search runs at most {meta['trials']}; it stops once it knows every cell's frontier)"
    return f" of {meta['trials']} planned"


def _frontier(folder: Path) -> list[str]:
    """A memory frontier's tables (from frontier.csv): each cell's frontier, then every probe."""
    out = ["<h2>Memory frontier</h2>"]
    try:
        table = pd.read_csv(folder / CSV)
    except (OSError, ValueError, pd.errors.ParserError):
        return [*out, f'<p class="note">No {CSV}: the frontier\'s search has no state yet.</p>']
    if table.empty:
        return [*out, f'<p class="note">{CSV} is empty.</p>']
    headline = format_frontier(table).splitlines()[0]
    cells = pd.DataFrame([{"cell": label, "frontier": cell_frontier_text(rows).removeprefix("longest T remembered: "),
                           "fitted crossing [95%]": cell_fit_text(rows) or "-",
                           "solves held": cell_held_text(rows) or "-"}
                          for label, rows in table.groupby("cell", sort=False)])
    probes = table[table["length"].notna()]
    shown = pd.DataFrame({
        "cell": probes["cell"], "T": probes["length"].astype(int), "outcome": probes["outcome"],
        "k/n": [f"{int(k)}/{int(n)}" for k, n in zip(probes["k"], probes["n"], strict=True)],
        "solved rate [95% Wilson]": [_rate(r, lo, hi) for r, lo, hi in zip(probes["solved_rate"], probes["solved_low"],
                                                                          probes["solved_high"], strict=True)],
        "median steps to target": probes["steps_to_target_median"],
        "seeds launched": probes["launched"], "stopped": probes["stopped"], "errors": probes["errors"],
        "counted": ["yes" if bool(c) else "no" for c in probes["counted"]]})
    headline = headline.removeprefix("memory frontier: ")
    out += [f'<p class="note">{_e(headline[:1].upper() + headline[1:])}.</p>',
            _table(cells.rename(columns={"frontier": "longest T remembered"}), "frontier",
                   text={"cell", "longest T remembered", "fitted crossing [95%]", "solves held"}),
            f'<p class="note">Rule: {_e(RULE_TEXT)}. A probe stops once its outcome is known: k of n finished '
            "seeds; stopped seeds are not counted.</p>",
            _table(shown, "frontier-probes", text={"cell", "outcome"},
                   fmt=lambda v: "-" if _missing(v) else f"{v:,.0f}" if isinstance(v, float) else str(v))]
    return out


def _rate(rate: Any, low: Any, high: Any) -> str:
    if _missing(_plain(rate)):
        return "-"
    return f"{rate:.2f} [{low:.2f}, {high:.2f}]"


def _left_out(summary: pd.DataFrame) -> str:
    words = {"errored": "errored", "unfinished": "unfinished", "cut": "cut by the scheduler"}
    counts = {c: int(pd.to_numeric(summary[c], errors="coerce").fillna(0).sum()) for c in words if c in summary}
    shown = [f"{n} {words[c]} trials" for c, n in counts.items() if n]
    return f"Not in the means (summary.csv counts them): {', '.join(shown)}." if shown else ""


def _grid(meta: dict[str, Any], trials: pd.DataFrame, summary: pd.DataFrame, left_out: str) -> list[str]:
    target = study_target(meta)
    goal = f"{target:g}" if target is not None else "the target"
    settings = study_settings(meta, trials)
    table = accuracy_vs_length(summary, settings=settings)
    t = single_length(summary)
    note = (f"Mean over seeds [95% interval, {METHOD}, docs/statistics.md]; "
            f"solved: seeds that reached {goal}; final train: last training-batch accuracy")
    if "exercise" in table.columns:
        note += ("; exercise: the exercise's training-batch accuracy at step 10,000, one run, where its models, T "
                 "and settings match")
    out = [f"<h2>Final held-out accuracy{_e(f' at T = {t}') if t is not None else ''}</h2>",
           f'<p class="note">{_e(note)}.</p>']
    if left_out:
        out.append(f'<p class="note">{_e(left_out)}</p>')
    out.append(_accuracy_table(summary, settings=settings))
    parity = parity_table(trials, summary_axes(meta, trials.columns))
    if len(parity) and meta.get("kind") == "grid":
        shown = parity.assign(**{"c [95% CI]": [f"{r.contrast:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"
                                                for r in parity.itertuples()]})
        shown = shown.drop(columns=["contrast", "low", "high"]).rename(columns={"length": "T"})
        out += ["<h2>Odd vs even T</h2>",
                '<p class="note">c(T) = acc(T) &minus; mean(acc(T&minus;1), acc(T+1)); odd lengths easier would show '
                "c &gt; 0 at odd T and c &lt; 0 at even T, beyond the intervals (95%, MOVER from the three "
                f"lengths' {METHOD} intervals).</p>",
                _table(shown, "parity", text={c for c in shown.columns if c != "c [95% CI]"} - {"T"})]
    if pd.to_numeric(summary["solved"], errors="coerce").fillna(0).sum() > 0:
        steps = steps_to_target_table(summary)
        out += [f"<h2>Median steps to {_e(goal)} held-out accuracy</h2>",
                '<p class="note">Over the seeds that got there (&ndash;: none).</p>',
                _table(steps.reset_index(), "steps", text=set(steps.index.names),
                       fmt=lambda v: "-" if _missing(v) else f"{v:.0f}" if isinstance(v, float) else str(v))]
    return out


def _accuracy_table(summary: pd.DataFrame, element_id: str = "summary", settings: dict[str, Any] | None = None) -> str:
    """``tables.accuracy_vs_length`` as printed: CI to three decimals, final train and exercise to two."""
    table = accuracy_vs_length(summary, settings=settings).reset_index()
    groups = [c for c in table.columns if c not in (CI_COLUMN, "solved", "final train", "exercise")]
    table = table.rename(columns={CI_COLUMN: "held-out accuracy, mean [95% CI]"})
    return _table(table, element_id, text=set(groups) - {"T"},
                  fmt=lambda v: "-" if _missing(v) else f"{v:.2f}" if isinstance(v, float) else str(v))


def _search(meta: dict[str, Any], data: dict[str, Any], summary: pd.DataFrame, left_out: str) -> list[str]:
    trials, best = data["trials"], data.get("best")
    o = search_overview(meta, trials, data.get("numbers"))
    fields, top, others, reached, goal = o["fields"], o["top"], o["others"], o["reached"], o["goal"]
    out = ["<h2>Best trials</h2>"]
    if best:
        shown = ["eval_accuracy", *[a for a in meta.get("axes") or [] if a in best], "steps_to_target"]
        out.append("<p>Best trial: " + _e(", ".join(f"{k}={value_text(best.get(k), 6)}" for k in shown)
                                          + tied_words(best)) + "</p>")
        if best.get("confirm"):
            words = confirm_words(best)
            out.append(f"<p>{_e(words[0].upper() + words[1:])}</p><pre>{_e(best['confirm'])}</pre>")
    out += [f'<p class="note">{_e(len(top))} best of {_e(len(trials))} trials (one seed each; {_e(o["scheduled"])}; '
            f"{reached} reached {_e(goal)}{_e(''.join('; ' + o for o in others))}).</p>",
            _table(top, "best-trials", text={"trial_id", "stopped_by", *fields},
                   fmt=lambda v: "-" if _missing(v) else f"{v:.4g}" if isinstance(v, float) else str(v))]
    configs = int((pd.to_numeric(summary["seeds"], errors="coerce") > 0).sum())
    out += ["<details><summary>" + _e(f"Summary: one row per config ({len(summary)} rows, {configs} with a finished "
                                      "trial); no mean is taken across configs") + "</summary>",
            *([f'<p class="note">{_e(left_out)}</p>'] if left_out else []),
            _accuracy_table(summary, settings=study_settings(meta, trials)), "</details>"]
    importances = data.get("importances")
    if importances is not None and len(importances):
        words = (f"Importance of each searched field, {importance_label(str(importances['seeds'].iloc[0]))} "
                 f"(importances.csv): {importance_text(importances)}.")
        out.append(f'<p class="note">{_e(words)}</p>')
    front = front_table(meta, trials)
    if front is not None:
        out += ["<h2>Pareto front</h2>", f'<p class="note">{_e(len(front))} of {_e(len(trials))} trials; '
                f"{_e(PARETO_TEXT)} (pareto.csv).</p>", _table(front, "pareto", text={"trial_id", "model"},
                fmt=lambda v: "-" if _missing(v) else f"{v:.4g}" if isinstance(v, float) else str(v))]
    return out


__all__: Sequence[str] = ["FILE", "figure_files", "render_html", "write_html"]
