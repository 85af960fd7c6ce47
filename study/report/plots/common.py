"""What the report's figures share: labels, styles, colours, the layout of lines and panels."""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.basics.text import value_text
from study.results.summary import axis_key, extra_axes, group_rows, model_order, sort_groups

STEPS = "Steps"
LENGTH = "Palindrome length T"
HELD_OUT = "Held-out accuracy"
METRIC_NAMES = {"eval_accuracy": HELD_OUT, "train_accuracy": "Training accuracy (window)"}
AXIS_NAMES = {"max_norm": "clip max_norm", "lr": "learning rate", "hidden": "hidden units"}
LOG_AXES = ("lr",)  # drawn on a log scale (so is any positive axis spanning 100x or more)
MAX_LINES = 8  # lines in one panel; more, and the first axis makes panels
MODEL_STYLES = {"RNN": "--", "LSTM": "-", "GRU": "-."}  # the exercise drew the RNN dashed; others ":"
MODEL_COLORS = {"RNN": "C0", "LSTM": "C1", "GRU": "C2"}  # the frontier figure's order of cells too; others "C4"


def models_of(table: pd.DataFrame) -> list[str]:
    return model_order(table["model"]) if "model" in table else []


def axis_label(axis: str) -> str:
    """An axis as an x label: "hidden units (hidden)", "learning rate (lr)", "clip max_norm", "batch_size"."""
    if axis == "length":
        return LENGTH
    name = AXIS_NAMES.get(axis, axis)
    return name if axis in name else f"{name} ({axis})"


def value_colors(values: Sequence[Any]) -> dict[Any, Any]:
    return {v: colormaps["tab10"](i % 10) for i, v in enumerate(values)}


def varying_axes(table: pd.DataFrame, first_stat: str = "seeds") -> list[str]:
    """The swept axes besides model and length that take more than one value (a missing value is one)."""
    return [a for a in extra_axes(table, first_stat) if len({axis_key(v) for v in table[a]}) > 1]


def figure_x(summary: pd.DataFrame) -> str:
    """``length`` when the study has several T (or nothing else varies), else its first varying axis."""
    lengths = {axis_key(v) for v in summary["length"]} if "length" in summary else set()
    others = varying_axes(summary)
    return "length" if len(lengths) > 1 or not others else others[0]


def cell_label(columns: Sequence[str], values: Sequence[Any]) -> str:
    """"RNN, hidden=64, lr=0.003": a model by its name, T as "T=5", any other axis as "name=value"."""
    return ", ".join(str(v) if c == "model" else f"T={value_text(v, 6)}" if c == "length" else f"{c}={value_text(v, 6)}"
                     for c, v in zip(columns, values, strict=True))


def cell_keys(table: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The distinct combinations of ``columns``' values, in ``sort_groups`` order (models RNN first)."""
    if not columns:
        return [()]
    return [values for values, _ in group_rows(sort_groups(table[list(columns)], columns), columns)]


def matching(table: pd.DataFrame, columns: Sequence[str], values: Sequence[Any]) -> pd.DataFrame:
    mask = np.ones(len(table), dtype=bool)
    for c, v in zip(columns, values, strict=True):
        if c in table:
            wanted = axis_key(v)
            mask &= np.array([axis_key(u) == wanted for u in table[c]], dtype=bool)
    return table[mask]


def panels_of(table: pd.DataFrame, columns: Sequence[str]) -> Iterator[tuple[tuple[Any, ...], str, pd.DataFrame]]:
    """(values, title, rows) per combination of ``columns``' values, in sorted order; one untitled panel if none."""
    for values in cell_keys(table, columns):
        yield values, cell_label(columns, values), matching(table, columns, values)


def layout(table: pd.DataFrame, x: str, first_stat: str = "seeds",
           max_lines: int = MAX_LINES) -> tuple[list[str], list[str]]:
    """(panel columns, line columns) of a figure against ``x``: a line per combination of the varying axes
    besides ``x`` (``length`` too), labelled "hidden=64, lr=0.003"; a panel per model when there are several,
    so that a model reads the same swept or fixed; past ``max_lines`` lines a panel, the first line axis
    makes panels. With no other varying axis, the models are the lines of one panel."""
    others = [a for a in varying_axes(table, first_stat) if a != x]
    if x != "length" and "length" in table and len({axis_key(v) for v in table["length"]}) > 1:
        others = ["length", *others]
    if not others:
        return [], (["model"] if "model" in table else [])
    panels, lines = (["model"] if len(models_of(table)) > 1 else []), others
    while len(lines) > 1 and len(cell_keys(table, lines)) > max_lines:
        panels.append(lines.pop(0))
    return panels, lines


def figure_grid(n: int, width: float = 6.4, height: float = 4.4) -> tuple[Figure, list[Axes]]:
    cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols * (0.8 if cols > 1 else 1), height * rows * (0.85 if rows > 1 else 1)),
                 layout="constrained")
    return fig, [fig.add_subplot(rows, cols, i + 1) for i in range(n)]


def shared_grid(n: int, ncols: int | None = None, xlabel: str = "", ylabel: str = "") -> tuple[Figure, list[Axes]]:
    """``n`` panels in rows of ``ncols`` sharing the first one's axes, labelled on the outer panels only;
    smaller the more there are."""
    cols = min(n, ncols) if ncols else (1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4 if n <= 16 else 5)
    rows = math.ceil(n / cols)
    width, height = (6.4, 4.4) if n == 1 else (4.6, 3.2) if n <= 4 else (3.4, 2.5)
    fig = Figure(figsize=(max(width * cols, 7.5), height * rows + 1.0), layout="constrained")
    grid = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[n:]:
        fig.delaxes(ax)
    for i, ax in enumerate(axes[:n]):
        bottom, left = i + cols >= n, i % cols == 0
        ax.tick_params(labelbottom=bottom, labelleft=left)
        ax.set(xlabel=xlabel if bottom else "", ylabel=ylabel if left else "")
    return fig, axes[:n]


def figure_legend(fig: Figure, axes: Sequence[Axes], extra: Sequence[Any] = ()) -> None:
    """One legend beside a figure's panels: every label once, then ``extra`` handles."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    order = sorted(seen, key=lambda label: label.startswith(("one seed", "seed ")))  # means first, then seeds
    handles = [*(seen[label] for label in order), *extra]
    labels = [*order, *(h.get_label() for h in extra)]
    fig.legend(handles, labels, loc="outside lower center", fontsize="small", frameon=False,
               ncols=min(len(labels), 3 if len(fig.axes) > 1 else 2))


def target_line(ax: Axes, target: float | None) -> None:
    if target is not None and np.isfinite(target):
        ax.axhline(target, color="0.5", linestyle=":", linewidth=1, label=f"target {target:g}")


def draw_band(ax: Axes, rows: pd.DataFrame, x: str, metric: str, color: Any) -> None:
    low, high = rows[f"{metric}_low"].to_numpy(float), rows[f"{metric}_high"].to_numpy(float)
    ok = np.isfinite(low) & np.isfinite(high)
    if ok.any():
        ax.fill_between(rows[x].to_numpy(float), low, high, where=ok, color=color, alpha=0.18, linewidth=0)


def draw_legend(ax: Axes, handles: list[Any], labels: list[str], loc: str) -> None:
    """A legend inside the axes, or beside them when it has many entries (it would hide the lines)."""
    if len(labels) > 8:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small",
                  ncol=1 + len(labels) // 16)
    else:
        ax.legend(handles, labels, loc=loc, fontsize="small")


def error_bars(rows: pd.DataFrame, metric: str, mean: str = "_mean") -> np.ndarray:
    """Asymmetric error bars (2, n) from low and high about the mean; zero where the interval is missing."""
    y = rows[f"{metric}{mean}"].to_numpy(float)
    low = np.nan_to_num(y - rows[f"{metric}_low"].to_numpy(float), nan=0.0)
    high = np.nan_to_num(rows[f"{metric}_high"].to_numpy(float) - y, nan=0.0)
    return np.vstack([low, high])


def integer_ticks(ax: Axes, lengths: pd.Series) -> None:
    if len(values := sorted({int(t) for t in lengths})) <= 12:
        ax.set_xticks(values)


def png_bytes(drawn: Any) -> bytes:
    """A figure (or an Axes of it) as the report's PNG bytes; the figure is released (pyplot's too)."""
    fig = drawn if isinstance(drawn, Figure) else drawn.get_figure(root=True)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # no label cut off
    finally:
        # Figures made with matplotlib.figure.Figure are not in pyplot; Optuna's are and must be closed.
        if "matplotlib.pyplot" in sys.modules:
            import matplotlib.pyplot as plt

            if plt.fignum_exists(getattr(fig, "number", -1)):
                plt.close(fig)
    return buf.getvalue()
