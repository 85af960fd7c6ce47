"""A search's figures: Optuna's history, the fields' fANOVA importances, the Pareto front of several
objectives, Population Based Training's learning rates and curves with their exploits marked."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.results.pareto import CELL, Objective, objective_values
from study.results.search import FANOVA_SEEDS, importance_label

NEVER = "never reached the target (drawn at its step budget)"


def _shown(trials: pd.DataFrame, metric: str, index: pd.Index) -> pd.Series:
    """A metric as drawn: steps_to_target never reached at the trial's own step budget."""
    values = pd.to_numeric(trials.loc[index, metric], errors="coerce")
    if metric == "steps_to_target" and "steps" in trials:
        values = values.fillna(pd.to_numeric(trials.loc[index, "steps"], errors="coerce"))
    return values


def plot_pareto(trials: pd.DataFrame, front: pd.DataFrame, objectives: Sequence[Objective]) -> Figure:
    """A panel per cell: the finished trials in the first two objectives, the front marked and joined."""
    assert len(objectives) >= 2
    (mx, dx), (my, dy) = objectives[0], objectives[1]
    values = objective_values(trials, objectives)
    cells = [c for c in CELL if c in trials]
    keys = list(dict.fromkeys(tuple(trials.loc[i, c] for c in cells) for i in values.index)) or [()]
    fig = Figure(figsize=(5.5 * len(keys), 4.2))
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    on_front = set(front["trial_id"].astype(str)) if len(front) else set()
    for ax, key in zip(axes, keys, strict=True):
        idx = pd.Index([i for i in values.index if tuple(trials.loc[i, c] for c in cells) == key])
        x, y = _shown(trials, mx, idx), _shown(trials, my, idx)
        never = pd.Series(False, index=idx)
        if "steps_to_target" in (mx, my):
            never |= pd.to_numeric(trials.loc[idx, "steps_to_target"], errors="coerce").isna()
        best = trials.loc[idx, "trial_id"].astype(str).isin(on_front)
        ax.scatter(x[~best & ~never], y[~best & ~never], color="0.6", s=22, label="trial")
        if never.any():
            ax.scatter(x[never & ~best], y[never & ~best], color="0.6", marker="x", s=28, label=NEVER)
        order = x[best].sort_values(kind="stable").index
        ax.plot(x[order], y[order], "o-", color="C3", drawstyle="steps-post" if len(order) > 1 else "default",
                label=f"Pareto front ({len(order)} trial{'s' * (len(order) != 1)})")
        if (best & never).any():
            ax.scatter(x[best & never], y[best & never], color="C3", marker="x", s=40)
        ax.set(xlabel=f"{mx} ({dx})", ylabel=f"{my} ({dy})",
               title=", ".join(f"{c}={v}" for c, v in zip(cells, key, strict=True)) or "all trials")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    more = f"; {len(objectives) - 2} more objective(s) not drawn" if len(objectives) > 2 else ""
    fig.suptitle(f"Pareto front: {mx} ({dx}) against {my} ({dy}){more}", fontsize=10)
    return fig


def plot_optuna_history(study: Any, metric: str = "eval_accuracy") -> Axes:
    """Optuna's optimization history of ``metric`` (the search's first objective); a pyplot figure: close it.
    Optuna's plots switch pyplot to the ggplot style globally: drawn inside an rc_context, the style stays
    on their figure and leaves every later one."""
    import optuna

    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # A study of several objectives: Optuna's plots of one show the first (the one schedulers rank by).
        target = (lambda t: t.values[0]) if len(study.directions) > 1 else None
        ax = optuna.visualization.matplotlib.plot_optimization_history(study, target=target, target_name=metric)
    ax.set_ylabel("Held-out accuracy (eval_accuracy)" if metric == "eval_accuracy" else metric)
    return ax


def plot_importances(table: pd.DataFrame, metric: str = "eval_accuracy") -> Figure:
    """Each searched field's importance for ``metric``: a bar at the seeds' mean, a line across their range."""
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
    ax.set(xlim=(0, 1), ylabel="Searched field",
           xlabel=f"Importance for {metric} (share of its variance; the seeds' mean, their range as a line)")
    ax.set_title(f"Hyperparameter importance: {label}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _segments(df: pd.DataFrame, by_member: dict[int, pd.DataFrame]) -> tuple[list[list[tuple[float, float]]],
                                                                              list[tuple[float, float, float]]]:
    """A member's accuracy curve as stretches between its exploits, and each exploit as (step,
    its own accuracy there, the donor's): a stretch after an exploit starts at the donor's point."""
    stretches: list[list[tuple[float, float]]] = [[]]
    jumps, previous = [], None
    for _, row in df.iterrows():
        donor_id = pd.to_numeric(pd.Series([row["exploited_from"]]), errors="coerce").iloc[0]
        if pd.notna(donor_id) and previous is not None:
            donor = by_member.get(int(donor_id))
            there = donor[donor["step"] == previous[0]] if donor is not None else None
            if there is not None and len(there):
                start = (previous[0], float(there["eval_accuracy"].iloc[0]))
                jumps.append((previous[0], previous[1], start[1]))
                stretches.append([start])
        point = (float(row["step"]), float(row["eval_accuracy"]))
        stretches[-1].append(point)
        previous = point
    return stretches, jumps


def plot_pbt(curves: pd.DataFrame) -> Figure:
    """lr (log scale) above, held-out accuracy below, a colour per trial; a star at each exploit, below at the
    donor's accuracy where the curve goes on (dotted from its own)."""
    if "lr" not in curves or "exploited_from" not in curves:
        raise ValueError("not a PBT study: curves.csv has no lr and exploited_from columns")
    fig = Figure(figsize=(8.5, 6.2))
    top, bottom = fig.subplots(2, 1, sharex=True)
    members = curves["trial_id"].astype(str).str.rsplit("_", n=1).str[-1].astype(int)
    by_member = {int(m): df.sort_values("step") for m, df in curves.assign(_member=members).groupby("_member")}
    exploits = 0
    for i, (m, df) in enumerate(sorted(by_member.items())):
        colour = f"C{i % 10}"
        top.plot(df["step"], df["lr"], drawstyle="steps-pre", color=colour, label=f"m{m}")
        stretches, jumps = _segments(df, by_member)
        for stretch in stretches:
            if stretch:
                bottom.plot(*zip(*stretch, strict=True), color=colour)
        for step, own, donor in jumps:
            exploits += 1
            bottom.plot([step, step], [own, donor], ":", color=colour, linewidth=1)
            bottom.plot(step, donor, "*", color=colour, markersize=11, markeredgecolor="k")
            after = df[df["step"] > step]
            if len(after):
                top.plot(step, after["lr"].iloc[0], "*", color=colour, markersize=11, markeredgecolor="k")
    top.set(yscale="log", ylabel="learning rate")
    bottom.set(ylabel="held-out accuracy", xlabel="training step")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    top.legend(fontsize=8, ncol=min(len(by_member), 6), title="member", title_fontsize=8)
    fig.suptitle(f"Population Based Training: {len(by_member)} trials, {exploits} exploits "
                 "(a star: the trial went on from another's weights and a new lr)", fontsize=10)
    return fig
