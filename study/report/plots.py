"""Figures drawn from the computed tables of ``study.tables``; each function returns its Figure or Axes.

Nothing here computes a statistic or writes a file, and nothing calls ``plt.show``: figures are
built as ``matplotlib.figure.Figure`` objects (no pyplot state, no display needed), except
Optuna's own plots, which use pyplot (the caller closes them). Bands and error bars are the 95%
logit-t interval across seeds (``study.stats.logit_t_interval``: Student t on the logit scale,
inside [0, 1], containing the mean), drawn as computed, asymmetric.

Figures follow the study, whatever it swept. Against ``x`` (``figure_x``: the palindrome length
T when the study has several, else its first swept axis; log scale for lr, one tick per value for
text or a missing value such as max_norm none), one line per combination of the swept axes that
take more than one value (``varying_axes``), coloured, labelled "hidden=64, lr=0.003"; one panel
per model when there are several models and other axes, so that a model axis reads the same swept
or fixed; where there would be more than ``MAX_LINES`` lines in a panel, the first axis makes
panels instead (``layout``). A study whose only axis is the model draws its models as lines in one
panel (the exercise's plot). Every model is styled by ``model_style`` (RNN dashed) and ordered by
``tables.MODEL_ORDER`` (RNN, LSTM, GRU, then others). Curves against steps colour by T, one panel
per combination of the other axes, or, with a single T, colour by that combination.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.results.summary import (
    axis_key,
    axis_value_text,
    distinct_values,
    extra_axes,
    group_rows,
    model_order,
    sort_groups,
)

STEPS = "Steps"


LENGTH = "Palindrome length T"


HELD_OUT = "Held-out accuracy"


AXIS_NAMES = {"max_norm": "clip max_norm", "lr": "learning rate", "hidden": "hidden units"}


LOG_AXES = ("lr",)  # drawn on a log scale (so is any positive axis spanning 100x or more)


MAX_LINES = 8  # lines in one panel; more, and the first axis makes panels


MODEL_STYLES = {"RNN": "--", "LSTM": "-", "GRU": "-."}


def model_style(model: str) -> str:
    """The line style of a model: the exercise drew the RNN dashed; LSTM solid, GRU dash-dot, others dotted."""
    return MODEL_STYLES.get(str(model), ":")


def _models(table: pd.DataFrame) -> list[str]:
    return model_order(table["model"]) if "model" in table else []


def axis_label(axis: str) -> str:
    """An axis as an x label: "hidden units (hidden)", "learning rate (lr)", "clip max_norm", "batch_size"."""
    if axis == "length":
        return LENGTH
    name = AXIS_NAMES.get(axis, axis)
    return name if axis in name else f"{name} ({axis})"


def _length_colors(lengths: Sequence[Any]) -> dict[Any, Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = len(lengths)
    return {t: cmap(0.9 * i / max(n - 1, 1)) for i, t in enumerate(lengths)}


def _value_colors(values: Sequence[Any]) -> dict[Any, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {v: cmap(i % 10) for i, v in enumerate(values)}


def varying_axes(table: pd.DataFrame, first_stat: str = "seeds") -> list[str]:
    """The swept axes of a computed table besides model and length (``extra_axes``) that take more
    than one value in it (a missing value counts as one): the ones a figure tells apart."""
    return [a for a in extra_axes(table, first_stat) if len({axis_key(v) for v in table[a]}) > 1]


def figure_x(summary: pd.DataFrame) -> str:
    """What the summary figures put on x: ``length`` when the study has several T (or nothing else
    varies), else its first varying axis (a study of hidden x lr at one T: hidden)."""
    lengths = {axis_key(v) for v in summary["length"]} if "length" in summary else set()
    others = varying_axes(summary)
    return "length" if len(lengths) > 1 or not others else others[0]


def _label(columns: Sequence[str], values: Sequence[Any]) -> str:
    """"RNN, hidden=64, lr=0.003": a model by its name, T as "T=5", any other axis as "name=value"."""
    parts = []
    for c, v in zip(columns, values, strict=True):
        parts.append(str(v) if c == "model" else f"T={axis_value_text(v)}" if c == "length"
                     else f"{c}={axis_value_text(v)}")
    return ", ".join(parts)


def _keys(table: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The distinct combinations of ``columns``' values, in ``sort_groups`` order (models RNN first)."""
    if not columns:
        return [()]
    return [values for values, _ in group_rows(sort_groups(table[list(columns)], columns), columns)]


def _matching(table: pd.DataFrame, columns: Sequence[str], values: Sequence[Any]) -> pd.DataFrame:
    mask = np.ones(len(table), dtype=bool)
    for c, v in zip(columns, values, strict=True):
        if c in table:
            wanted = axis_key(v)
            mask &= np.array([axis_key(u) == wanted for u in table[c]], dtype=bool)
    return table[mask]


def _panels(table: pd.DataFrame, columns: Sequence[str]) -> Iterator[tuple[str, pd.DataFrame]]:
    """(title, rows) per combination of ``columns``' values, in sorted order; one untitled panel if none."""
    for values in _keys(table, columns):
        yield _label(columns, values), _matching(table, columns, values)


def layout(table: pd.DataFrame, x: str, first_stat: str = "seeds",
           max_lines: int = MAX_LINES) -> tuple[list[str], list[str]]:
    """(panel columns, line columns) of a figure of ``table`` against ``x``.

    Lines: one per combination of the varying axes besides ``x`` (``length`` too when it varies and
    is not ``x``); panels: one per model when there are several. While a panel would hold more than
    ``max_lines`` lines, the first line axis makes panels instead. With no other varying axis, the
    models are the lines of one panel.
    """
    others = [a for a in varying_axes(table, first_stat) if a != x]
    if x != "length" and "length" in table and len({axis_key(v) for v in table["length"]}) > 1:
        others = ["length", *others]
    if not others:
        return [], (["model"] if "model" in table else [])
    panels = ["model"] if len(_models(table)) > 1 else []
    lines = list(others)
    while len(lines) > 1 and len(_keys(table, lines)) > max_lines:
        panels.append(lines.pop(0))
    return panels, lines


def _grid(n: int, width: float = 6.4, height: float = 4.4) -> tuple[Figure, list[Axes]]:
    cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols * (0.8 if cols > 1 else 1), height * rows * (0.85 if rows > 1 else 1)),
                 layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def _accuracy_axes(ax: Axes, ylabel: str = HELD_OUT) -> None:
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def _target_line(ax: Axes, target: float | None) -> None:
    if target is not None and np.isfinite(target):
        ax.axhline(target, color="0.5", linestyle=":", linewidth=1, label=f"target {target:g}")


def _band(ax: Axes, rows: pd.DataFrame, x: str, metric: str, color: Any) -> None:
    low, high = rows[f"{metric}_low"].to_numpy(float), rows[f"{metric}_high"].to_numpy(float)
    ok = np.isfinite(low) & np.isfinite(high)
    if ok.any():
        ax.fill_between(rows[x].to_numpy(float), low, high, where=ok, color=color, alpha=0.18, linewidth=0)


def plot_curves(bands: pd.DataFrame, model: str, *, metric: str = "eval_accuracy",
                target: float | None = None) -> Figure:
    """One model's accuracy curves with their across-seed bands (``curves_table``).

    Several T: one line per T, one panel per combination of the other varying axes. One T: one line
    per combination of the varying axes (panels past ``MAX_LINES``). Plus the target line when
    ``target`` is given.
    """
    rows = bands[bands["model"] == model] if "model" in bands else bands.iloc[0:0]
    if rows.empty:
        raise ValueError(f"no curves for model {model!r}")
    title = f"{model}: {_metric_name(metric).lower()} during training (mean over seeds, 95% logit-t band)"
    return _curves_figure(rows, [model], title, metric, target, width=None, model_in_label=False)


def plot_curves_both(bands: pd.DataFrame, *, metric: str = "eval_accuracy", target: float | None = None) -> Figure:
    """Every model's curves in one figure, RNN dashed (the exercise's plot c): coloured by T (one
    panel per combination of the other varying axes), or with a single T by that combination."""
    models = _models(bands)
    title = f"{' vs '.join(models)}: {_metric_name(metric).lower()} during training (RNN dashed)"
    return _curves_figure(bands, models, title, metric, target, width=7.2, model_in_label=True)


def _curves_figure(bands: pd.DataFrame, models: list[str], title: str, metric: str, target: float | None,
                   width: float | None, model_in_label: bool) -> Figure:
    extra = varying_axes(bands, "step")
    lengths = distinct_values(bands, "length")
    if len(lengths) > 1 or not extra:
        panel_cols, line_cols = extra, ["length"]
        colors = _length_colors(lengths)
        color_of = {(t,): colors[t] for t in lengths}
    else:
        panel_cols, line_cols = [], list(extra)
        while len(line_cols) > 1 and len(_keys(bands, line_cols)) > MAX_LINES:
            panel_cols.append(line_cols.pop(0))
        color_of = _value_colors(_keys(bands, line_cols))
    panels = list(_panels(bands, panel_cols))
    fig, axes = _grid(len(panels)) if width is None else _grid(len(panels), width=width)
    for ax, (panel, sub) in zip(axes, panels, strict=True):
        for model in models:
            for key in color_of:
                line = _matching(sub[sub["model"] == model], line_cols, key).sort_values("step")
                if line.empty:
                    continue
                text = _curve_label(line_cols, key, model, model_in_label)
                ax.plot(line["step"], line[f"{metric}_mean"], color=color_of[key], linestyle=model_style(model),
                        label=text)
                _band(ax, line, "step", metric, color_of[key])
        _target_line(ax, target)
        ax.set_xlabel(STEPS)
        _accuracy_axes(ax, _metric_name(metric))
        _legend(ax)
        ax.set_title(panel if panel else title)
    if panel_cols:
        fig.suptitle(title)
    return fig


def _curve_label(columns: Sequence[str], values: Sequence[Any], model: str, model_in_label: bool) -> str:
    if list(columns) == ["length"]:
        t = f"T={axis_value_text(values[0])}"
        return f"{model} {t}" if model_in_label else t
    text = _label(columns, values)
    return f"{model}, {text}" if model_in_label else text


def _metric_name(metric: str) -> str:
    return {"eval_accuracy": HELD_OUT, "train_accuracy": "Training accuracy (window)"}.get(metric, metric)


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
        ax.set_xticks([positions[axis_key(v)] for v in values], [axis_value_text(v) for v in values])
    if scale == "category":
        ax.set_xlim(-0.5, len(positions) - 0.5)


def _versus(summary: pd.DataFrame, what: str, x: str | None, exercise: pd.DataFrame | None,
            target: float | None) -> Figure:
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
        title = f"Held-out accuracy vs {name}{at}, mean over seeds with 95% logit-t interval"
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
    return f" at T = {axis_value_text(lengths[0])}" if len(lengths) == 1 else ""


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


def _exercise_markers(ax: Axes, points: pd.DataFrame, colors: Mapping[Any, Any] | None) -> None:
    """The exercise's numbers where they apply (``tables.exercise_points``), x markers for the RNN."""
    for model in _models(points):
        rows = points[points["model"] == model].drop_duplicates("length").sort_values("length")
        color = colors.get((model,), "black") if colors is not None else "black"
        ax.plot(rows["length"].to_numpy(float), rows["exercise"].to_numpy(float), linestyle="none",
                marker="x" if model == "RNN" else "+", markersize=9, color=color,
                label=f"{model}, exercise (train batch, 1 run)")


def plot_accuracy(summary: pd.DataFrame, *, x: str | None = None, exercise: pd.DataFrame | None = None) -> Figure:
    """Final held-out accuracy against ``x`` (``figure_x``: T, or a single-T study's first axis),
    mean over seeds with 95% logit-t error bars; panels and lines by ``layout``.

    ``exercise``: ``tables.exercise_points``, the exercise's reported numbers where they apply,
    drawn beside as x (RNN) and + markers (training-batch accuracy at step 10,000, one run), when x is T.
    """
    return _versus(summary, "accuracy", x, exercise, None)


def plot_mean_accuracy(summary: pd.DataFrame, *, x: str | None = None) -> Figure:
    """The exercise's metric (mean training-batch accuracy over all steps, mean over seeds) against
    ``x`` (``figure_x``): its plot (b)/(d); panels and lines by ``layout``."""
    return _versus(summary, "mean", x, None, None)


def plot_steps_to_target(summary: pd.DataFrame, *, x: str | None = None, target: float | None = None) -> Figure:
    """Median steps to reach the target held-out accuracy against ``x`` (``figure_x``), over the
    solved seeds; panels and lines by ``layout``. Each point is annotated "solved/seeds"; where
    no seed reached the target there is no point."""
    return _versus(summary, "steps", x, None, target)


def _legend(ax: Axes, handles: list[Any] | None = None, labels: list[str] | None = None, *,
            loc: str = "lower right", **kwargs: Any) -> None:
    """A legend inside the axes, or beside them when it has many entries (it would hide the lines)."""
    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if len(labels) > 8:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small",
                  ncol=1 + len(labels) // 16, **kwargs)
    else:
        ax.legend(handles, labels, loc=loc, fontsize="small", **kwargs)


def _errors(rows: pd.DataFrame, metric: str) -> np.ndarray:
    """Asymmetric error bars (2, n) from low/high (the logit-t interval is not symmetric about the
    mean); zero where the interval is missing. Never negative: the interval contains the mean."""
    y = rows[f"{metric}_mean"].to_numpy(float)
    low = np.nan_to_num(y - rows[f"{metric}_low"].to_numpy(float), nan=0.0)
    high = np.nan_to_num(rows[f"{metric}_high"].to_numpy(float) - y, nan=0.0)
    return np.vstack([low, high])


def _integer_ticks(ax: Axes, lengths: pd.Series) -> None:
    values = sorted(set(int(t) for t in lengths))
    if len(values) <= 12:
        ax.set_xticks(values)


def plot_accuracy_vs_length_by(summary: pd.DataFrame, axis: str) -> Figure:
    """Held-out accuracy against T for each value of a swept ``axis``, one panel per model.

    Lines per panel: one per value of ``axis``, with 95% logit-t error bars. Other varying axes, if
    any, make more panels.
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
    colors = _value_colors([axis_value_text(v) for v in values])
    name = AXIS_NAMES.get(axis, axis)
    for ax, (title, model, sub) in zip(axes, panels, strict=True):
        for v in values:
            text = axis_value_text(v)
            rows = _matching(sub, [axis], [v]).sort_values("length")
            if rows.empty:
                continue
            ax.errorbar(rows["length"].to_numpy(float), rows["eval_accuracy_mean"].to_numpy(float),
                        yerr=_errors(rows, "eval_accuracy"), marker="o", capsize=0, color=colors[text],
                        linestyle=model_style(model), label=f"{axis}={text}")
        ax.set_title(title)
        ax.set_xlabel(LENGTH)
        _accuracy_axes(ax)
        _integer_ticks(ax, summary["length"])
        _legend(ax, loc="lower left", title=name)
    fig.suptitle(f"Held-out accuracy vs length, by {name} (mean over seeds, 95% logit-t interval)")
    return fig


def _optuna_plot(name: str, study: Any) -> Axes:
    """One of Optuna's matplotlib visualizations. They switch pyplot to the ggplot style globally:
    run them inside an rc_context so the style stays on their figure and leaves every later one."""
    import warnings

    import matplotlib
    import optuna

    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return getattr(optuna.visualization.matplotlib, name)(study, target_name="eval_accuracy")


def plot_optuna_history(study: Any) -> Axes:
    """Optuna's optimization history (its matplotlib visualization); a pyplot figure: close it."""
    ax = _optuna_plot("plot_optimization_history", study)
    ax.set_ylabel("Held-out accuracy (eval_accuracy)")
    return ax


def plot_optuna_importances(study: Any) -> Axes:
    """Optuna's hyperparameter importances (fANOVA); needs at least two finished trials. Close it."""
    return _optuna_plot("plot_param_importances", study)


def plot_best_curve(curves: pd.DataFrame, trial_id: str, *, target: float | None = None,
                    params: Mapping[str, Any] | None = None, ax: Axes | None = None) -> Axes:
    """One trial's learning curve: held-out accuracy and training-batch accuracy against steps.

    Lines: held-out, training (each evaluation window's mean batch accuracy), and the target.
    """
    rows = curves[curves["trial_id"].astype(str) == str(trial_id)].copy()
    if rows.empty:
        raise ValueError(f"no curve for trial {trial_id!r}")
    rows["step"] = pd.to_numeric(rows["step"], errors="coerce")
    rows = rows.sort_values("step")
    ax = ax if ax is not None else Figure(figsize=(6.4, 4.4), layout="constrained").add_subplot()
    ax.plot(rows["step"], pd.to_numeric(rows["eval_accuracy"], errors="coerce"), marker=".", label="held-out")
    if "train_accuracy" in rows:
        ax.plot(rows["step"], pd.to_numeric(rows["train_accuracy"], errors="coerce"), linestyle="--",
                label="training batches (window mean)")
    _target_line(ax, target)
    title = f"Best trial {trial_id}: learning curve"
    if params:
        title += "\n" + ", ".join(f"{k}={axis_value_text(v)}" for k, v in params.items())
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel(STEPS)
    _accuracy_axes(ax, "Accuracy")
    ax.legend(loc="lower right", fontsize="small")
    return ax
