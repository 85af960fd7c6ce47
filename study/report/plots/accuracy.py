"""Held-out accuracy (and steps to the target) against T or a swept axis, with 95% intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.basics.stats import METHOD
from study.basics.text import value_text
from study.report.plots.common import (
    AXIS_NAMES,
    HELD_OUT,
    LENGTH,
    LOG_AXES,
    _accuracy_axes,
    _errors,
    _grid,
    _integer_ticks,
    _keys,
    _label,
    _legend,
    _matching,
    _models,
    _panels,
    _value_colors,
    axis_label,
    figure_x,
    layout,
    model_style,
    varying_axes,
)
from study.results.summary import (
    axis_key,
    distinct_values,
)


def _x_scale(summary: pd.DataFrame, x: str) -> tuple[dict[Any, float], str]:
    """Each x value's position (by ``axis_key``) and the scale: "linear", "log" or "category"
    (text, or a missing value among numbers: one evenly spaced tick per value)."""
    values = distinct_values(summary, x)
    keys = [axis_key(v) for v in values]
    if all(isinstance(k, float) and not isinstance(k, bool) for k in keys):
        positive = all(k > 0 for k in keys)
        log = x in LOG_AXES and positive or (positive and len(keys) > 1 and max(keys) / min(keys) >= 100)
        return {k: float(k) for k in keys}, "log" if log else "linear"
    return {k: float(i) for i, k in enumerate(keys)}, "category"


def _x_axis(ax: Axes, summary: pd.DataFrame, x: str, positions: dict[Any, float], scale: str) -> None:
    ax.set_xlabel(axis_label(x))
    if x == "length":
        _integer_ticks(ax, summary["length"])
        return
    from matplotlib.ticker import NullLocator

    if scale == "log":
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
    if scale == "category" or len(positions) <= 12:
        values = distinct_values(summary, x)
        ax.set_xticks([positions[axis_key(v)] for v in values], [value_text(v, 6) for v in values])
    if scale == "category":
        ax.set_xlim(-0.5, len(positions) - 0.5)


def _versus(summary: pd.DataFrame, what: str, x: str | None, exercise: pd.DataFrame | None,
            target: float | None, seeds: pd.DataFrame | None = None) -> Figure:
    """The summary's ``what`` (accuracy, mean training accuracy or steps to target) against ``x``
    (``figure_x`` by default), panels and lines by ``layout``."""
    x = figure_x(summary) if x is None else x
    if x not in summary:
        raise ValueError(f"the summary has no column {x!r}")
    positions, scale = _x_scale(summary, x)
    panel_cols, line_cols = layout(summary, x)
    line_keys = _keys(summary, line_cols)
    colors = _value_colors(line_keys)
    models = _models(summary)
    only_model = models[0] if len(models) == 1 and "model" not in panel_cols + line_cols else None
    at = "" if x == "length" or "length" in panel_cols + line_cols else _at_length(summary)
    name = "length" if x == "length" else AXIS_NAMES.get(x, x)
    if what == "accuracy":
        title = f"Held-out accuracy vs {name}{at}, mean over seeds with 95% interval ({METHOD})"
        ylabel, loc = HELD_OUT, "lower left"
    elif what == "mean":
        title = f"Mean training accuracy over all steps vs {name}{at} (the exercise's metric)"
        ylabel, loc = "Mean training accuracy (all steps)", "lower left"
    else:
        goal = f"held-out accuracy >= {target:g}" if target is not None else "the target"
        title = f"Steps to reach {goal}{at} (median over solved seeds)"
        # upper left suits one line per model (steps grow with T); "best" where lines per axis cross
        ylabel, loc = "Steps to target", "upper left" if line_cols == ["model"] else "best"
    if only_model is not None:
        title = f"{only_model}: {title[0].lower()}{title[1:]}"
    panels = list(_panels(summary, panel_cols))
    fig, axes = _grid(len(panels))
    for ax, (panel, sub) in zip(axes, panels, strict=True):
        for key in line_keys:
            rows = _matching(sub, line_cols, key)
            if rows.empty:
                continue
            rows = rows.assign(_x=[positions[axis_key(v)] for v in rows[x]]).sort_values("_x", kind="stable")
            model = key[line_cols.index("model")] if "model" in line_cols else rows["model"].iloc[0]
            _draw(ax, rows, what, colors[key], model_style(model), _label(line_cols, key) or str(model))
            if what == "accuracy" and seeds is not None:
                _seed_dots(ax, rows, seeds, _dot_offset(positions, scale, line_keys.index(key), len(line_keys)),
                           colors[key])
        if what == "accuracy" and exercise is not None and x == "length":
            _exercise_markers(ax, _matching(exercise, panel_cols, _panel_key(sub, panel_cols)),
                              colors if line_cols == ["model"] else None)
        _x_axis(ax, summary, x, positions, scale)
        if what == "steps":
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
        else:
            _accuracy_axes(ax, ylabel)
        ax.set_title(panel if panel else title)
        # This study's series first, the exercise's markers after (matplotlib lists error bars last).
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: "exercise" in labels[i])
        _legend(ax, [handles[i] for i in order], [labels[i] for i in order], loc=loc)
    if panel_cols:
        fig.suptitle(title)
    return fig


def _at_length(summary: pd.DataFrame) -> str:
    lengths = distinct_values(summary, "length")
    return f" at T = {value_text(lengths[0], 6)}" if len(lengths) == 1 else ""


def _panel_key(sub: pd.DataFrame, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(sub[c].iloc[0] for c in columns)


def _draw(ax: Axes, rows: pd.DataFrame, what: str, color: Any, style: str, label: str) -> None:
    x = rows["_x"].to_numpy(float)
    if what == "accuracy":
        ax.errorbar(x, rows["eval_accuracy_mean"].to_numpy(float), yerr=_errors(rows, "eval_accuracy"), color=color,
                    linestyle=style, marker="o", capsize=0, label=label)
    elif what == "mean":
        ax.plot(x, rows["mean_train_accuracy"].to_numpy(float), marker="o", color=color, linestyle=style, label=label)
    else:
        y = rows["steps_to_target_median"].to_numpy(float)
        ax.plot(x, y, marker="o", color=color, linestyle=style, label=label)
        for xi, yi, s, n in zip(x, y, rows["solved"], rows["seeds"], strict=True):
            if np.isfinite(yi):
                ax.annotate(f"{int(s)}/{int(n)}", (xi, yi), textcoords="offset points", xytext=(4, 4),
                            fontsize="x-small", color=color)


MAX_DOTS = 10  # a cell of at most this many seeds draws each seed as a dot


def _dot_offset(positions: dict[Any, float], scale: str, line: int, lines: int) -> float:
    """Where line ``line`` of ``lines`` draws its seed dots, beside its mean: the lines side by side."""
    if scale == "log":
        return 0.0
    span = (max(positions.values()) - min(positions.values())) or 1.0
    return (line - (lines - 1) / 2 + 0.5) * 0.012 * span


def _seed_dots(ax: Axes, rows: pd.DataFrame, seeds: pd.DataFrame, offset: float, color: Any) -> None:
    """Each finished seed's final held-out accuracy as a small hollow dot beside its cell's mean, for the
    cells of at most ``MAX_DOTS`` seeds (``seeds``: the finished trials; a cell's rows match the
    summary row on every group column)."""
    groups = [c for c in rows.columns[: list(rows.columns).index("seeds")] if c in seeds]
    labelled = any(t == "one seed" for t in ax.get_legend_handles_labels()[1])
    for _, row in rows.iterrows():
        if not 0 < int(row["seeds"]) <= MAX_DOTS:
            continue
        values = pd.to_numeric(_matching(seeds, groups, [row[c] for c in groups])["eval_accuracy"],
                               errors="coerce").dropna().to_numpy(float)
        ax.scatter(np.full(len(values), row["_x"] + offset), values, s=18, facecolors="none", edgecolors=color,
                   linewidths=0.8, alpha=0.8, zorder=3, label=None if labelled else "one seed")
        labelled = True


def _exercise_markers(ax: Axes, points: pd.DataFrame, colors: Mapping[Any, Any] | None) -> None:
    """The exercise's numbers where they apply (``tables.exercise_points``), x markers for the RNN."""
    for model in _models(points):
        rows = points[points["model"] == model].drop_duplicates("length").sort_values("length")
        color = colors.get((model,), "black") if colors is not None else "black"
        ax.plot(rows["length"].to_numpy(float), rows["exercise"].to_numpy(float), linestyle="none",
                marker="x" if model == "RNN" else "+", markersize=9, color=color,
                label=f"{model}, exercise (train batch, 1 run)")


def plot_accuracy(summary: pd.DataFrame, *, x: str | None = None, exercise: pd.DataFrame | None = None,
                  seeds: pd.DataFrame | None = None) -> Figure:
    """Final held-out accuracy against ``x`` (``figure_x``: T, or a single-T study's first axis),
    mean over seeds with 95% error bars (``METHOD``); panels and lines by ``layout``.

    ``seeds``: the finished trials (``finished_trials``); a cell of at most ``MAX_DOTS`` seeds draws
    each seed's final held-out accuracy as a hollow dot beside its mean and interval.

    ``exercise``: ``tables.exercise_points``, the exercise's reported numbers where they apply,
    drawn beside as x (RNN) and + markers (training-batch accuracy at step 10,000, one run), when x is T.
    """
    return _versus(summary, "accuracy", x, exercise, None, seeds)


def plot_mean_accuracy(summary: pd.DataFrame, *, x: str | None = None) -> Figure:
    """The exercise's metric (mean training-batch accuracy over all steps, mean over seeds) against
    ``x`` (``figure_x``): its plot (b)/(d); panels and lines by ``layout``."""
    return _versus(summary, "mean", x, None, None)


def plot_steps_to_target(summary: pd.DataFrame, *, x: str | None = None, target: float | None = None) -> Figure:
    """Median steps to reach the target held-out accuracy against ``x`` (``figure_x``), over the
    solved seeds; panels and lines by ``layout``. Each point is annotated "solved/seeds"; where
    no seed reached the target there is no point."""
    return _versus(summary, "steps", x, None, target)


def plot_accuracy_vs_length_by(summary: pd.DataFrame, axis: str, *, seeds: pd.DataFrame | None = None) -> Figure:
    """Held-out accuracy against T for each value of a swept ``axis``, one panel per model.

    Lines per panel: one per value of ``axis``, with 95% error bars. Other varying axes, if
    any, make more panels. ``seeds`` (the finished trials): each seed as a dot beside its mean
    where a cell has at most ``MAX_DOTS`` seeds, as in ``plot_accuracy``.
    """
    if axis not in summary.columns:
        raise ValueError(f"the summary has no column {axis!r}")
    others = [a for a in varying_axes(summary) if a != axis]
    panels = []
    for model in _models(summary):
        rows = summary[summary["model"] == model]
        for panel, sub in _panels(rows, others):
            panels.append((f"{model}, {panel}" if panel else model, model, sub))
    fig, axes = _grid(len(panels))
    values = distinct_values(summary, axis)
    colors = _value_colors([value_text(v, 6) for v in values])
    name = AXIS_NAMES.get(axis, axis)
    for ax, (title, model, sub) in zip(axes, panels, strict=True):
        for v in values:
            text = value_text(v, 6)
            rows = _matching(sub, [axis], [v]).sort_values("length")
            if rows.empty:
                continue
            ax.errorbar(rows["length"].to_numpy(float), rows["eval_accuracy_mean"].to_numpy(float),
                        yerr=_errors(rows, "eval_accuracy"), marker="o", capsize=0, color=colors[text],
                        linestyle=model_style(model), label=f"{axis}={text}")
            if seeds is not None:
                positions = {axis_key(t): float(t) for t in summary["length"]}
                _seed_dots(ax, rows.assign(_x=rows["length"].astype(float)), seeds,
                           _dot_offset(positions, "linear", values.index(v), len(values)), colors[text])
        ax.set_title(title)
        ax.set_xlabel(LENGTH)
        _accuracy_axes(ax)
        _integer_ticks(ax, summary["length"])
        _legend(ax, loc="lower left", title=name)
    fig.suptitle(f"Held-out accuracy vs length, by {name} (mean over seeds, 95% interval, {METHOD})")
    return fig
