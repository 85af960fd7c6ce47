"""What report.html and compare.html share: the page, its style, escaping, tables, sections with a
table of contents, and figures embedded as base64 ``data:`` URIs in reading order, captioned."""

from __future__ import annotations

import base64
import functools
import html
import math
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.layout import FIGURES
from study.basics.stats import METHOD

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
# Figures in reading order (by name, or by the longest prefix ending in "_" that names them); others
# follow alphabetically. A study with one T has accuracy_vs_<axis>.png where others have ..._vs_length.
FIGURE_ORDER = ("frontier.png", "accuracy_vs_length.png", "accuracy_vs_", "curves_both.png", "curves_",
                "steps_to_target.png", "steps_to_target_vs_", "mean_accuracy_vs_length.png", "mean_accuracy_vs_",
                "accuracy_vs_length_by_", "optuna_history.png", "optuna_importances.png", "pareto.png",
                "pbt.png", "best_curve.png", "gradient_flow.png")
CAPTIONS = {
    "frontier.png": "The memory frontier: seeds solved k/n against T per cell (95% Wilson intervals); filled: "
                    "passed, open: failed, x: moot; the star: the longest T remembered; dashed: the rule's K/N",
    "curves_both.png": "Held-out accuracy against training steps, every model side by side (RNN dashed): a panel "
                       f"per T (and per value of the other swept axes); bands: 95% intervals across seeds ({METHOD}); "
                       "a line is thin where fewer seeds are in its mean",
    "accuracy_vs_length.png": f"Final held-out accuracy against T, mean over seeds with 95% intervals ({METHOD})",
    "mean_accuracy_vs_length.png": "The exercise's metric: mean training-batch accuracy over all steps, against T",
    "steps_to_target.png": "Median steps to the target held-out accuracy, over the seeds that reached it",
    "optuna_history.png": "The search's history: each trial's held-out accuracy and the best so far",
    "optuna_importances.png": "Hyperparameter importance of the searched fields: fANOVA (Optuna's "
                              "FanovaImportanceEvaluator), the mean over seeds 0-9 and their range (importances.csv)",
    "pareto.png": "Every finished trial in the search's first two objectives; the Pareto front marked and joined",
    "pbt.png": "Population Based Training: each trial's learning rate and held-out accuracy over the steps; a "
               "star where it went on from another trial's weights, dotted from the donor's accuracy",
    "best_curve.png": "The best trial's training curve",
    "gradient_flow.png": "Gradient flow: ||dL/dh_t|| / ||dL/dh_T|| against t (log scale), a panel per model, a "
                         "colour per init; solid: untrained, dashed: trained (python -m study.gradients, "
                         "docs/gradients.md)",
}
EXERCISE_CAPTION = ", beside the exercise's numbers where they apply"
WIDE = 900  # a figure wider than this many pixels spans both columns (and the headline's width)
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 2rem auto; max-width: 100rem; padding: 0 1.5rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.lede { color: #444; margin-top: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
            font-size: .9em; background: #f4f4f4; padding: .1em .3em; border-radius: 3px; }
code { overflow-wrap: anywhere; }
pre { padding: .6em; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; min-width: 0; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th { background: #f0f0f0; }
td { white-space: nowrap; }
td.text, th.text { text-align: left; white-space: normal; }
tbody tr:nth-child(even) { background: #fafafa; }
.scroll { max-width: 100%; overflow-x: auto; }
.headline { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; }
.headline > figure { flex: 1 1 38rem; min-width: 0; margin: .5rem 0; }
.headline > figure.wide { flex-basis: 100%; }
.headline > .tables { flex: 1 1 30rem; min-width: 0; }
nav.contents ol { columns: 2 18rem; margin: .3rem 0; }
.figures { display: grid; grid-template-columns: minmax(0, 1fr); gap: 1.5rem; }
@media (min-width: 1200px) { .figures { grid-template-columns: repeat(2, minmax(0, 1fr)); }
                             .figures figure.wide { grid-column: 1 / -1; } }
figure { margin: 1rem 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9rem; }
.note { color: #555; font-size: .92rem; }
details summary { cursor: pointer; margin: .5rem 0; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def notes(*texts: str) -> list[str]:
    """Each text, escaped, as a note (none for an empty one)."""
    return [f'<p class="note">{esc(t)}</p>' for t in texts if t]


def missing_value(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def csv_cell(v: Any) -> str:
    return "" if missing_value(v) else str(v)  # as summary.csv writes it


def html_table(df: pd.DataFrame, element_id: str, text: set[str] | None = None,
               fmt: str | Callable[[Any], str] = "", scroll: bool = True) -> str:
    """A DataFrame as an HTML table, every cell escaped, ``text`` columns left-aligned; ``fmt``: a formatter,
    or the floats' format (missing: "-"); ``scroll``: in a box that scrolls sideways (wider than the page)."""
    cell = functools.partial(_cell, spec=fmt) if isinstance(fmt, str) else fmt
    cls = {c: ' class="text"' if c in (text or set()) else "" for c in df.columns}
    head = "".join(f"<th{cls[c]}>{esc(c)}</th>" for c in df.columns)
    rows = "\n".join("<tr>" + "".join(f"<td{cls[c]}>{esc(cell(_plain(v)))}</td>"
                                      for c, v in zip(df.columns, values, strict=True)) + "</tr>"
                     for values in df.itertuples(index=False, name=None))
    table = f'<table id="{esc(element_id)}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>'
    return f'<div class="scroll">{table}</div>' if scroll else table


def _plain(v: Any) -> Any:  # numpy scalars as Python ones (a float stays a float for the formatter)
    return v.item() if hasattr(v, "item") and not isinstance(v, str | bytes) else v


def _cell(v: Any, spec: str) -> str:
    return "-" if missing_value(v) else format(v, spec) if spec and isinstance(v, float) else str(v)


def figure_files(folder: Path) -> list[Path]:
    """figures/*.png in reading order (``FIGURE_ORDER``), less those that repeat another."""
    files = [p for p in sorted((folder / FIGURES).glob("*.png")) if p.is_file()] if (folder / FIGURES).is_dir() else []

    def rank(p: Path) -> tuple[int, str]:
        matches = [(len(entry), i) for i, entry in enumerate(FIGURE_ORDER)
                   if p.name == entry or (entry.endswith("_") and p.name.startswith(entry))]
        return (max(matches)[1] if matches else len(FIGURE_ORDER)), p.name

    # accuracy_vs_length_by_<axis>.png (older report code) draws accuracy_vs_length.png's means and intervals
    # again, cut by one axis: left out beside it.
    names = {p.name for p in files}
    dropped = {n for n in names if n.startswith("accuracy_vs_length_by_")} if "accuracy_vs_length.png" in names else ()
    return sorted((p for p in files if p.name not in dropped), key=rank)


def figure_html(path: Path, caption: str) -> str:
    """One figure, its bytes inlined, with its caption and file name."""
    raw = path.read_bytes()
    size = struct.unpack(">II", raw[16:24]) if raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR" else None
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    cls = ' class="wide"' if size and size[0] > WIDE else ""
    return (f'<figure id="fig-{esc(path.stem)}"{cls}>'
            f'<img src="data:image/png;base64,{base64.b64encode(raw).decode("ascii")}" alt="{esc(caption)}"{dims}>'
            f"<figcaption>{esc(caption)} (figures/{esc(path.name)})</figcaption></figure>")


Section = tuple[str, str, list[str]]  # (id, title, the section's HTML parts)


def html_page(title: str, body: list[str], head: tuple[str, ...] = ()) -> str:
    """A whole page: ``title`` (HTML), the CSP, the inline style sheet, ``body``; ``head``: more of its head."""
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">', *head,
                      f"<title>{title}</title>", f"<style>{STYLE}</style>", "</head>", "<body>", *body, "</body>",
                      "</html>", ""])


def sectioned(sections: list[Section]) -> list[str]:
    """The first section, then a table of contents linking to every one, then the others."""
    first, *rest = [[f'<section id="{esc(i)}">', f"<h2>{esc(t)}</h2>", *parts, "</section>"]
                    for i, t, parts in sections]
    items = "".join(f'<li><a href="#{esc(i)}">{esc(t)}</a></li>' for i, t, _ in sections)
    return [*first, f'<nav class="contents" id="contents"><h2>Contents</h2><ol>{items}</ol></nav>',
            *(line for lines in rest for line in lines)]


def shown_folder(folder: str | os.PathLike[str]) -> str:
    """A study folder as a page names it: as given when relative, relative to here when under it, else
    by its name (never an absolute path of the machine that wrote it)."""
    p = Path(folder)
    if not p.is_absolute():
        return Path(os.path.normpath(p)).as_posix()
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.name


def figure_caption(name: str, exercise: bool = False) -> str:
    """A figure's caption by its file name; ``exercise``: its accuracy figure has the exercise's numbers."""
    if name in CAPTIONS:
        return CAPTIONS[name] + (EXERCISE_CAPTION if exercise and name == "accuracy_vs_length.png" else "")
    stem = name[:-len(".png")] if name.endswith(".png") else name
    if stem.startswith("curves_"):
        return f"Held-out accuracy against training steps, {stem[len('curves_'):]}: a panel per T (or per " \
               f"combination of the swept axes), the mean over seeds with its 95% band ({METHOD}); where a panel " \
               "has one mean line, each seed is drawn thin"
    if stem.startswith("accuracy_vs_length_by_"):
        return f"Final held-out accuracy against T, per value of {stem[len('accuracy_vs_length_by_'):]}"
    for prefix, what in (("accuracy_vs_", f"Final held-out accuracy, mean over seeds with 95% intervals ({METHOD}),"),
                         ("mean_accuracy_vs_", "The exercise's metric, mean training-batch accuracy over all steps,"),
                         ("steps_to_target_vs_", "Median steps to the target held-out accuracy (over the seeds that "
                                                 "reached it)")):
        if stem.startswith(prefix):
            return f"{what} against {stem[len(prefix):]}"
    return name

