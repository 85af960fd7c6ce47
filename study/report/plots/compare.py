"""The comparison's figure: per model, B - A of the held-out accuracy against length, each with its
95% interval, against the band of the practical margin; the marker says the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from study.basics.stats import METHOD
from study.basics.text import value_text
from study.report.plots.common import LENGTH, cell_label, draw_legend, integer_ticks, model_order

if TYPE_CHECKING:
    from study.results.compare import Comparison

# The verdict's marker: filled where B - A differs by more than the margin.
MARKERS = {"differs": ("o", True), "same": ("o", False), "inconclusive": ("s", False)}


def plot_comparison(comparison: Comparison) -> Any:
    """One panel per model: each later study's (and each other axis value's) B - A per length,
    error bars its 95% interval, the grey band [-margin, +margin]; filled circle: differs, open
    circle: same within the margin, open square: inconclusive. Cells of one study only are not drawn."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import ScalarFormatter

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
        keys = ["study_b", *extra]
        for i, (values, g) in enumerate(rows.groupby(keys, dropna=False, sort=False)):
            name = ", ".join([str(values[0]), *([cell_label(extra, values[1:])] if extra else [])])
            _series(ax, g.sort_values("length"), i, name, log_x)
        ax.set_title(str(model))
        ax.set_xlabel(LENGTH)
        ax.set_ylabel("B - A, held-out accuracy")
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ScalarFormatter())
        if len(rows):
            integer_ticks(ax, rows["length"])
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        for verdict, (marker, filled) in MARKERS.items():
            handles.append(Line2D([], [], color="0.2", marker=marker, linestyle="",
                                  markerfacecolor="0.2" if filled else "none"))
            labels.append(verdict)
        handles.append(Line2D([], [], color="0.6", alpha=0.5, linewidth=8))
        labels.append(f"margin \u00b1{value_text(m, 6)}")
        draw_legend(ax, handles, labels, loc="best")
    fig.suptitle(f"B - A = {comparison.studies[1] if len(comparison.studies) == 2 else 'each later study'} - "
                 f"{comparison.studies[0]}: 95% MOVER interval from each side's 95% {METHOD} interval; "
                 f"grey: the margin \u00b1{value_text(m, 6)}", fontsize="small")
    fig.tight_layout()
    return fig


def _series(ax: Any, g: pd.DataFrame, i: int, name: str, log_x: bool) -> None:
    """One series of cells: B - A with its interval, its marker per verdict, nudged sideways by ``i``."""
    x = pd.to_numeric(g["length"], errors="coerce").to_numpy(float)
    x = x * (1.03 ** i) if log_x else x + 0.12 * i
    y = g["accuracy_diff"].to_numpy(float)
    low = np.nan_to_num(y - g["accuracy_diff_low"].to_numpy(float), nan=0.0)
    high = np.nan_to_num(g["accuracy_diff_high"].to_numpy(float) - y, nan=0.0)
    bars = ax.errorbar(x, y, yerr=np.vstack([low, high]), linestyle="none", capsize=3, label=name)
    color = bars[0].get_color()
    for verdict, (marker, filled) in MARKERS.items():
        mask = (g["verdict"] == verdict).to_numpy()
        if mask.any():
            ax.plot(x[mask], y[mask], marker=marker, linestyle="none", color=color,
                    markerfacecolor=color if filled else "white", markersize=7)
