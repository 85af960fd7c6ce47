"""What a comparison says (study/report/compare.py computes it): the printed lines of
``python -m study.compare`` and compare.html. Both show, per cell, each side's mean [95% interval]
and seeds, B - A [95% interval] and the verdict against the margin, after the settings the
studies were compared under; compare.csv keeps every column."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pandas as pd

from study.basics.stats import METHOD
from study.basics.text import format_table, value_text
from study.report.compare_verdict import DIFFERS, INCONCLUSIVE, SAME

PROG = "python -m study.compare"

if TYPE_CHECKING:
    from study.report.compare import Comparison


def margin_text(margin: float) -> str:
    return f"\u00b1{value_text(margin, 6)}"


def method_lines(comparison: Comparison) -> list[str]:
    """What each number is and what each verdict means, with the margin used."""
    m = value_text(comparison.margin, 6)
    return [f"Held-out accuracy: mean over the finished seeds [95% {METHOD} interval], n seeds; "
            "B - A with the 95% MOVER interval built from the two sides' intervals.",
            f"Verdict against the margin {margin_text(comparison.margin)} (--margin): differs = the interval of "
            f"B - A lies wholly outside [-{m}, +{m}]; same = wholly inside it (the same within the margin); "
            "inconclusive = neither, or a side has no interval (under two seeds)."]


def verdict_counts(comparison: Comparison) -> str:
    """"1 cell differs, 3 same within +-0.02, 2 inconclusive; 4 cells of one study only"."""
    t = comparison.table
    counts = {v: int((t["verdict"] == v).sum()) for v in (DIFFERS, SAME, INCONCLUSIVE)}
    parts = [f"{counts[DIFFERS]} cell{'s' if counts[DIFFERS] != 1 else ''} differ{'s' if counts[DIFFERS] == 1 else ''}",
             f"{counts[SAME]} same within {margin_text(comparison.margin)}", f"{counts[INCONCLUSIVE]} inconclusive"]
    alone = int((t["present"] != "both").sum())
    return ", ".join(parts) + (f"; {alone} cell{'s' if alone != 1 else ''} of one study only" if alone else "")


def side_text(d: dict[str, Any], side: str) -> str:
    """"0.9804 [0.6600, 1.0000] n=4"; "-" where the study has no such cell."""
    n = d[f"{side}_seeds"]
    if pd.isna(n):
        return "-"
    mean, low, high = d[f"{side}_accuracy"], d[f"{side}_accuracy_low"], d[f"{side}_accuracy_high"]
    if pd.isna(mean):
        return f"- n={int(n)}"
    return (f"{mean:.4f} n={int(n)}" if pd.isna(low) or pd.isna(high)
            else f"{mean:.4f} [{low:.4f}, {high:.4f}] n={int(n)}")


def diff_text(d: dict[str, Any], name: str = "accuracy_diff") -> str:
    c, low, high = d[name], d[f"{name}_low"], d[f"{name}_high"]
    if pd.isna(c):
        return "-"
    return f"{c:+.4f}" if pd.isna(low) or pd.isna(high) else f"{c:+.4f} [{low:+.4f}, {high:+.4f}]"


def verdict_text(d: dict[str, Any]) -> str:
    return str(d["verdict"]) if d["present"] == "both" else str(d["present"])


def solved_text(d: dict[str, Any]) -> str:
    def count(side: str) -> str:
        n = d[f"{side}_seeds"]
        return "-" if pd.isna(n) else f"{int(d[f'{side}_solved'])}/{int(n)}"

    return f"{count('a')} / {count('b')}"


def cell_table(comparison: Comparison) -> pd.DataFrame:
    """The readable table: the cell, each side's mean [interval] n, B - A [interval], the verdict,
    the seeds solved on each side (B's study named when there are several)."""
    axes = [a for a in comparison.axes if a in comparison.table]
    several = len(comparison.studies) > 2
    rows = []
    for r in comparison.table.itertuples(index=False):
        d = r._asdict()
        rows.append({**({"B": d["study_b"]} if several else {}), **{a: value_text(d[a], 6) for a in axes},
                     "A: mean [95% interval] n": side_text(d, "a"), "B: mean [95% interval] n": side_text(d, "b"),
                     "B - A [95% interval]": diff_text(d), "verdict": verdict_text(d),
                     "solved A / B": solved_text(d)})
    return pd.DataFrame(rows)


def text_lines(comparison: Comparison) -> list[str]:
    """The printed comparison: what the numbers are, the settings, one line per cell, the counts."""
    from study.report.compare_settings import settings_lines

    lines = [f"A = {comparison.studies[0]}; B = " + ", ".join(comparison.studies[1:]), *method_lines(comparison)]
    lines += settings_lines(comparison.settings, comparison.studies, comparison.axes)
    table = cell_table(comparison)
    lines += format_table(list(table.columns), table.to_numpy().tolist(), width=160)
    lines.append(verdict_counts(comparison))
    flagged = len(comparison.flagged)
    lines.append(f"{flagged} cell{'s' if flagged != 1 else ''} differ{'s' if flagged == 1 else ''} by more than "
                 f"the margin {margin_text(comparison.margin)} (--fail-on-difference exits 1)" if flagged
                 else f"no cell differs by more than the margin {margin_text(comparison.margin)}")
    return lines


def render_comparison_html(comparison: Comparison, png: bytes) -> str:
    """compare.html: one self-contained page (the figure inlined), as report.html is."""
    from study.report.page import CSP, STYLE, _e, _table

    a, names = _e(comparison.studies[0]), ", ".join(_e(s) for s in comparison.studies[1:])
    settings = comparison.settings.drop(columns=["differs"], errors="ignore")
    aside = comparison.ignored
    text_columns = {"B", "model", "verdict"}
    body = [f"<h1>{a} against {names}</h1>",
            f"<p>A = <code>{a}</code>; B = {names}. {_e(verdict_counts(comparison))}.</p>",
            *[f"<p>{_e(line)}</p>" for line in method_lines(comparison)],
            "<h2>Settings</h2>",
            f"<p>Every config field but the cell axes ({_e(', '.join(comparison.axes))}) and seed (averaged "
            "over). Cells are paired only where every setting is equal"
            + (f"; set aside (<code>--ignore</code>): {_e(', '.join(aside))}, paired whatever their values"
               if aside else "") + ".</p>",
            _table(settings, "settings", text={"field", *comparison.studies, "status"}),
            f'<figure><img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
            f'alt="B - A held-out accuracy with its 95% interval against the band of the margin '
            f'{_e(margin_text(comparison.margin))}, per cell"></figure>',
            "<h2>Cells</h2>",
            _table(cell_table(comparison), "compare", text=text_columns),
            f'<p class="note">Written by <code>{_e(PROG)}</code>; every number, the solve rates\' '
            "differences and their intervals included, is in compare.csv.</p>"]
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
                      f"<title>Comparison: {a} against {names}</title>",
                      f"<style>{STYLE}</style>", "</head>", "<body>", *body, "</body>", "</html>", ""])
