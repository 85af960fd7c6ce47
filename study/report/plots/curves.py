"""Accuracy against training steps: each model's curves per T, both models in one figure, a search's best trial."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.basics.stats import METHOD
from study.basics.text import value_text
from study.report.plots.common import (
    MAX_LINES,
    STEPS,
    _accuracy_axes,
    _band,
    _grid,
    _keys,
    _label,
    _legend,
    _length_colors,
    _matching,
    _metric_name,
    _models,
    _panels,
    _target_line,
    _value_colors,
    model_style,
    varying_axes,
)
from study.results.summary import (
    distinct_values,
)


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
    title = f"{model}: {_metric_name(metric).lower()} during training (mean over seeds, 95% band, {METHOD})"
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
        t = f"T={value_text(values[0], 6)}"
        return f"{model} {t}" if model_in_label else t
    text = _label(columns, values)
    return f"{model}, {text}" if model_in_label else text


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
        title += "\n" + ", ".join(f"{k}={value_text(v, 6)}" for k, v in params.items())
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel(STEPS)
    _accuracy_axes(ax, "Accuracy")
    ax.legend(loc="lower right", fontsize="small")
    return ax
