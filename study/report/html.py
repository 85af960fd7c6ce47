"""report.html: one self-contained page to share a study (written by ``python -m study.report``).

The page is a single file: every figure under figures/ is embedded as a base64 ``data:`` URI, the
style sheet is inline, and there is no script, link, external font or image, so it opens the same
from an e-mail attachment, offline; its Content-Security-Policy forbids any other load. Every text
from the study (names, commands, axis values) is HTML-escaped.

The page leads with its answer, its figure beside its table (a grid: final held-out accuracy
against T; a memory frontier: each cell's longest T remembered; a search: its best config with
the command that confirms it), then a table of contents, then the rest: the study's facts, the
kind's own tables (a grid's odd-vs-even contrasts and steps to the target, a frontier's every
probe, a search's best trials, importances and Pareto front), every other figure, captioned, and
all of summary.csv's columns, folded. A re-report of the same folder from the same place writes
the same bytes."""

from __future__ import annotations

import os
import shlex
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
from study.frontier.table import CSV, FIGURE, cell_fit_text, cell_frontier_text, cell_held_text, format_frontier
from study.planning.kinds import Kind, kind_named
from study.planning.kinds.search import method_text
from study.report.page import (
    CSP,
    STYLE,
    contents,
    csv_cell,
    esc,
    figure_caption,
    figure_cards,
    figure_files,
    figure_html,
    html_table,
    missing_value,
    plain_value,
    scroll,
    section,
    shown_folder,
)
from study.report.text import left_out_words, trials_text
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
from study.results.search import confirm_words, search_overview, tied_words
from study.results.summary import group_columns, parity_table

FILE = REPORT
Section = tuple[str, str, list[str]]  # (id, title, the section's HTML parts)


def write_html(folder: str | os.PathLike[str], data: dict[str, Any], summary: pd.DataFrame | None = None) -> Path:
    """Write ``folder``/report.html (atomically) and return its path.

    ``data``: ``read_study_folder(folder)``; ``summary``: the summary table as written to summary.csv
    (default ``data["summary"]``)."""
    folder = Path(folder)
    path = folder / FILE
    write_text_atomic(path, render_html(folder, data, data["summary"] if summary is None else summary))
    return path


def render_html(folder: Path, data: dict[str, Any], summary: pd.DataFrame) -> str:
    meta, trials = data["meta"], data["trials"]
    kind = kind_named(meta.get("kind"))  # its report's sections: ``Kind.report``
    name = str(meta.get("name") or folder.name)
    finished = not summary.empty and (pd.to_numeric(summary["seeds"], errors="coerce") > 0).any()
    title, parts, figure, rest = _answer(folder, data, summary, kind, bool(finished))
    files = figure_files(folder)
    exercise = (bool(finished) and "accuracy" in kind.report
                and not exercise_points(summary, study_settings(meta, trials)).empty)
    shown = next((p for p in files if p.name == figure), None)
    if shown is not None:
        parts = ['<div class="headline">', figure_html(shown, figure_caption(shown.name, exercise)),
                 '<div class="tables">', *parts, "</div>", "</div>"]
    missing = missing_axes(meta, trials.columns) if len(trials.columns) else []
    about = [_facts(meta, trials, kind)]
    if missing:
        about.append(f'<p class="note">Swept but not in trials.csv (nor curves.csv): {esc(", ".join(missing))}; '
                     "trials that differ only in these are grouped together.</p>")
    sections: list[Section] = [("about", "About this study", about), *rest]
    others = [p for p in files if p is not shown]
    if others:
        sections.append(("figures", "Figures", figure_cards(others, exercise)))
    if not summary.empty:
        groups = group_columns(summary_axes(meta, summary.columns), summary.columns)
        sections.append(("summary-columns", "Every column of summary.csv", [
            "<details><summary>summary.csv, as written</summary>",
            scroll(html_table(summary, "summary-csv", fmt=csv_cell, text=set(groups) - {"length"})), "</details>"]))
    body = [f"<h1>Study {esc(name)}</h1>", f'<p class="lede">{esc(_lede(meta, trials, kind))}</p>',
            *section("headline", title, parts),
            contents([("headline", title), *((i, t) for i, t, _ in sections)])]
    for element_id, heading, content in sections:
        body += section(element_id, heading, content)
    where = shlex.quote(shown_folder(folder))
    body.append(f'<p class="note">Written by <code>python -m study.report {esc(where)}</code> from the '
                "study's trials.csv, curves.csv and study.json; the numbers are summary.csv's.</p>")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>Study {esc(name)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


def _answer(folder: Path, data: dict[str, Any], summary: pd.DataFrame, kind: Kind,
            finished: bool) -> tuple[str, list[str], str | None, list[Section]]:
    """The headline (its title, its parts, the file name of its figure) and the sections after it."""
    meta, trials = data["meta"], data["trials"]
    left_out = _left_out(summary)
    if "frontier-table" in kind.report:
        (title, parts), probes = _frontier(folder)
        rest = [probes] if probes else []
        if finished:
            rest += _grid(meta, trials, summary, left_out, kind)
        return title, parts, FIGURE, rest
    if not finished:
        return "No finished trials", ["<p>No finished trials to summarise.</p>",
                                      *([f'<p class="note">{esc(left_out)}</p>'] if left_out else [])], None, []
    if "search" in kind.report:
        head, rest = _search(meta, data, summary, left_out)
        return "Best config", head, None, rest
    (_, title, parts), *rest = _grid(meta, trials, summary, left_out, kind)
    x = next((p.name for p in figure_files(folder) if p.name.startswith("accuracy_vs_")), None)
    return title, parts, x, rest


def _what(meta: dict[str, Any], kind: Kind) -> str:
    return kind.title(meta, long=True) + (f" ({method_text(meta)})" if "search" in kind.report else "")


def _wall(meta: dict[str, Any]) -> str | None:
    try:
        wall = float(meta.get("wall_seconds"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f"{duration_text(wall)} ({wall:,.0f} s)"


def _lede(meta: dict[str, Any], trials: pd.DataFrame, kind: Kind) -> str:
    """One line under the title: what the study is, its trials, its status and wall time."""
    n = len(trials)
    words = [_what(meta, kind), trials_text(n), str(meta.get("status") or "status not recorded")]
    wall = _wall(meta)
    return "; ".join(words + ([wall] if wall else [])) + "."


def _facts(meta: dict[str, Any], trials: pd.DataFrame, kind: Kind) -> str:
    rows = [("Kind", esc(_what(meta, kind))),
            ("Command", f"<code>{esc(meta.get('command') or 'not recorded')}</code>"),
            ("Provenance", esc(provenance_line(meta))),
            ("Status", esc(meta.get("status") or "not recorded")),
            ("Wall time", esc(_wall(meta) or "not recorded")),
            ("Trials", esc(f"{len(trials)} in trials.csv" + _planned(meta, len(trials), kind)))]
    target = study_target(meta)
    if target is not None:
        rows.append(("Target", esc(f"{target:g} held-out accuracy")))
    items = "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="facts">\n{items}\n</dl>'


def _planned(meta: dict[str, Any], n: int, kind: Kind) -> str:
    if meta.get("trials") in (None, n):
        return ""
    if "frontier-table" in kind.report:
        return f" (the search runs at most {meta['trials']}; it stops once it knows every cell's frontier)"
    return f" of {meta['trials']} planned"


def _frontier(folder: Path) -> tuple[tuple[str, list[str]], Section | None]:
    """A memory frontier's headline (each cell's frontier) and its section of every probe, from frontier.csv."""
    title = "Memory frontier"
    try:
        table = pd.read_csv(folder / CSV)
    except (OSError, ValueError, pd.errors.ParserError):
        return (title, [f'<p class="note">No {CSV}: the frontier\'s search has no state yet.</p>']), None
    if table.empty:
        return (title, [f'<p class="note">{CSV} is empty.</p>']), None
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
    head = [f'<p class="note">{esc(headline[:1].upper() + headline[1:])}.</p>',
            scroll(html_table(cells.rename(columns={"frontier": "longest T remembered"}), "frontier",
                          text={"cell", "longest T remembered", "fitted crossing [95%]", "solves held"})),
            f'<p class="note">Rule: {esc(RULE_TEXT)}.</p>']
    every = ['<p class="note">A probe stops once its outcome is known: k of n finished seeds; stopped seeds are '
             "not counted.</p>",
             scroll(html_table(shown, "frontier-probes", text={"cell", "outcome"},
                           fmt=lambda v: "-" if missing_value(v) else f"{v:,.0f}" if isinstance(v, float) else str(v)))]
    return (title, head), ("probes", "Every probe", every)


def _rate(rate: Any, low: Any, high: Any) -> str:
    if missing_value(plain_value(rate)):
        return "-"
    return f"{rate:.2f} [{low:.2f}, {high:.2f}]"


def _left_out(summary: pd.DataFrame) -> str:
    shown = left_out_words(summary)
    return f"Not in the means (summary.csv counts them): {', '.join(shown)}." if shown else ""


def _grid(meta: dict[str, Any], trials: pd.DataFrame, summary: pd.DataFrame, left_out: str,
          kind: Kind) -> list[Section]:
    """The accuracy table (first: a grid's headline), the odd-vs-even contrasts, the steps to the target."""
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
    accuracy = [f'<p class="note">{esc(note)}.</p>', *([f'<p class="note">{esc(left_out)}</p>'] if left_out else []),
                scroll(_accuracy_table(summary, settings=settings))]
    title = f"Final held-out accuracy at T = {t}" if t is not None else "Final held-out accuracy against T"
    out: list[Section] = [("accuracy", title, accuracy)]
    parity = parity_table(trials, summary_axes(meta, trials.columns))
    if len(parity) and "odd-even" in kind.report:
        shown = parity.assign(**{"c [95% CI]": [f"{r.contrast:+.3f} [{r.low:+.3f}, {r.high:+.3f}]"
                                                for r in parity.itertuples()]})
        shown = shown.drop(columns=["contrast", "low", "high"]).rename(columns={"length": "T"})
        out.append(("parity", "Odd vs even T", [
            '<p class="note">c(T) = acc(T) &minus; mean(acc(T&minus;1), acc(T+1)); odd lengths easier would show '
            "c &gt; 0 at odd T and c &lt; 0 at even T, beyond the intervals (95%, MOVER from the three "
            f"lengths' {METHOD} intervals).</p>",
            scroll(html_table(shown, "parity", text={c for c in shown.columns if c != "c [95% CI]"} - {"T"}))]))
    if pd.to_numeric(summary["solved"], errors="coerce").fillna(0).sum() > 0:
        steps = steps_to_target_table(summary)
        out.append(("steps", f"Median steps to {goal} held-out accuracy", [
            '<p class="note">Over the seeds that got there (&ndash;: none).</p>',
            scroll(html_table(steps.reset_index(), "steps", text=set(steps.index.names),
                          fmt=lambda v: "-" if missing_value(v) else f"{v:.0f}" if isinstance(v, float) else str(v)))]))
    return out


def _accuracy_table(summary: pd.DataFrame, element_id: str = "summary", settings: dict[str, Any] | None = None) -> str:
    """``tables.accuracy_vs_length`` as printed: CI to three decimals, final train and exercise to two."""
    table = accuracy_vs_length(summary, settings=settings).reset_index()
    groups = [c for c in table.columns if c not in (CI_COLUMN, "solved", "final train", "exercise")]
    table = table.rename(columns={CI_COLUMN: "held-out accuracy, mean [95% CI]"})
    return html_table(table, element_id, text=set(groups) - {"T"},
                  fmt=lambda v: "-" if missing_value(v) else f"{v:.2f}" if isinstance(v, float) else str(v))


def _best_table(meta: dict[str, Any], best: dict[str, Any]) -> pd.DataFrame:
    """best.json as a table: the best trial, then each cell's best (a search over several cells)."""
    shown = ["trial_id", "eval_accuracy", *[a for a in meta.get("axes") or [] if a in best], "steps_to_target"]
    cells = best.get("cells") or {}
    rows = [{**({"cell": "every cell"} if cells else {}), **{k: value_text(best.get(k), 6) for k in shown}}]
    rows += [{"cell": c, **{k: value_text(entry.get(k), 6) for k in shown}} for c, entry in cells.items()]
    return pd.DataFrame(rows)


def _search(meta: dict[str, Any], data: dict[str, Any], summary: pd.DataFrame,
            left_out: str) -> tuple[list[str], list[Section]]:
    """A search's headline (its best config, best.json) and its sections: the best trials, the Pareto front."""
    trials, best = data["trials"], data.get("best")
    o = search_overview(meta, trials, data.get("numbers"))
    fields, top, others, reached, goal = o["fields"], o["top"], o["others"], o["reached"], o["goal"]
    head = []
    if best:
        shown = ["eval_accuracy", *[a for a in meta.get("axes") or [] if a in best], "steps_to_target"]
        table = _best_table(meta, best)
        head += ["<p>Best trial: " + esc(", ".join(f"{k}={value_text(best.get(k), 6)}" for k in shown)
                                        + tied_words(best)) + "</p>",
                 scroll(html_table(table, "best", text={"cell", "trial_id", *fields}))]
        if best.get("confirm"):
            words = confirm_words(best)
            head.append(f"<p>{esc(words[0].upper() + words[1:])}</p><pre>{esc(best['confirm'])}</pre>")
    else:
        head.append('<p class="note">No best.json: no trial of the search finished.</p>')
    configs = int((pd.to_numeric(summary["seeds"], errors="coerce") > 0).sum())
    ranked = [f'<p class="note">{esc(len(top))} best of {esc(trials_text(len(trials)))} (one seed each; '
              f"{esc(o['scheduled'])}; {reached} reached {esc(goal)}{esc(''.join('; ' + o for o in others))}).</p>",
              scroll(html_table(top, "best-trials", text={"trial_id", "stopped_by", *fields},
                            fmt=lambda v: "-" if missing_value(v) else f"{v:.4g}" if isinstance(v, float) else str(v))),
              "<details><summary>" + esc(f"Summary: one row per config ({len(summary)} row"
                                        f"{'s' * (len(summary) != 1)}, {configs} with a finished trial); no mean is "
                                        "taken across configs") + "</summary>",
              *([f'<p class="note">{esc(left_out)}</p>'] if left_out else []),
              scroll(_accuracy_table(summary, settings=study_settings(meta, trials))), "</details>"]
    importances = data.get("importances")
    if importances is not None and len(importances):
        words = (f"Importance of each searched field, {importance_label(str(importances['seeds'].iloc[0]))} "
                 f"(importances.csv): {importance_text(importances)}.")
        ranked.append(f'<p class="note">{esc(words)}</p>')
    rest: list[Section] = [("best-trials", "Best trials", ranked)]
    front = front_table(meta, trials)
    if front is not None:
        rest.append(("pareto", "Pareto front", [
            f'<p class="note">{esc(len(front))} of {esc(trials_text(len(trials)))}; '
            f'{esc(PARETO_TEXT)} (pareto.csv).</p>',
            scroll(html_table(front, "pareto", text={"trial_id", "model"},
                          fmt=lambda v: "-" if missing_value(v) else f"{v:.4g}" if isinstance(v, float) else str(v)))]))
    return head, rest


__all__: Sequence[str] = ["FILE", "figure_files", "render_html", "write_html"]
