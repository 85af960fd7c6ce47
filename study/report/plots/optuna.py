"""A search's Optuna plots: its optimisation history (Optuna's own) and the fANOVA importance of each
field (drawn here from ``study.results.importance``'s table)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def _optuna_plot(name: str, study: Any, metric: str) -> Axes:
    """One of Optuna's matplotlib visualizations. They switch pyplot to the ggplot style globally:
    run them inside an rc_context so the style stays on their figure and leaves every later one."""
    import warnings

    import matplotlib
    import optuna

    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # A study of several objectives: Optuna's plots of one show the first (the one schedulers rank by).
        target = (lambda t: t.values[0]) if len(study.directions) > 1 else None
        return getattr(optuna.visualization.matplotlib, name)(study, target=target, target_name=metric)


def plot_optuna_history(study: Any, metric: str = "eval_accuracy") -> Axes:
    """Optuna's optimization history of ``metric`` (the search's first objective; its matplotlib
    visualization); a pyplot figure: close it."""
    ax = _optuna_plot("plot_optimization_history", study, metric)
    ax.set_ylabel("Held-out accuracy (eval_accuracy)" if metric == "eval_accuracy" else metric)
    return ax


def plot_importances(table: pd.DataFrame, metric: str = "eval_accuracy") -> Figure:
    """The importance of each searched field for ``metric``, from ``fanova_importances``' table: a
    bar at the mean over the evaluator's seeds, a line across their range; the title names the
    evaluator and its seeds."""
    from study.results.importance import FANOVA_SEEDS, importance_label

    label = importance_label(str(table["seeds"].iloc[0]) if len(table) else FANOVA_SEEDS, short=True)
    rows = table.iloc[::-1]  # the most important at the top
    fig = Figure(figsize=(7.5, 0.5 * len(rows) + 1.8))
    ax = fig.subplots()
    y = list(range(len(rows)))
    mean = rows["fanova_mean"].to_numpy(float)
    ax.barh(y, mean, color="C0", alpha=0.7)
    ax.errorbar(mean, y, xerr=[mean - rows["fanova_min"].to_numpy(float), rows["fanova_max"].to_numpy(float) - mean],
                fmt="none", ecolor="k", capsize=4, linewidth=1)
    ax.set_yticks(y, [str(p) for p in rows["param"]])
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"Importance for {metric} (share of its variance; the seeds' mean, their range as a line)")
    ax.set_ylabel("Searched field")
    ax.set_title(f"Hyperparameter importance: {label}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig
