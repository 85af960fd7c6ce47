"""The frontier drawn: per cell, the solve rate of every probed length."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from study.basics.text import value_text
from study.frontier.probe import MOOT, PASSED
from study.frontier.table import _cells, _int_or_none, _steps_text


def plot_frontier(table: pd.DataFrame, ax: Any = None) -> Any:
    """Solve rate k/n against T per cell, 95% Wilson error bars; the frontier (longest_solved) a
    star and a dotted vertical line in the cell's colour; the rule's threshold K/N dashed.

    Filled markers: passed; open: failed; grey x: moot. Returns the Axes (a new
    ``matplotlib.figure.Figure``'s when ``ax`` is None: no pyplot state)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure(figsize=(7.5, 4.5)).add_subplot()
    cells = _cells(table)
    for i, (label, rows) in enumerate(cells):
        # A small multiplicative dodge so that cells probed at the same T do not hide each other.
        _draw_cell(ax, label, rows, colormaps["tab10"](i % 10), 1 + 0.012 * (i - (len(cells) - 1) / 2))
    first = table.iloc[0]
    k, n = (int(v) for v in str(first["rule"]).split("/"))
    ax.axhline(k / n, color="0.4", ls="--", lw=0.8)
    _length_axis(ax, sorted({int(t) for t in table[table["length"].notna()]["length"]}))
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("Palindrome length T")
    ax.set_ylabel("Seeds solved, k/n (95% Wilson)")
    ax.set_title(f"Memory frontier: \u2265 {first['rule']} seeds reach {value_text(first['target'], 6)} within "
                 f"{_steps_text(table)} steps", fontsize=10)
    _legend(ax, k, n)
    return ax


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
    longest = _int_or_none(rows["longest_solved"].iloc[0])
    if longest is not None:
        at = rows[rows["length"] == longest]
        ax.axvline(longest * dodge, color=color, ls=":", lw=1)
        ax.plot(longest * dodge, float(at["solved_rate"].iloc[0]), "*", color=color, ms=14, mec="black",
                mew=0.6, zorder=5)


def _length_axis(ax: Any, lengths: list[int]) -> None:
    """T on a log2 scale, a tick at each probed length whose label would not overlap the last."""
    ax.set_xscale("log", base=2)
    if not lengths:
        return
    ticks = [lengths[0]]
    for t in lengths[1:]:
        if math.log2(t) - math.log2(ticks[-1]) >= 0.22:
            ticks.append(t)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlim(lengths[0] / 1.15, lengths[-1] * 1.15)


def _legend(ax: Any, k: int, n: int) -> None:
    """The cells, then what the markers and the dashed line mean."""
    from matplotlib.lines import Line2D

    keys = [Line2D([], [], ls="", marker="o", color="0.3", label="passed"),
            Line2D([], [], ls="", marker="o", color="0.3", mfc="white", label="failed"),
            Line2D([], [], ls="", marker="x", color="0.5", label="moot (above a failure)"),
            Line2D([], [], ls="", marker="*", color="0.3", mec="black", ms=12, label="frontier (longest T)"),
            Line2D([], [], ls="--", color="0.4", lw=0.8, label=f"rule {k}/{n}")]
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, *keys], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
