"""The comparison's figure: held-out accuracy against length, a line and a 95% band per study."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from study.report.plots.common import HELD_OUT, LENGTH, _label, model_order

if TYPE_CHECKING:
    from study.report.compare import Comparison


def plot_comparison(comparison: Comparison) -> Any:
    """One panel per model; in each, one line per study (and per value of any other axis), its
    band the 95% logit-t interval of the mean over seeds."""
    from matplotlib.figure import Figure

    extra = [a for a in comparison.axes if a not in ("model", "length")]
    models = model_order(pd.concat([s["model"] for s in comparison.summaries.values() if "model" in s]))
    fig = Figure(figsize=(5.2 * max(1, len(models)), 4.0))
    axes = fig.subplots(1, max(1, len(models)), squeeze=False)[0]
    for ax, model in zip(axes, models, strict=False):
        for i, (label, summary) in enumerate(comparison.summaries.items()):
            rows = summary[summary["model"] == model]
            if rows.empty:
                continue
            keys = [k for k in extra if k in rows]
            for values, g in (rows.groupby(keys, dropna=False, sort=False) if keys else [((), rows)]):
                values = values if isinstance(values, tuple) else (values,)
                g = g.sort_values("length")
                name = label + (f" ({_label(keys, values)})" if keys else "")
                line, = ax.plot(g["length"], g["eval_accuracy_mean"], marker="o", label=name,
                                linestyle="-" if i == 0 else "--")
                ax.fill_between(g["length"], g["eval_accuracy_low"], g["eval_accuracy_high"],
                                color=line.get_color(), alpha=0.15, linewidth=0)
        ax.set_title(str(model))
        ax.set_xlabel(LENGTH)
        ax.set_ylabel(HELD_OUT)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig

