"""A search of several objectives: every finished trial, and its Pareto front, in the first two objectives."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from study.results.pareto import CELL, Objective, objective_values

NEVER = "never reached the target (drawn at its step budget)"


def _shown(trials: pd.DataFrame, metric: str, index: pd.Index) -> pd.Series:
    """A metric as drawn: steps_to_target never reached at the trial's own step budget."""
    values = pd.to_numeric(trials.loc[index, metric], errors="coerce")
    if metric == "steps_to_target" and "steps" in trials:
        values = values.fillna(pd.to_numeric(trials.loc[index, "steps"], errors="coerce"))
    return values


def plot_pareto(trials: pd.DataFrame, front: pd.DataFrame, objectives: Sequence[Objective]) -> Figure:
    """One panel per cell (model x length): the finished trials in the first two objectives, the
    front's trials marked and joined in order of the first. Needs two objectives or more."""
    assert len(objectives) >= 2
    (mx, dx), (my, dy) = objectives[0], objectives[1]
    values = objective_values(trials, objectives)
    cells = [c for c in CELL if c in trials]
    keys = list(dict.fromkeys(tuple(trials.loc[i, c] for c in cells) for i in values.index)) or [()]
    fig = Figure(figsize=(5.5 * len(keys), 4.2))
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    on_front = set(front["trial_id"].astype(str)) if len(front) else set()
    for ax, key in zip(axes, keys, strict=True):
        here = [i for i in values.index if tuple(trials.loc[i, c] for c in cells) == key]
        idx = pd.Index(here)
        x, y = _shown(trials, mx, idx), _shown(trials, my, idx)
        never = pd.Series(False, index=idx)
        for metric in (mx, my):
            if metric == "steps_to_target":
                never |= pd.to_numeric(trials.loc[idx, metric], errors="coerce").isna()
        best = trials.loc[idx, "trial_id"].astype(str).isin(on_front)
        ax.scatter(x[~best & ~never], y[~best & ~never], color="0.6", s=22, label="trial")
        if never.any():
            ax.scatter(x[never & ~best], y[never & ~best], color="0.6", marker="x", s=28, label=NEVER)
        order = x[best].sort_values(kind="stable").index
        ax.plot(x[order], y[order], "o-", color="C3", drawstyle="steps-post" if len(order) > 1 else "default",
                label=f"Pareto front ({len(order)} trial{'s' * (len(order) != 1)})")
        if (best & never).any():
            ax.scatter(x[best & never], y[best & never], color="C3", marker="x", s=40)
        ax.set_xlabel(f"{mx} ({dx})")
        ax.set_ylabel(f"{my} ({dy})")
        ax.set_title(", ".join(f"{c}={v}" for c, v in zip(cells, key, strict=True)) or "all trials")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    more = f"; {len(objectives) - 2} more objective(s) not drawn" if len(objectives) > 2 else ""
    fig.suptitle(f"Pareto front: {mx} ({dx}) against {my} ({dy}){more}", fontsize=10)
    return fig

