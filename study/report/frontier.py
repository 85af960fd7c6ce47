"""A memory frontier's figure, frontier.csv and printed table, written to its study folder."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from study.basics.io import write_bytes_atomic, write_csv_atomic
from study.basics.layout import FIGURES, TRIALS
from study.basics.text import value_text
from study.frontier import table as fr
from study.frontier.probe import MOOT, PASSED
from study.frontier.search import Frontier
from study.report.plots.common import png_bytes

TITLE_SETTINGS = ("hidden", "init", "forget_bias", "optimizer", "lr", "max_norm", "batch_size")  # when fixed


def plot_frontier(table: pd.DataFrame, ax: Any = None, settings: Mapping[str, Any] | None = None) -> Any:
    """Solve rate k/n against T per cell, its markers as docs/frontier.md describes them; the title names
    the models, the fixed ``settings`` that define the cells, the rule and the lengths probed. Returns the
    Axes (a new ``matplotlib.figure.Figure``'s when ``ax`` is None: no pyplot state)."""
    ax = ax if ax is not None else Figure(figsize=(7.5, 4.5)).add_subplot()
    cells = fr.table_cells(table)
    k, n = (int(v) for v in str(table["rule"].iloc[0]).split("/"))
    _length_axis(ax, table)
    for i, (label, rows) in enumerate(cells):
        # A small multiplicative dodge so that cells probed at the same T do not hide each other.
        color, offset = colormaps["tab10"](i % 10), i - (len(cells) - 1) / 2
        _draw_cell(ax, label, rows, color, 1 + 0.012 * offset)
        _draw_fit(ax, rows, color, k / n + 0.025 * offset)
    ax.axhline(k / n, color="0.4", ls="--", lw=0.8)
    ax.set(ylim=(-0.05, 1.05), xlabel="Palindrome length T", ylabel="Seeds solved, k/n (95% Wilson)")
    ax.set_title(frontier_title(table, settings), fontsize=10)
    rate = value_text(k / n, 3)  # the legend: the cells, then what the markers and the dashed line mean
    keys = [Line2D([], [], ls="", marker="o", color="0.3", label="passed"),
            Line2D([], [], ls="", marker="o", color="0.3", mfc="white", label="failed"),
            Line2D([], [], ls="", marker="x", color="0.5", label="moot (above a failure)"),
            Line2D([], [], ls="", marker="*", color="0.3", mec="black", ms=12, label="frontier (longest T)"),
            Line2D([], [], ls="-", lw=0.8, marker="*", color="0.3", mfc="white", ms=12,
                   label="frontier only a bound\n(arrow: where it may lie,\nup to a failure or open)"),
            Line2D([], [], ls="-", lw=2.2, marker="D", color="0.3", mec="black", ms=6,
                   label=f"fitted {rate} crossing, 95% interval\n(logistic in log T, profile\nlikelihood; "
                         f"arrow: open)"),
            Line2D([], [], ls="--", color="0.4", lw=0.8, label=f"rule {k}/{n}")]
    ax.legend(handles=[*ax.get_legend_handles_labels()[0], *keys], fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def frontier_title(table: pd.DataFrame, settings: Mapping[str, Any] | None = None) -> str:
    """"Memory frontier of RNN, LSTM, GRU: hidden 64, init xavier, ..." over "\u2265 4/5 seeds reach
    0.99 within 10,000 steps; T probed 5 to 100" (``plot_frontier``)."""
    first = table.iloc[0]
    models = list(dict.fromkeys(str(m) for m in table["model"])) if "model" in table else []
    fixed = [f"{k} {value_text(settings[k], 6)}" for k in TITLE_SETTINGS
             if settings and k in settings and k not in table.columns and (k != "forget_bias" or "LSTM" in models)]
    head = "Memory frontier" + (f" of {', '.join(models)}" if models else "") + (": " + ", ".join(fixed) if fixed
                                                                               else "")
    lengths = sorted({int(t) for t in table["length"].dropna()})
    probed = f"; T probed {lengths[0]} to {lengths[-1]}" if len(lengths) > 1 else ""
    return (f"{head}\n\u2265 {first['rule']} seeds reach {value_text(first['target'], 6)} held out within "
            f"{fr.steps_text(table)} steps{probed}")


def _draw_cell(ax: Any, label: str, rows: pd.DataFrame, color: Any, dodge: float) -> None:
    """One cell's probes: its solve rates with their intervals, its outcomes, its frontier."""
    style = "--" if "model" in rows and str(rows["model"].iloc[0]) == "RNN" else "-"
    rows = rows[rows["length"].notna()].sort_values("length")
    if not len(rows):
        ax.plot([], [], style, color=color, label=f"{label} (not probed)")
        return
    x = rows["length"].astype(float).to_numpy() * dodge
    y = rows["solved_rate"].astype(float).to_numpy()
    counted = rows["counted"].astype(bool).to_numpy()
    ax.plot(x[counted], y[counted], style, color=color, lw=1.2, label=label)
    err = [y - rows["solved_low"].astype(float).to_numpy(), rows["solved_high"].astype(float).to_numpy() - y]
    ax.errorbar(x, y, yerr=[[max(e, 0) for e in err[0]], [max(e, 0) for e in err[1]]], fmt="none",
                ecolor=color, elinewidth=0.8, capsize=2, alpha=0.7)
    for xi, yi, outcome in zip(x, y, rows["outcome"], strict=True):
        if outcome == MOOT:
            ax.plot(xi, 0 if math.isnan(yi) else yi, "x", color="0.5", ms=6)
        else:
            ax.plot(xi, yi, "o", color=color, ms=6, mfc=color if outcome == PASSED else "white")
    # The frontier: a star where the search found it, an open star and an arrow where it is a bound.
    longest, failed = fr.int_or_none(rows["longest_solved"].iloc[0]), fr.int_or_none(rows["first_failed"].iloc[0])
    done = bool(rows["done"].iloc[0])

    def rate_at(t: int) -> float:
        return float(rows.loc[rows["length"] == t, "solved_rate"].iloc[0])

    if longest is not None and failed is not None and done:  # found: the longest pass, the next length failed
        ax.axvline(longest * dodge, color=color, ls=":", lw=1)
        ax.plot(longest * dodge, rate_at(longest), "*", color=color, ms=14, mec="black", mew=0.6, zorder=5,
                gid="frontier")
    elif longest is not None or (failed is not None and done):  # a bound: at least longest, or below the start
        at = failed if longest is None else longest
        y = rate_at(at)
        ax.plot(at * dodge, y, "*", color=color, mfc="white", ms=14, mew=1.2, zorder=5, gid="frontier-bound")
        end = (0.0, y) if longest is None else (failed * dodge, y) if failed is not None else (1.0, y)
        _arrow(ax, (at * dodge, y), end, color, "frontier-bound", to_edge=longest is None or failed is None)
        text = f"< {failed}" if longest is None else f"\u2265 {longest}" + ("" if failed is None else f", < {failed}")
        ax.annotate(text, (at * dodge, y), textcoords="offset points", xytext=(0, -16 if y > 0.9 else 10),
                    ha="center", fontsize=9, fontweight="bold", color=color, gid="frontier-bound-label",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def _draw_fit(ax: Any, rows: pd.DataFrame, color: Any, y: float) -> None:
    """The fitted crossing: a diamond on a line over its 95% interval; an arrow where an end leaves the axis."""
    r = rows.iloc[0]
    if "fitted_low" not in rows or pd.isna(r["fitted_low"]):
        return
    low, high, estimate = float(r["fitted_low"]), float(r["fitted_high"]), float(r["fitted_length"])
    left, right = ax.get_xlim()
    x0, x1 = max(low, left), min(high, right)
    ax.plot([x0, x1], [y, y], "-", color=color, lw=2.2, alpha=0.75, solid_capstyle="butt", gid="fitted-interval")
    for end, inside in ((low, low >= left), (high, high <= right)):
        if inside:
            ax.plot([end], [y], "|", color=color, ms=9, mew=2, gid="fitted-interval")
    if low < left:
        _arrow(ax, (x0 * 1.1, y), (0.0, y), color, "fitted-open", to_edge=True)
    if high > right:
        _arrow(ax, (x1 / 1.1, y), (1.0, y), color, "fitted-open", to_edge=True)
    if not math.isnan(estimate) and not (low <= 0 and math.isinf(high)):  # (0, inf): the estimate says nothing
        ax.plot([estimate], [y], "D", color=color, mec="black", mew=0.6, ms=6, zorder=6, gid="fitted-crossing")


def _arrow(ax: Any, start: tuple[float, float], end: tuple[float, float], color: Any, gid: str,
           to_edge: bool) -> None:
    """An arrow from ``start`` (data) to ``end``: data, or with ``to_edge`` the axes' edge (x 0 or 1)."""
    arrow = ax.annotate("", xy=end, xytext=start, xycoords=("axes fraction", "data") if to_edge else "data",
                        textcoords="data", arrowprops={"arrowstyle": "->", "color": color, "lw": 1.4})
    arrow.set_gid(gid)


def _length_axis(ax: Any, table: pd.DataFrame) -> None:
    """T on a log2 scale, ticks whose labels do not overlap; room for the fitted lengths (up to 10 times
    beyond the probed ones) and, on a side, for an arrow that leaves the axis."""
    ax.set_xscale("log", base=2)
    lengths = sorted({int(t) for t in table[table["length"].notna()]["length"]})
    if not lengths:
        return
    ticks = [lengths[0]]
    for t in lengths[1:]:
        if math.log2(t) - math.log2(ticks[-1]) >= 0.22:
            ticks.append(t)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    fitted = "fitted_low" in table
    ends = ("fitted_length", "fitted_low", "fitted_high")
    values = pd.concat([table[c] for c in ends]).astype(float) if fitted else []
    shown = [float(v) for v in values if math.isfinite(v) and v > 0 and lengths[0] / 10 <= v <= lengths[-1] * 10]
    first = table.drop_duplicates("cell")
    left = bool(((first["longest_solved"].isna() & first["first_failed"].notna()).any())
                or (fitted and (table["fitted_low"] == 0).any()))
    right = bool(((first["longest_solved"].notna() & first["first_failed"].isna()).any())
                 or (fitted and np.isinf(table["fitted_high"].astype(float)).any()))
    ax.set_xlim(min([lengths[0], *shown]) / (1.6 if left else 1.15),
                max([lengths[-1], *shown]) * (1.6 if right else 1.15))


def write_frontier(folder: str | os.PathLike[str], frontier: Frontier | None = None, echo: bool = True,
                   figure: bool = True) -> pd.DataFrame:
    """Write frontier.csv and figures/frontier.png (from ``frontier`` or frontier/state.json; ``held`` from
    trials.csv) and print the table when ``echo``; returns the table."""
    folder = Path(folder)
    frontier = frontier or fr.load_frontier(folder)
    if frontier is None:
        raise FileNotFoundError(f"{folder / fr.FILE}: no frontier in this folder")
    table = fr.frontier_table(frontier, pd.read_csv(folder / TRIALS) if (folder / TRIALS).is_file() else None)
    write_csv_atomic(folder / fr.CSV, table)
    if figure:
        png = png_bytes(plot_frontier(table, settings=frontier.base))
        (folder / FIGURES).mkdir(exist_ok=True)
        write_bytes_atomic(folder / FIGURES / fr.FIGURE, png)
    if echo:
        print(fr.format_frontier(table))
    return table
