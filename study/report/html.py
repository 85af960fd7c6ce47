"""report.html: one self-contained page to share a study. Figures are inlined as base64 ``data:`` URIs, the
style sheet too, with no script, link or font (its CSP forbids any load): it opens the same offline, from an
e-mail; every text from the study is escaped. It leads with its answer and figure (a grid's accuracy against
T, a frontier's longest T, a search's best config), then contents, facts, tables, figures, summary.csv."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.io import write_text_atomic
from study.basics.layout import REPORT
from study.basics.provenance import duration_text, provenance_line
from study.basics.stats import METHOD
from study.basics.text import value_text
from study.frontier.options import RULE_TEXT
from study.frontier.table import CSV, FIGURE, cell_fit_text, cell_frontier_text, cell_held_text, format_frontier
from study.planning.kinds import Kind, kind_named
from study.planning.kinds.search import method_text
from study.report import page, text
from study.report.page import Section, esc, html_page, html_table, notes, sectioned
from study.results.exercise import (
    CI_COLUMN,
    accuracy_vs_length,
    exercise_points,
    single_length,
    steps_to_target_table,
    study_settings,
)
from study.results.folder import missing_axes, study_target, summary_axes
from study.results.pareto import PARETO_TEXT, front_table
from study.results.search import confirm_words, search_overview
from study.results.summary import group_columns

FILE = REPORT


def write_html(folder: str | os.PathLike[str], data: dict[str, Any], summary: pd.DataFrame) -> Path:
    """Write ``folder``/report.html from ``read_study_folder``'s ``data`` and ``summary`` (as summary.csv has it)."""
    write_text_atomic(path := Path(folder) / FILE, render_html(Path(folder), data, summary))
    return path


def render_html(folder: Path, data: dict[str, Any], summary: pd.DataFrame) -> str:
    meta, trials = data["meta"], data["trials"]
    kind = kind_named(meta.get("kind"))  # its report's sections: ``Kind.report``
    name = str(meta.get("name") or folder.name)
    finished = not summary.empty and (pd.to_numeric(summary["seeds"], errors="coerce") > 0).any()
    title, parts, rest, figure = _answer(folder, data, summary, kind, bool(finished))
    files = page.figure_files(folder)
    exercise = (bool(finished) and "accuracy" in kind.report
                and not exercise_points(summary, study_settings(meta, trials)).empty)
    shown = next((p for p in files if p.name == figure), None)
    if shown is not None:
        parts = ['<div class="headline">', page.figure_html(shown, page.figure_caption(shown.name, exercise)),
                 '<div class="tables">', *parts, "</div>", "</div>"]
    missing = ", ".join(missing_axes(meta, trials.columns) if len(trials.columns) else [])
    about = [_facts(meta, trials, kind), *notes(missing and f"Swept but not in trials.csv (nor curves.csv): {missing}; "
                                                "trials that differ only in these are grouped together.")]
    sections: list[Section] = [("about", "About this study", about), *rest]
    if others := [p for p in files if p is not shown]:  # two columns on a desktop page; a wide figure spans both
        sections.append(("figures", "Figures", ['<div class="figures">', *(page.figure_html(
            p, page.figure_caption(p.name, exercise)) for p in others), "</div>"]))
    if not summary.empty:
        groups = group_columns(summary_axes(meta, summary.columns), summary.columns)
        sections.append(("summary-columns", "Every column of summary.csv", [
            "<details><summary>summary.csv, as written</summary>",
            html_table(summary, "summary-csv", fmt=page.csv_cell, text=set(groups) - {"length"}),
            "</details>"]))
    lede = [_what(meta, kind), text.trials_text(len(trials)), str(meta.get("status") or "status not recorded"),
            *filter(None, [_wall(meta)])]
    body = [f"<h1>Study {esc(name)}</h1>", f'<p class="lede">{esc("; ".join(lede))}.</p>',
            *sectioned([("headline", title, parts), *sections]),
            f'<p class="note">Written by <code>python -m study.report {esc(shlex.quote(page.shown_folder(folder)))}'
            "</code> from the study's trials.csv, curves.csv and study.json; the numbers are summary.csv's.</p>"]
    return html_page(f"Study {esc(name)}", body, head=('<meta name="referrer" content="no-referrer">',))


def _answer(folder: Path, data: dict[str, Any], summary: pd.DataFrame, kind: Kind,
            finished: bool) -> tuple[str, list[str], list[Section], str | None]:
    """The headline's title and parts, the sections after it, the file name of the headline's figure."""
    meta, trials = data["meta"], data["trials"]
    shown = text.left_out_words(summary)
    left_out = f"Not in the means (summary.csv counts them): {', '.join(shown)}." if shown else ""
    if "frontier-table" in kind.report:
        (title, parts), probes = _frontier(folder)
        rest = ([probes] if probes else []) + (_grid(meta, trials, summary, left_out, kind) if finished else [])
        return title, parts, rest, FIGURE
    if not finished:
        return "No finished trials", ["<p>No finished trials to summarise.</p>", *notes(left_out)], [], None
    if "search" in kind.report:
        return "Best config", *_search(meta, data, summary, left_out), None
    (_, title, parts), *rest = _grid(meta, trials, summary, left_out, kind)
    x = next((p.name for p in page.figure_files(folder) if p.name.startswith("accuracy_vs_")), None)
    return title, parts, rest, x


def _what(meta: dict[str, Any], kind: Kind) -> str:
    return kind.title(meta, long=True) + (f" ({method_text(meta)})" if "search" in kind.report else "")


def _wall(meta: dict[str, Any]) -> str | None:
    try:
        wall = float(meta.get("wall_seconds"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f"{duration_text(wall)} ({wall:,.0f} s)"


def _facts(meta: dict[str, Any], trials: pd.DataFrame, kind: Kind) -> str:
    target, n, planned = study_target(meta), len(trials), meta.get("trials")
    more = ("" if planned in (None, n) else f" of {planned} planned" if "frontier-table" not in kind.report
            else f" (the search runs at most {planned}; it stops once it knows every cell's frontier)")
    rows = [("Kind", esc(_what(meta, kind))),
            ("Command", f"<code>{esc(meta.get('command') or 'not recorded')}</code>"),
            ("Provenance", esc(provenance_line(meta))),
            ("Status", esc(meta.get("status") or "not recorded")),
            ("Wall time", esc(_wall(meta) or "not recorded")),
            ("Trials", esc(f"{n} in trials.csv{more}")),
            *([("Target", esc(f"{target:g} held-out accuracy"))] if target is not None else [])]
    items = "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="facts">\n{items}\n</dl>'


def _frontier(folder: Path) -> tuple[tuple[str, list[str]], Section | None]:
    """A memory frontier's headline (each cell's frontier) and its section of every probe, from frontier.csv."""
    title = "Memory frontier"
    try:
        table = pd.read_csv(folder / CSV)
    except (OSError, ValueError, pd.errors.ParserError):
        return (title, [f'<p class="note">No {CSV}: the frontier\'s search has no state yet.</p>']), None
    if table.empty:
        return (title, [f'<p class="note">{CSV} is empty.</p>']), None
    longest = "longest T remembered"
    cells = pd.DataFrame([{"cell": label, longest: cell_frontier_text(rows).removeprefix(f"{longest}: "),
                           "fitted crossing [95%]": cell_fit_text(rows) or "-",
                           "solves held": cell_held_text(rows) or "-"}
                          for label, rows in table.groupby("cell", sort=False)])
    probes = table[table["length"].notna()]
    shown = pd.DataFrame({
        "cell": probes["cell"], "T": probes["length"].astype(int), "outcome": probes["outcome"],
        "k/n": [f"{int(k)}/{int(n)}" for k, n in zip(probes["k"], probes["n"], strict=True)],
        "solved rate [95% Wilson]": ["-" if pd.isna(r) else f"{r:.2f} [{lo:.2f}, {hi:.2f}]" for r, lo, hi in zip(
            probes["solved_rate"], probes["solved_low"], probes["solved_high"], strict=True)],
        "median steps to target": probes["steps_to_target_median"],
        "seeds launched": probes["launched"], "stopped": probes["stopped"], "errors": probes["errors"],
        "counted": ["yes" if bool(c) else "no" for c in probes["counted"]]})
    headline = format_frontier(table).splitlines()[0].removeprefix("memory frontier: ")
    head = [f'<p class="note">{esc(headline[:1].upper() + headline[1:])}.</p>',
            html_table(cells, "frontier", text=set(cells.columns)),
            f'<p class="note">Rule: {esc(RULE_TEXT)}.</p>']
    every = ['<p class="note">A probe stops once its outcome is known: k of n finished seeds; stopped seeds are '
             "not counted.</p>", html_table(shown, "frontier-probes", text={"cell", "outcome"}, fmt=",.0f")]
    return (title, head), ("probes", "Every probe", every)


def _grid(meta: dict[str, Any], trials: pd.DataFrame, summary: pd.DataFrame, left_out: str,
          kind: Kind) -> list[Section]:
    """The accuracy table (first: a grid's headline), the odd-vs-even contrasts, the steps to the target."""
    goal = text.goal_text(meta)
    settings = study_settings(meta, trials)
    t = single_length(summary)
    note = (f"Mean over seeds [95% interval, {METHOD}, docs/statistics.md]; "
            f"solved: seeds that reached {goal}; final train: last training-batch accuracy")
    if "exercise" in accuracy_vs_length(summary, settings=settings).columns:
        note += ("; exercise: the exercise's training-batch accuracy at step 10,000, one run, where its models, T "
                 "and settings match")
    title = f"Final held-out accuracy at T = {t}" if t is not None else "Final held-out accuracy against T"
    out: list[Section] = [("accuracy", title, [*notes(note + ".", left_out), _accuracy_table(summary, settings)])]
    parity = text.parity_rows(meta, trials)
    if len(parity) and "odd-even" in kind.report:
        out.append(("parity", "Odd vs even T", [
            '<p class="note">c(T) = acc(T) &minus; mean(acc(T&minus;1), acc(T+1)); odd lengths easier would show '
            "c &gt; 0 at odd T and c &lt; 0 at even T, beyond the intervals (95%, MOVER from the three "
            f"lengths' {METHOD} intervals).</p>",
            html_table(parity, "parity", text={c for c in parity.columns if c != "c [95% CI]"} - {"T"})]))
    if pd.to_numeric(summary["solved"], errors="coerce").fillna(0).sum() > 0:
        steps = steps_to_target_table(summary)
        out.append(("steps", f"Median steps to {goal} held-out accuracy", [
            '<p class="note">Over the seeds that got there (&ndash;: none).</p>',
            html_table(steps.reset_index(), "steps", text=set(steps.index.names), fmt=".0f")]))
    return out


def _accuracy_table(summary: pd.DataFrame, settings: dict[str, Any]) -> str:
    """``accuracy_vs_length`` as printed: CI to three decimals, final train and exercise to two."""
    table = accuracy_vs_length(summary, settings=settings).reset_index()
    groups = [c for c in table.columns if c not in (CI_COLUMN, "solved", "final train", "exercise")]
    table = table.rename(columns={CI_COLUMN: "held-out accuracy, mean [95% CI]"})
    return html_table(table, "summary", text=set(groups) - {"T"}, fmt=".2f")


def _best_table(meta: dict[str, Any], best: dict[str, Any]) -> pd.DataFrame:
    """best.json as a table: the best trial, then each cell's best (a search over several cells)."""
    shown = ["trial_id", *text.best_fields(meta, best)]
    cells = best.get("cells") or {}
    rows = [{**({"cell": "every cell"} if cells else {}), **{k: value_text(best.get(k), 6) for k in shown}}]
    rows += [{"cell": c, **{k: value_text(entry.get(k), 6) for k in shown}} for c, entry in cells.items()]
    return pd.DataFrame(rows)


def _search(meta: dict[str, Any], data: dict[str, Any], summary: pd.DataFrame,
            left_out: str) -> tuple[list[str], list[Section]]:
    """A search's headline (its best config, best.json) and its sections: the best trials, the Pareto front."""
    trials, best = data["trials"], data.get("best")
    o = search_overview(meta, trials, data.get("numbers"))
    fields, top = o["fields"], o["top"]
    head = ['<p class="note">No best.json: no trial of the search finished.</p>']
    if best:
        head = [f"<p>Best trial: {esc(text.best_words(meta, best))}</p>",
                html_table(_best_table(meta, best), "best", text={"cell", "trial_id", *fields})]
        if best.get("confirm"):
            words = confirm_words(best)
            head.append(f"<p>{esc(words[0].upper() + words[1:])}</p><pre>{esc(best['confirm'])}</pre>")
    best_of, configs = text.search_words(o, trials, summary)
    ranked = [*notes(f"{best_of}."),
              html_table(top, "best-trials", text={"trial_id", "stopped_by", *fields}, fmt=".4g"),
              f"<details><summary>{esc(f'Summary: {configs}')}</summary>",
              *notes(left_out), _accuracy_table(summary, study_settings(meta, trials)), "</details>",
              *notes(text.importance_words(data.get("importances"), "."))]
    rest: list[Section] = [("best-trials", "Best trials", ranked)]
    front = front_table(meta, trials)
    if front is not None:
        rest.append(("pareto", "Pareto front", [
            *notes(f"{len(front)} of {text.trials_text(len(trials))}; {PARETO_TEXT} (pareto.csv)."),
            html_table(front, "pareto", text={"trial_id", "model"}, fmt=".4g")]))
    return head, rest
