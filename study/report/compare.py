"""What a comparison says (study/results/compare.py computes it): the printed lines of
``python -m study.compare``, compare.html, and the files written (compare.csv, compare.png,
compare.html). Both show, per cell, each side's mean [95% interval]
and seeds, B - A [95% interval] and the verdict against the margin, after the settings the
studies were compared under; compare.csv keeps every column."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import StudyError
from study.basics.stats import METHOD
from study.basics.text import value_text
from study.report.page import CSP, STYLE, contents, esc, html_table, scroll, section
from study.results.compare import DIFFERS, INCONCLUSIVE, SAME, Comparison
from study.results.compare_sides import settings_lines

PROG = "python -m study.compare"
CSV = "compare.csv"
FIGURE = "compare.png"
HTML = "compare.html"


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
    """The readable table, the verdict first: the cell, B - A [interval], the verdict, each side's
    mean [interval] n and the seeds solved on each side (B's study named when there are several)."""
    axes = [a for a in comparison.axes if a in comparison.table]
    several = len(comparison.studies) > 2
    rows = []
    for r in comparison.table.itertuples(index=False):
        d = r._asdict()
        rows.append({**({"B": d["study_b"]} if several else {}), **{a: value_text(d[a], 6) for a in axes},
                     "B - A [95% interval]": diff_text(d), "verdict": verdict_text(d),
                     "A: mean [95% interval] n": side_text(d, "a"), "B: mean [95% interval] n": side_text(d, "b"),
                     "solved A / B": solved_text(d)})
    return pd.DataFrame(rows)


WIDTH = 100  # the printed table's and text's width in characters
OPTIONAL = ("solved A / B", "A mean n", "B mean n")  # left out, in this order, while the table is too wide
NUMBERS = {"T", "B - A [95% interval]", "A mean n", "B mean n"}  # right-aligned


def printed_table(comparison: Comparison, width: int = WIDTH) -> tuple[list[str], list[str]]:
    """The terminal's table within ``width`` characters: the cell, B - A [95% interval] (4 decimals),
    the verdict ("only A" where one study has the cell), each side's mean and seeds (3 decimals) and
    the seeds solved, with no row index; columns in ``OPTIONAL`` are left out while it is wider.
    Returns (the table's lines, the columns left out). compare.csv has every column."""
    axes = [a for a in comparison.axes if a in comparison.table]
    several = len(comparison.studies) > 2
    names = {s: f"B{i}" if several else "B" for i, s in enumerate(comparison.studies[1:], 1)}
    names[comparison.studies[0]] = "A"
    rows = []
    for r in comparison.table.itertuples(index=False):
        d = r._asdict()
        where = str(d["present"]).removeprefix("only ")
        verdict = str(d["verdict"]) if d["present"] == "both" else f"only {names.get(where, where)}"
        rows.append({**({"B": names[d["study_b"]]} if several else {}),
                     **{("T" if a == "length" else a): value_text(d[a], 6) for a in axes},
                     "B - A [95% interval]": diff_text(d), "verdict": verdict,
                     "A mean n": _mean_n(d, "a"), "B mean n": _mean_n(d, "b"), "solved A / B": solved_text(d)})
    columns = list(rows[0]) if rows else []
    left_out: list[str] = []
    while _width(rows, columns) > width and len(left_out) < len(OPTIONAL):
        left_out.append(OPTIONAL[len(left_out)])
        columns = [c for c in columns if c not in left_out]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in columns}

    def line(values: dict[str, str]) -> str:
        return "  ".join(values[c].rjust(widths[c]) if c in NUMBERS else values[c].ljust(widths[c])
                         for c in columns).rstrip()

    return [line({c: c for c in columns}), *(line(r) for r in rows)], left_out


def _mean_n(d: dict[str, Any], side: str) -> str:
    """"0.980 n=4"; "-" where the study has no such cell."""
    n, mean = d[f"{side}_seeds"], d[f"{side}_accuracy"]
    return "-" if pd.isna(n) else f"- n={int(n)}" if pd.isna(mean) else f"{mean:.3f} n={int(n)}"


def _width(rows: list[dict[str, str]], columns: list[str]) -> int:
    return sum(max([len(c), *(len(r[c]) for r in rows)]) for c in columns) + 2 * max(len(columns) - 1, 0)


def _wrapped(lines: list[str], width: int = WIDTH) -> list[str]:
    """Lines longer than ``width`` wrapped, their continuation indented under their first word."""
    import textwrap

    out = []
    for text in lines:
        indent = " " * (len(text) - len(text.lstrip()))
        out += textwrap.wrap(text, width=width, initial_indent="", subsequent_indent=indent + "  ",
                             break_long_words=False, break_on_hyphens=False, drop_whitespace=True) \
            if len(text) > width else [text]
    return out


def text_lines(comparison: Comparison) -> list[str]:
    """The printed comparison, ``WIDTH`` characters wide: who A and B are, what the numbers are, the
    settings, one line per cell, the counts."""
    several = len(comparison.studies) > 2
    bs = [f"B{i} = {s}" for i, s in enumerate(comparison.studies[1:], 1)] if several else \
        [f"B = {comparison.studies[1]}"]
    lines = [f"A = {comparison.studies[0]}; " + "; ".join(bs), *method_lines(comparison)]
    lines += settings_lines(comparison.settings, comparison.studies, comparison.axes)
    table, left_out = printed_table(comparison)
    lines = _wrapped(lines)
    lines += table
    if left_out:
        lines += _wrapped([f"(left out to fit {WIDTH} columns: {', '.join(left_out)}; compare.csv has every column)"])
    lines += _wrapped([verdict_counts(comparison)])
    flagged = len(comparison.flagged)
    lines += _wrapped([f"{flagged} cell{'s' if flagged != 1 else ''} differ{'s' if flagged == 1 else ''} by more "
                       f"than the margin {margin_text(comparison.margin)} (--fail-on-difference exits 1)" if flagged
                       else f"no cell differs by more than the margin {margin_text(comparison.margin)}"])
    return lines


def render_comparison_html(comparison: Comparison, png: bytes) -> str:
    """compare.html: one self-contained page (the figure inlined), as report.html is. First the
    verdicts: the settings the studies differ in (or set aside), then the cells both studies have,
    each with B - A [95% interval] and its verdict; then the figure, the cells of one study only,
    what the numbers are, every setting, and compare.csv's every column behind a disclosure."""
    a, names = esc(comparison.studies[0]), ", ".join(esc(s) for s in comparison.studies[1:])
    table = cell_table(comparison)
    both = (comparison.table["present"] == "both").to_numpy()
    text = {"B", "verdict", *(a for a in comparison.axes if a != "length")}
    caption = (f"B - A held-out accuracy with its 95% interval, per cell, against the band of the margin "
               f"{margin_text(comparison.margin)} (compare.png)")
    verdicts = [*_differing(comparison), scroll(html_table(table[both].reset_index(drop=True), "compare", text=text)),
                f'<figure id="fig-compare"><img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
                f'alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>']
    sections = [("verdicts", "Verdicts", verdicts)]
    if not both.all():
        only = table[~both].drop(columns=["B - A [95% interval]"]).reset_index(drop=True)
        sections.append(("only", f"Cells of one study only ({len(only)})", [
            '<p class="note">No difference and no verdict: the other study did not run them.</p>',
            scroll(html_table(only, "only", text=text))]))
    sections += [("method", "What the numbers are", [f"<p>{esc(line)}</p>" for line in method_lines(comparison)]),
                 ("settings", "Every setting", _settings(comparison)),
                 ("csv", "Every column of compare.csv", [
                     "<details><summary>compare.csv, as written</summary>",
                     scroll(html_table(comparison.table, "compare-csv", text={"model", "study_a", "study_b", "verdict",
                                                                          "present", "set_aside"})),
                     "</details>"])]
    body = [f"<h1>{a} against {names}</h1>",
            f'<p class="lede">A = <code>{a}</code>; B = {names}. {esc(verdict_counts(comparison))}.</p>',
            *section(*sections[0]), contents([(i, t) for i, t, _ in sections])]
    for element_id, title, parts in sections[1:]:
        body += section(element_id, title, parts)
    body.append(f'<p class="note">Written by <code>{esc(PROG)}</code>; every number, the solve rates\' '
                "differences and their intervals included, is in compare.csv.</p>")
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>Comparison: {a} against {names}</title>",
                      f"<style>{STYLE}</style>", "</head>", "<body>", *body, "</body>", "</html>", ""])


def _differing(comparison: Comparison) -> list[str]:
    """The settings the studies differ in (all set aside, or they would have been refused), first."""
    settings = comparison.settings
    if settings.empty or "status" not in settings:
        return []
    differ = settings[settings["status"] != "equal"].drop(columns=["differs"], errors="ignore")
    if differ.empty:
        return [f'<p class="note">The studies agree on every setting ({len(settings)} config fields besides the '
                f"cells' {esc(', '.join(comparison.axes))} and seed).</p>"]
    return ["<p>Settings the studies differ in, set aside (<code>--ignore</code>): cells are paired whatever "
            "their values.</p>", html_table(differ.reset_index(drop=True), "settings-differ",
                                        text={"field", *comparison.studies, "status"})]


def _settings(comparison: Comparison) -> list[str]:
    """Every config field but the cells' and seed, each study's value and its status, those that
    differ first, folded."""
    settings = comparison.settings.drop(columns=["differs"], errors="ignore")
    if "status" in settings:
        settings = settings.sort_values("status", key=lambda s: s == "equal", kind="stable")
    aside = comparison.ignored
    return [f"<p>Every config field but the cell axes ({esc(', '.join(comparison.axes))}) and seed (averaged "
            "over). Cells are paired only where every setting is equal"
            + (f"; set aside (<code>--ignore</code>): {esc(', '.join(aside))}, paired whatever their values"
               if aside else "") + ".</p>",
            f"<details><summary>{esc(len(settings))} settings</summary>",
            scroll(html_table(settings.reset_index(drop=True), "settings",
                              text={"field", *comparison.studies, "status"})),
            "</details>"]


def default_folder(comparison: Comparison) -> Path:
    """Where compare.csv goes when the user names no folder: beside the first study,
    ``compare-<A>-vs-<B>[-vs-...]``."""
    if comparison.studies[0] not in comparison.folders:
        raise StudyError("out: the first study is a DataFrame, with no folder to write beside; give out= "
                         "(or write=False)")
    first = comparison.folders[comparison.studies[0]].resolve()
    if comparison.by is not None:
        return first.parent / f"compare-{first.name}-by-{comparison.by}"
    return first.parent / ("compare-" + "-vs-".join(s.replace("#", "_") for s in comparison.studies))


def write_comparison(comparison: Comparison, folder: str | os.PathLike[str], figures: bool = True) -> list[Path]:
    """compare.csv, and unless ``figures`` is False compare.png and compare.html, written atomically
    into ``folder`` (made if needed); returns the paths written."""
    from study.basics.io import write_bytes_atomic, write_csv_atomic, write_text_atomic

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(out / CSV, comparison.table)
    written = [out / CSV]
    if figures:
        from study.report.plots.compare import plot_comparison
        from study.report.write import png_bytes

        png = png_bytes(plot_comparison(comparison))
        write_bytes_atomic(out / FIGURE, png)
        write_text_atomic(out / HTML, render_comparison_html(comparison, png))
        written += [out / FIGURE, out / HTML]
    return written
