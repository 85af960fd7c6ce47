"""Held-out accuracy (and steps to the target) against T or a swept axis, with 95% intervals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator
from matplotlib.transforms import offset_copy

from study.basics.stats import METHOD
from study.basics.text import value_text
from study.report.plots import common
from study.results.summary import axis_key, distinct_values


def _x_scale(summary: pd.DataFrame, x: str) -> tuple[dict[Any, float], str]:
    """Each x value's position (by ``axis_key``) and the scale: "linear", "log" or "category"
    (text, or a missing value among numbers: one evenly spaced tick per value)."""
    keys = [axis_key(v) for v in distinct_values(summary, x)]
    if all(isinstance(k, float) and not isinstance(k, bool) for k in keys):
        positive = all(k > 0 for k in keys)
        log = x in common.LOG_AXES and positive or (positive and len(keys) > 1 and max(keys) / min(keys) >= 100)
        return {k: float(k) for k in keys}, "log" if log else "linear"
    return {k: float(i) for i, k in enumerate(keys)}, "category"


def _x_axis(ax: Axes, summary: pd.DataFrame, x: str, positions: dict[Any, float], scale: str) -> None:
    ax.set_xlabel(common.axis_label(x))
    if x == "length":
        common.integer_ticks(ax, summary["length"])
        return
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
    """The summary's ``what`` (accuracy, mean, steps) against ``x``, panels and lines by ``layout``."""
    x = common.figure_x(summary) if x is None else x
    if x not in summary:
        raise ValueError(f"the summary has no column {x!r}")
    positions, scale = _x_scale(summary, x)
    panel_cols, line_cols = common.layout(summary, x)
    line_keys = common.cell_keys(summary, line_cols)
    colors = common.value_colors(line_keys)
    title, ylabel = _titles(summary, what, x, target, panel_cols + line_cols)
    panels = list(common.panels_of(summary, panel_cols))
    fig, axes = common.figure_grid(len(panels), width=8.8 if what == "steps" else 6.4)  # steps: a legend beside
    for ax, (panel_key, panel, sub) in zip(axes, panels, strict=True):
        for i, key in enumerate(line_keys):
            rows = common.matching(sub, line_cols, key)
            if rows.empty:
                continue
            rows = rows.assign(_x=[positions[axis_key(v)] for v in rows[x]]).sort_values("_x", kind="stable")
            model = key[line_cols.index("model")] if "model" in line_cols else rows["model"].iloc[0]
            shift = (i - (len(line_keys) - 1) / 2) * STEPS_DODGE if what == "steps" else 0.0
            _draw(ax, rows, what, colors[key], common.MODEL_STYLES.get(str(model), ":"),
                  common.cell_label(line_cols, key) or str(model), shift)
            if what == "accuracy" and seeds is not None:  # each line's seed dots beside its mean, side by side
                span = (max(positions.values()) - min(positions.values())) or 1.0
                offset = 0.0 if scale == "log" else (i - (len(line_keys) - 1) / 2 + 0.5) * 0.012 * span
                _seed_dots(ax, rows, seeds, offset, colors[key])
        if what == "accuracy" and exercise is not None and x == "length":
            _exercise_markers(ax, common.matching(exercise, panel_cols, panel_key),
                              colors if line_cols == ["model"] else None)
        _x_axis(ax, summary, x, positions, scale)
        ax.set(ylim=(0, None) if what == "steps" else (-0.02, 1.02), ylabel=ylabel)
        ax.grid(True, alpha=0.3)
        ax.set_title(panel if panel else title)
        # This study's series first, the exercise's markers after (matplotlib lists error bars last).
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: "exercise" in labels[i])
        handles, labels = [handles[i] for i in order], [labels[i] for i in order]
        if what != "steps":
            common.draw_legend(ax, handles, labels, loc="lower left")
            continue
        if any(line.get_gid() == "one-seed" for line in ax.get_lines()):  # a key to the open markers
            handles = [*handles, Line2D([], [], linestyle="none", marker="o", mfc="white", color="0.3")]
            labels = [*labels, ONE_SEED]
        # Beside the axes: steps grow to the top right, where a legend inside would hide points.
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    if panel_cols:
        fig.suptitle(title)
    if what == "steps":  # labels placed where the laid-out axes put their points
        fig.get_layout_engine().execute(fig)
        for ax in axes:
            _place_labels(ax)
    return fig


def _titles(summary: pd.DataFrame, what: str, x: str, target: float | None, cols: list[str]) -> tuple[str, str]:
    """(title, y label) of a ``_versus`` figure whose panels and lines are by ``cols``."""
    models = common.models_of(summary)
    lengths = distinct_values(summary, "length") if x != "length" and "length" not in cols else []
    at = f" at T = {value_text(lengths[0], 6)}" if len(lengths) == 1 else ""
    name = "length" if x == "length" else common.AXIS_NAMES.get(x, x)
    goal = f"held-out accuracy >= {target:g}" if target is not None else "the target"
    title, ylabel = {
        "accuracy": (f"Held-out accuracy vs {name}{at}, mean over seeds with 95% interval ({METHOD})", common.HELD_OUT),
        "mean": (f"Mean training accuracy over all steps vs {name}{at} (the exercise's metric)",
                 "Mean training accuracy (all steps)"),
        "steps": (f"Steps to reach {goal}{at} (median over solved seeds)", "Steps to target")}[what]
    if len(models) == 1 and "model" not in cols:
        title = f"{models[0]}: {title[0].lower()}{title[1:]}"
    return title, ylabel


def _draw(ax: Axes, rows: pd.DataFrame, what: str, color: Any, style: str, label: str, shift: float = 0.0) -> None:
    x = rows["_x"].to_numpy(float)
    if what == "accuracy":
        ax.errorbar(x, rows["eval_accuracy_mean"].to_numpy(float), yerr=common.error_bars(rows, "eval_accuracy"),
                    color=color, linestyle=style, marker="o", capsize=0, label=label)
    elif what == "mean":
        ax.plot(x, rows["mean_train_accuracy"].to_numpy(float), marker="o", color=color, linestyle=style, label=label)
    else:
        y = rows["steps_to_target_median"].to_numpy(float)
        solved, seeds = rows["solved"].to_numpy(int), rows["seeds"].to_numpy(int)
        alone = (solved == 1) & (seeds > 1) & np.isfinite(y)  # one seed of several: its steps, no median
        moved = offset_copy(ax.transData, fig=ax.get_figure(root=True), x=shift, y=0, units="points")
        ax.plot(x, np.where(alone, np.nan, y), marker="o", color=color, linestyle=style, label=label, transform=moved)
        ax.update_datalim(np.column_stack([x, y])[np.isfinite(y)])  # a moved line does not widen the axes itself
        ax.autoscale_view()
        if alone.any():
            ax.plot(x[alone], y[alone], linestyle="none", marker="o", mfc="white", color=color, gid="one-seed",
                    transform=moved)
        ax._solved_labels = getattr(ax, "_solved_labels", []) + [  # placed once every line is drawn
            (xi, yi, f"{s}/{n}", color, shift) for xi, yi, s, n in zip(x, y, solved, seeds, strict=True)
            if np.isfinite(yi)]


STEPS_DODGE = 3.0  # points between the lines of a steps figure, sideways: equal medians stay visible
ONE_SEED = "one seed of several solved:\nits steps, not a median (not joined)"
LABEL_OFFSETS = ((4, 3, "left"), (4, -10, "left"), (-4, 3, "right"), (-4, -10, "right"), (4, 11, "left"),
                 (4, -18, "left"))  # points: beside a point, then above or below it


def _place_labels(ax: Axes) -> None:
    """Each "solved/seeds" label of a steps figure at the first offset where its box (estimated from its
    length) overlaps no label placed before; one with no free place is left out (its point stays)."""
    labels = getattr(ax, "_solved_labels", [])
    if not labels:
        return
    to_points = 72 / ax.get_figure(root=True).dpi
    points = [(px * to_points + shift, py * to_points)
              for (px, py), shift in zip(ax.transData.transform([(x, y) for x, y, *_ in labels]),
                                         (item[4] for item in labels), strict=True)]
    placed = [(px - 4, py - 4, px + 4, py + 4) for px, py in points]  # the markers: no label over them
    size = 7.0  # points: x-small
    for (x, y, text, color, shift), (px, py) in sorted(zip(labels, points, strict=True), key=lambda item: item[1]):
        width, height = 0.62 * size * len(text) + 2, size + 2
        for dx, dy, align in LABEL_OFFSETS:
            left = px + dx - (width if align == "right" else 0)
            box = (left, py + dy, left + width, py + dy + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                placed.append(box)
                ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx + shift, dy), ha=align,
                            fontsize=size, color=color, gid="solved-label")
                break


MAX_DOTS = 10  # a cell of at most this many seeds draws each seed as a dot


def _seed_dots(ax: Axes, rows: pd.DataFrame, seeds: pd.DataFrame, offset: float, color: Any) -> None:
    """Each finished seed's final held-out accuracy, a hollow dot beside its cell's mean (cells of at most
    ``MAX_DOTS`` seeds)."""
    groups = [c for c in rows.columns[: list(rows.columns).index("seeds")] if c in seeds]
    labelled = any(t == "one seed" for t in ax.get_legend_handles_labels()[1])
    for _, row in rows.iterrows():
        if not 0 < int(row["seeds"]) <= MAX_DOTS:
            continue
        values = pd.to_numeric(common.matching(seeds, groups, [row[c] for c in groups])["eval_accuracy"],
                               errors="coerce").dropna().to_numpy(float)
        ax.scatter(np.full(len(values), row["_x"] + offset), values, s=18, facecolors="none", edgecolors=color,
                   linewidths=0.8, alpha=0.8, zorder=3, label=None if labelled else "one seed")
        labelled = True


def _exercise_markers(ax: Axes, points: pd.DataFrame, colors: Mapping[Any, Any] | None) -> None:
    """The exercise's numbers where they apply (``tables.exercise_points``), x markers for the RNN."""
    for model in common.models_of(points):
        rows = points[points["model"] == model].drop_duplicates("length").sort_values("length")
        color = colors.get((model,), "black") if colors is not None else "black"
        ax.plot(rows["length"].to_numpy(float), rows["exercise"].to_numpy(float), linestyle="none",
                marker="x" if model == "RNN" else "+", markersize=9, color=color,
                label=f"{model}, exercise (train batch, 1 run)")


def plot_accuracy(summary: pd.DataFrame, *, x: str | None = None, exercise: pd.DataFrame | None = None,
                  seeds: pd.DataFrame | None = None) -> Figure:
    """Final held-out accuracy against ``x`` (``figure_x``), mean over seeds with 95% error bars; each seed
    a dot (``seeds``: ``finished_trials``); against T, the exercise's numbers (``exercise_points``)."""
    return _versus(summary, "accuracy", x, exercise, None, seeds)


def plot_mean_accuracy(summary: pd.DataFrame, *, x: str | None = None) -> Figure:
    """The exercise's metric (mean training-batch accuracy over all steps) against ``x``: its plot (b)/(d)."""
    return _versus(summary, "mean", x, None, None)


def plot_steps_to_target(summary: pd.DataFrame, *, x: str | None = None, target: float | None = None) -> Figure:
    """Median steps to the target over the solved seeds, each point labelled "solved/seeds" where it fits;
    one seed of several: an open point, not joined; lines ``STEPS_DODGE`` apart so equal medians show."""
    return _versus(summary, "steps", x, None, target)
