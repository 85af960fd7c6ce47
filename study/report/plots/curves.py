"""Accuracy against training steps: each model's curves per T, both models in one figure, a search's best trial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from study.basics.stats import METHOD
from study.basics.text import value_text
from study.report.plots import common
from study.results.summary import distinct_values, trial_outcome

MAX_CURVE_LINES = 4  # mean lines in one panel of curves; more, and an axis makes panels instead
FULL_WIDTH, FEWER_WIDTH = 2.0, 0.9  # a mean line over all its seeds; over fewer (some stopped)
SEED_END = {"target": ("o", "seed stopped at the target (held at its last value in the mean)"),
            "cut": ("x", "seed cut by the scheduler (out of the mean from then)"),
            "errored": ("x", "seed that errored"), "unfinished": ("x", "seed unfinished")}


def plot_curves(bands: pd.DataFrame, model: str, *, metric: str = "eval_accuracy", target: float | None = None,
                curves: pd.DataFrame | None = None, trials: pd.DataFrame | None = None) -> Figure:
    """One model's curves with their across-seed bands (``curves_table``) as small multiples on shared axes:
    a panel per T (and per value of an axis while a panel would hold more than ``MAX_CURVE_LINES`` lines),
    a line per combination of the other axes; one mean line: each seed thin too (``curves``), its end marked
    by how it stopped (``trials``). A mean is bold while every seed is in it, thin after ("n=5→4")."""
    rows = bands[bands["model"] == model] if "model" in bands else bands.iloc[0:0]
    if rows.empty:
        raise ValueError(f"no curves for model {model!r}")
    lines, panels = common.varying_axes(rows, "step"), []  # panels: the other axes, then T (the grid's rows, columns)
    while lines and len(common.cell_keys(rows, lines)) > MAX_CURVE_LINES:
        panels.append(lines.pop(0))
    panels += ["length"] if len(distinct_values(rows, "length")) > 1 else []
    if curves is not None and "model" in curves:
        curves = curves[curves["model"].astype(str) == str(model)]
    return _small_multiples(rows, [model], panels, lines, f", {METHOD}", metric, target,
                            _seed_ends(trials) if curves is not None and not lines else None, curves)


def plot_curves_both(bands: pd.DataFrame, *, metric: str = "eval_accuracy", target: float | None = None) -> Figure:
    """Every model's mean curves side by side (the exercise's plot c): a panel per T (and combination of
    the other axes), a line per model in its colour with its 95% band, bold and thin as ``plot_curves``."""
    models = common.models_of(bands)
    panels = [*common.varying_axes(bands, "step"), *(["length"] if len(distinct_values(bands, "length")) > 1 else [])]
    return _small_multiples(bands, models, panels, ["model"], "; RNN dashed", metric, target, None, None)


def _small_multiples(bands: pd.DataFrame, models: list[str], panel_cols: list[str], line_cols: list[str],
                     tail: str, metric: str, target: float | None, ends: dict[str, str] | None,
                     curves: pd.DataFrame | None) -> Figure:
    name = common.METRIC_NAMES.get(metric, metric)
    title = f"{' vs '.join(models)}: {name.lower()} during training (mean over seeds, 95% band{tail})"
    panels = list(common.panels_of(bands, panel_cols))
    lengths = len(distinct_values(bands, "length"))
    ncols = lengths if panel_cols[-1:] == ["length"] and len(panel_cols) > 1 and lengths <= 6 else None
    fig, axes = common.shared_grid(len(panels), ncols, common.STEPS, name)
    others = [c for c in line_cols if c != "model"]
    line_keys = common.cell_keys(bands, others)
    colors = common.value_colors(line_keys) if len(line_keys) > 1 else {}
    dropped = False
    for ax, (panel_key, panel, sub) in zip(axes, panels, strict=True):
        if ends is not None and curves is not None:
            _seeds(ax, common.matching(curves, panel_cols, panel_key), metric,
                   common.MODEL_COLORS.get(str(models[0]), "C4"), ends)
        for model in models:
            for key in line_keys:
                line = common.matching(sub[sub["model"] == model], others, key).sort_values("step")
                if line.empty:
                    continue
                color = colors.get(key, common.MODEL_COLORS.get(str(model), "C4"))
                common.draw_band(ax, line, "step", metric, color)
                dropped |= _mean_line(ax, line, metric, color, common.MODEL_STYLES.get(str(model), ":"),
                                      common.cell_label(others, key) if others  # else the model, or "mean"
                                      else "mean over seeds, 95% band" if ends is not None or "model" not in line_cols
                                      else str(model))
        common.target_line(ax, target)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
        ax.set_title(panel if panel else title, fontsize="medium" if panel else None)
    if len(panels) > 1 or panels[0][1]:
        fig.suptitle(title)
    keys = [Line2D([], [], color="0.3", linewidth=FULL_WIDTH, label="mean over every seed of the cell"),
            Line2D([], [], color="0.3", linewidth=FEWER_WIDTH, label="mean over fewer (n=5\u21924: from 5 to 4)")]
    common.figure_legend(fig, axes, keys if dropped else [])
    return fig


def _mean_line(ax: Axes, line: pd.DataFrame, metric: str, color: Any, style: str, label: str) -> bool:
    """The mean, bold while every seed is in it, thin from where fewer are, "n=5→4" at each drop; whether
    the count ever drops."""
    x, y, n = line["step"].to_numpy(float), line[f"{metric}_mean"].to_numpy(float), line["seeds"].to_numpy(int)
    full, start = int(n.max()), 0
    for i in range(1, len(n) + 1):
        if i < len(n) and n[i] == n[start]:
            continue
        part = slice(max(start - 1, 0), i)  # from the last point before: the line stays joined
        ax.plot(x[part], y[part], color=color, linestyle=style, label=label if start == 0 else None,
                linewidth=FULL_WIDTH if n[start] == full else FEWER_WIDTH, gid=f"mean n={n[start]}")
        if start > 0:
            ax.annotate(f"n={n[start - 1]}\u2192{n[start]}", (x[start], y[start]), textcoords="offset points",
                        xytext=(2, -9 if y[start] > 0.5 else 4), fontsize="x-small", color=color, gid="seeds-drop",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
        start = i
    return bool((n < full).any())


def _seed_ends(trials: pd.DataFrame | None) -> dict[str, str]:
    """Each trial's end for its curve's marker: "target", "cut", "errored", "unfinished" or "steps" (none)."""
    if trials is None or trials.empty:
        return {}
    outcome = trial_outcome(trials)
    by = trials["stopped_by"].astype(str) if "stopped_by" in trials else pd.Series("", index=trials.index)
    ends = outcome.where(outcome != "finished", by.where(by == "target", "steps"))
    return dict(zip(trials["trial_id"].astype(str), ends, strict=True))


def _seeds(ax: Axes, curves: pd.DataFrame, metric: str, color: Any, ends: dict[str, str]) -> None:
    """Each seed's curve, thin (grey and dotted where it did not finish), its end marked (``SEED_END``)."""
    for tid, seed in curves.groupby(curves["trial_id"].astype(str), sort=True):
        seed = seed.assign(step=pd.to_numeric(seed["step"], errors="coerce"), y=pd.to_numeric(
            seed[metric], errors="coerce")).dropna(subset=["step", "y"]).sort_values("step")
        if seed.empty:
            continue
        end = ends.get(str(tid), "steps")
        finished = end in ("steps", "target")
        ax.plot(seed["step"], seed["y"], color=color if finished else "0.3", linewidth=0.7,
                linestyle="-" if finished else ":", alpha=0.45 if finished else 0.9,
                label="one seed" if finished else None, gid=f"seed {end}")
        if end in SEED_END:
            marker, label = SEED_END[end]
            ax.plot(seed["step"].iloc[-1], seed["y"].iloc[-1], marker, color=color if finished else "0.2",
                    markersize=4 if marker == "o" else 6, alpha=0.8, linestyle="none", label=label,
                    gid=f"seed-end {end}")


def plot_best_curve(curves: pd.DataFrame, trial_id: str, *, target: float | None = None,
                    params: Mapping[str, Any] | None = None, ax: Axes | None = None) -> Axes:
    """One trial's held-out accuracy, its training accuracy (each evaluation window's mean) and the target."""
    rows = curves[curves["trial_id"].astype(str) == str(trial_id)]
    if rows.empty:
        raise ValueError(f"no curve for trial {trial_id!r}")
    rows = rows.assign(step=pd.to_numeric(rows["step"], errors="coerce")).sort_values("step")
    ax = ax if ax is not None else Figure(figsize=(6.4, 4.4), layout="constrained").add_subplot()
    ax.plot(rows["step"], pd.to_numeric(rows["eval_accuracy"], errors="coerce"), marker=".", label="held-out")
    if "train_accuracy" in rows:
        ax.plot(rows["step"], pd.to_numeric(rows["train_accuracy"], errors="coerce"), linestyle="--",
                label="training batches (window mean)")
    common.target_line(ax, target)
    title = f"Best trial {trial_id}: learning curve"
    if params:
        title += "\n" + ", ".join(f"{k}={value_text(v, 6)}" for k, v in params.items())
    ax.set_title(title, fontsize="medium")
    ax.set(xlabel=common.STEPS, ylim=(-0.02, 1.02), ylabel="Accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax
