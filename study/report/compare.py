"""A comparison (study/results/compare.py computes it) printed by ``python -m study.compare`` and written:
compare.csv, compare.png, compare.html (docs/compare.md)."""

from __future__ import annotations

import base64
import os
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from study.basics.errors import StudyError
from study.basics.io import write_bytes_atomic, write_csv_atomic, write_text_atomic
from study.basics.stats import METHOD
from study.basics.text import value_text
from study.report.page import esc, html_page, html_table, sectioned
from study.results.compare import DIFFERS, INCONCLUSIVE, SAME, Comparison, settings_lines

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
    n = {v: int((t["verdict"] == v).sum()) for v in (DIFFERS, SAME, INCONCLUSIVE)}
    alone = int((t["present"] != "both").sum())
    return (f"{n[DIFFERS]} cell{'s' * (n[DIFFERS] != 1)} differ{'s' * (n[DIFFERS] == 1)}, {n[SAME]} same within "
            f"{margin_text(comparison.margin)}, {n[INCONCLUSIVE]} inconclusive"
            + (f"; {alone} cell{'s' * (alone != 1)} of one study only" if alone else ""))


def side_text(d: dict[str, Any], side: str, short: bool = False) -> str:
    """"0.9804 [0.6600, 1.0000] n=4" (``short``: "0.980 n=4"); "-" where the study has no such cell."""
    n, mean, low, high = (d[f"{side}_{k}"] for k in ("seeds", "accuracy", "accuracy_low", "accuracy_high"))
    if pd.isna(n) or pd.isna(mean):
        return "-" if pd.isna(n) else f"- n={int(n)}"
    if short or pd.isna(low) or pd.isna(high):
        return f"{mean:.3f} n={int(n)}" if short else f"{mean:.4f} n={int(n)}"
    return f"{mean:.4f} [{low:.4f}, {high:.4f}] n={int(n)}"


def cell_rows(comparison: Comparison, printed: bool = False) -> list[dict[str, str]]:
    """A row per cell: the cell, B - A [95% interval], the verdict, each side's mean [interval] n, the seeds solved;
    ``printed``: the terminal's (B1, B2, ..., T for length, "only A" as the verdict, the means to 3 decimals)."""
    axes = [a for a in comparison.axes if a in comparison.table]
    several = len(comparison.studies) > 2
    names = {s: "A" if i == 0 else f"B{i}" if several else "B" for i, s in enumerate(comparison.studies)}
    rows = []
    for r in comparison.table.itertuples(index=False):
        d = r._asdict()
        where = str(d["present"]).removeprefix("only ")
        verdict = (str(d["verdict"]) if d["present"] == "both" else f"only {names.get(where, where)}" if printed
                   else str(d["present"]))
        sides = ({f"{s} mean n": side_text(d, s.lower(), short=True) for s in "AB"} if printed
                 else {f"{s}: mean [95% interval] n": side_text(d, s.lower()) for s in "AB"})
        c, low, high = d["accuracy_diff"], d["accuracy_diff_low"], d["accuracy_diff_high"]
        diff = ("-" if pd.isna(c) else f"{c:+.4f}" if pd.isna(low) or pd.isna(high)
                else f"{c:+.4f} [{low:+.4f}, {high:+.4f}]")
        solved = " / ".join("-" if pd.isna(n := d[f"{s}_seeds"]) else f"{int(d[f'{s}_solved'])}/{int(n)}" for s in "ab")
        rows.append({**({"B": names[d["study_b"]] if printed else d["study_b"]} if several else {}),
                     **{("T" if a == "length" and printed else a): value_text(d[a], 6) for a in axes},
                     "B - A [95% interval]": diff, "verdict": verdict, **sides, "solved A / B": solved})
    return rows


WIDTH = 100  # the printed table's and text's width in characters
OPTIONAL = ("solved A / B", "A mean n", "B mean n")  # left out, in this order, while the table is too wide
NUMBERS = {"T", "B - A [95% interval]", "A mean n", "B mean n"}  # right-aligned


def printed_table(comparison: Comparison, width: int = WIDTH) -> tuple[list[str], list[str]]:
    """The terminal's table in ``width`` characters, ``OPTIONAL`` columns left out while wider; (lines, left out)."""
    rows = cell_rows(comparison, printed=True)
    columns = list(rows[0]) if rows else []
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in columns}
    left_out: list[str] = []
    while sum(widths[c] for c in columns) + 2 * max(len(columns) - 1, 0) > width and len(left_out) < len(OPTIONAL):
        left_out.append(OPTIONAL[len(left_out)])
        columns = [c for c in columns if c not in left_out]

    def line(values: dict[str, str]) -> str:
        return "  ".join(values[c].rjust(widths[c]) if c in NUMBERS else values[c].ljust(widths[c])
                         for c in columns).rstrip()

    return [line({c: c for c in columns}), *(line(r) for r in rows)], left_out


def _wrapped(lines: list[str], width: int = WIDTH) -> list[str]:
    """Lines longer than ``width`` wrapped, their continuation indented under their first word."""
    return [part for text in lines for part in (textwrap.wrap(
        text, width=width, initial_indent="", subsequent_indent=" " * (len(text) - len(text.lstrip())) + "  ",
        break_long_words=False, break_on_hyphens=False, drop_whitespace=True) if len(text) > width else [text])]


def text_lines(comparison: Comparison) -> list[str]:
    """The printed comparison, ``WIDTH`` characters wide."""
    several = len(comparison.studies) > 2
    bs = [f"B{i if several else ''} = {s}" for i, s in enumerate(comparison.studies[1:], 1)]
    table, left_out = printed_table(comparison)
    flagged, margin = len(comparison.flagged), margin_text(comparison.margin)
    return [*_wrapped([f"A = {comparison.studies[0]}; " + "; ".join(bs), *method_lines(comparison),
                       *settings_lines(comparison.settings, comparison.studies, comparison.axes)]), *table,
            *_wrapped([*([f"(left out to fit {WIDTH} columns: {', '.join(left_out)}; compare.csv has every column)"]
                         if left_out else []), verdict_counts(comparison),
                       f"{flagged} cell{'s' if flagged != 1 else ''} differ{'s' if flagged == 1 else ''} by more than "
                       f"the margin {margin} (--fail-on-difference exits 1)" if flagged
                       else f"no cell differs by more than the margin {margin}"])]


def render_comparison_html(comparison: Comparison, png: bytes) -> str:
    """compare.html, one self-contained page as report.html is (docs/compare.md says what it holds)."""
    a, names = esc(comparison.studies[0]), ", ".join(esc(s) for s in comparison.studies[1:])
    table = pd.DataFrame(cell_rows(comparison))
    both = (comparison.table["present"] == "both").to_numpy()
    text = {"B", "verdict", *(a for a in comparison.axes if a != "length")}
    caption = (f"B - A held-out accuracy with its 95% interval, per cell, against the band of the margin "
               f"{margin_text(comparison.margin)} (compare.png)")
    verdicts = [*_differing(comparison), html_table(table[both].reset_index(drop=True), "compare", text=text),
                f'<figure id="fig-compare"><img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
                f'alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>']
    sections = [("verdicts", "Verdicts", verdicts)]
    if not both.all():
        only = table[~both].drop(columns=["B - A [95% interval]"]).reset_index(drop=True)
        sections.append(("only", f"Cells of one study only ({len(only)})", [
            '<p class="note">No difference and no verdict: the other study did not run them.</p>',
            html_table(only, "only", text=text)]))
    sections += [("method", "What the numbers are", [f"<p>{esc(line)}</p>" for line in method_lines(comparison)]),
                 ("settings", "Every setting", _settings(comparison)),
                 ("csv", "Every column of compare.csv", [
                     "<details><summary>compare.csv, as written</summary>",
                     html_table(comparison.table, "compare-csv",
                                text={"model", "study_a", "study_b", "verdict", "present", "set_aside"}),
                     "</details>"])]
    body = [f"<h1>{a} against {names}</h1>",
            f'<p class="lede">A = <code>{a}</code>; B = {names}. {esc(verdict_counts(comparison))}.</p>',
            *sectioned(sections), f'<p class="note">Written by <code>{esc(PROG)}</code>; every number, the solve '
            "rates' differences and their intervals included, is in compare.csv.</p>"]
    return html_page(f"Comparison: {a} against {names}", body)


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
                                        text={"field", *comparison.studies, "status"}, scroll=False)]


def _settings(comparison: Comparison) -> list[str]:
    """Every config field but the cells' and seed, each study's value and status, those that differ first."""
    settings = comparison.settings.drop(columns=["differs"], errors="ignore")
    if "status" in settings:
        settings = settings.sort_values("status", key=lambda s: s == "equal", kind="stable")
    aside = comparison.ignored  # set aside: paired whatever their values
    return [f"<p>Every config field but the cell axes ({esc(', '.join(comparison.axes))}) and seed (averaged "
            "over). Cells are paired only where every setting is equal"
            + (f"; set aside (<code>--ignore</code>): {esc(', '.join(aside))}, paired whatever their values"
               if aside else "") + ".</p>",
            f"<details><summary>{esc(len(settings))} settings</summary>",
            html_table(settings.reset_index(drop=True), "settings", text={"field", *comparison.studies, "status"}),
            "</details>"]


def default_folder(comparison: Comparison) -> Path:
    """Where compare.csv goes by default: beside the first study, ``compare-<A>-vs-<B>[-vs-...]``."""
    if comparison.studies[0] not in comparison.folders:
        raise StudyError("out: the first study is a DataFrame, with no folder to write beside; give out= "
                         "(or write=False)")
    first = comparison.folders[comparison.studies[0]].resolve()
    if comparison.by is not None:
        return first.parent / f"compare-{first.name}-by-{comparison.by}"
    return first.parent / ("compare-" + "-vs-".join(s.replace("#", "_") for s in comparison.studies))


def write_comparison(comparison: Comparison, folder: str | os.PathLike[str], figures: bool = True) -> list[Path]:
    """compare.csv (and with ``figures`` compare.png and compare.html) written into ``folder``; the paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(out / CSV, comparison.table)
    written = [out / CSV]
    if figures:
        from study.report.plots.common import png_bytes

        png = png_bytes(plot_comparison(comparison))
        write_bytes_atomic(out / FIGURE, png)
        write_text_atomic(out / HTML, render_comparison_html(comparison, png))
        written += [out / FIGURE, out / HTML]
    return written


# The verdict's marker: filled where B - A differs by more than the margin.
MARKERS = {"differs": ("o", True), "same": ("o", False), "inconclusive": ("s", False)}


def plot_comparison(comparison: Comparison) -> Any:
    """Per model, each later study's B - A against T with its 95% interval, the margin's band and a
    marker per verdict (docs/compare.md); cells of one study only are not drawn."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import ScalarFormatter

    from study.report.plots.common import LENGTH, cell_label, draw_legend, error_bars, integer_ticks, model_order

    table = comparison.table[comparison.table["present"] == "both"]
    extra = [a for a in comparison.axes if a not in ("model", "length") and a in table]
    models = model_order(table["model"]) or ["-"]
    fig = Figure(figsize=(5.4 * len(models), 4.4))
    panels = fig.subplots(1, len(models), squeeze=False)[0]
    m = comparison.margin
    lengths = pd.to_numeric(table["length"], errors="coerce").dropna()
    log_x = len(lengths) and lengths.min() > 0 and lengths.max() / lengths.min() >= 20
    for ax, model in zip(panels, models, strict=True):
        ax.axhspan(-m, m, color="0.6", alpha=0.3, linewidth=0)
        ax.axhline(0, color="0.3", linewidth=0.8)
        rows = table[table["model"] == model]
        for i, (values, g) in enumerate(rows.groupby(["study_b", *extra], dropna=False, sort=False)):
            g = g.sort_values("length")  # a series of cells, nudged sideways by i; a marker per verdict
            x = pd.to_numeric(g["length"], errors="coerce").to_numpy(float)
            x = x * (1.03 ** i) if log_x else x + 0.12 * i
            y = g["accuracy_diff"].to_numpy(float)
            name = ", ".join([str(values[0]), *([cell_label(extra, values[1:])] if extra else [])])
            color = ax.errorbar(x, y, yerr=error_bars(g, "accuracy_diff", mean=""), linestyle="none", capsize=3,
                                label=name)[0].get_color()
            for verdict, (marker, filled) in MARKERS.items():
                if (mask := (g["verdict"] == verdict).to_numpy()).any():
                    ax.plot(x[mask], y[mask], marker=marker, linestyle="none", color=color,
                            markerfacecolor=color if filled else "white", markersize=7)
        ax.set(title=str(model), xlabel=LENGTH, ylabel="B - A, held-out accuracy")
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ScalarFormatter())
        if len(rows):
            integer_ticks(ax, rows["length"])
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        keys = [Line2D([], [], color="0.2", marker=marker, linestyle="", markerfacecolor="0.2" if filled else "none")
                for marker, filled in MARKERS.values()]
        draw_legend(ax, [*handles, *keys, Line2D([], [], color="0.6", alpha=0.5, linewidth=8)],
                    [*labels, *MARKERS, f"margin {margin_text(m)}"], loc="best")
    fig.suptitle(f"B - A = {comparison.studies[1] if len(comparison.studies) == 2 else 'each later study'} - "
                 f"{comparison.studies[0]}: 95% MOVER interval from each side's 95% {METHOD} interval; "
                 f"grey: the margin {margin_text(m)}", fontsize="small")
    fig.tight_layout()
    return fig
