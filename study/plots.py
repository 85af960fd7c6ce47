"""Figures drawn from the computed tables of ``study.tables``; each function returns its Axes or Figure.

Nothing here computes a statistic or writes a file, and nothing calls ``plt.show``: figures are
built as ``matplotlib.figure.Figure`` objects (no pyplot state, no display needed), except
Optuna's own plots, which use pyplot (the caller closes them). Conventions: x is in steps or is
the palindrome length T; RNN is dashed, LSTM solid; lengths are coloured along viridis; bands
and error bars are the 95% logit-t interval across seeds (``study.stats.logit_t_interval``: Student
t on the logit scale, inside [0, 1], containing the mean), drawn as computed, asymmetric.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.tables import EXERCISE, MODEL_ORDER, axis_value_text, extra_axes, sort_groups

STEPS = "Steps"
LENGTH = "Palindrome length T"
HELD_OUT = "Held-out accuracy"
AXIS_NAMES = {"max_norm": "clip max_norm", "lr": "learning rate", "hidden": "hidden units"}


def model_style(model: str) -> str:
    """The line style of a model: the exercise drew the RNN dashed."""
    return "--" if model == "RNN" else "-"


def _models(table: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(table["model"]))
    return [m for m in MODEL_ORDER if m in present] + sorted(m for m in present if m not in MODEL_ORDER)


def _length_colors(lengths: Sequence[Any]) -> dict[Any, Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    n = len(lengths)
    return {t: cmap(0.9 * i / max(n - 1, 1)) for i, t in enumerate(lengths)}


def _value_colors(values: Sequence[Any]) -> dict[Any, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {v: cmap(i % 10) for i, v in enumerate(values)}


def _panels(table: pd.DataFrame, columns: Sequence[str]) -> Iterator[tuple[str, pd.DataFrame]]:
    """(title, rows) per combination of ``columns``' values, in table order; one untitled panel if none."""
    if not columns:
        yield "", table
        return
    for key, rows in table.groupby(list(columns), dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        yield ", ".join(f"{c}={axis_value_text(v)}" for c, v in zip(columns, key, strict=True)), rows


def _grid(n: int, width: float = 6.4, height: float = 4.4) -> tuple[Figure, list[Axes]]:
    cols = 1 if n == 1 else 2 if n <= 4 else 3
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


# ---- curves: accuracy against steps ---------------------------------------------------------------

def plot_curves(bands: pd.DataFrame, model: str, *, metric: str = "eval_accuracy",
                target: float | None = None) -> Figure:
    """One model's accuracy curves, one line per length T with its across-seed band (``curves_table``).

    When the study swept another axis (init, hidden, ...), one panel per value of it.
    Lines per panel: one per length, plus the target line when ``target`` is given.
    """
    rows = bands[bands["model"] == model]
    if rows.empty:
        raise ValueError(f"no curves for model {model!r}")
    title = f"{model}: {_metric_name(metric).lower()} during training (mean over seeds, 95% logit-t band)"
    return _curves_figure(rows, [model], title, metric, target, width=None, label="T={t}")


def plot_curves_both(bands: pd.DataFrame, *, metric: str = "eval_accuracy", target: float | None = None) -> Figure:
    """Every model's curves in one figure, coloured by length T, RNN dashed (the exercise's plot c).

    One panel per value of any other swept axis. Lines per panel: models x lengths (+ target).
    """
    models = _models(bands)
    title = f"{' vs '.join(models)}: {_metric_name(metric).lower()} during training (RNN dashed)"
    return _curves_figure(bands, models, title, metric, target, width=7.2, label="{model} T={t}")


def _curves_figure(bands: pd.DataFrame, models: list[str], title: str, metric: str, target: float | None,
                   width: float | None, label: str) -> Figure:
    extra = extra_axes(bands, "step")
    panels = list(_panels(bands, extra))
    fig, axes = _grid(len(panels)) if width is None else _grid(len(panels), width=width)
    lengths = sorted(set(bands["length"]))
    colors = _length_colors(lengths)
    for ax, (panel, sub) in zip(axes, panels, strict=True):
        for model in models:
            for t in lengths:
                line = sub[(sub["model"] == model) & (sub["length"] == t)].sort_values("step")
                if line.empty:
                    continue
                ax.plot(line["step"], line[f"{metric}_mean"], color=colors[t], linestyle=model_style(model),
                        label=label.format(model=model, t=t))
                _band(ax, line, "step", metric, colors[t])
        _target_line(ax, target)
        ax.set_xlabel(STEPS)
        _accuracy_axes(ax, _metric_name(metric))
        _legend(ax)
        ax.set_title(panel if panel else title)
    if extra:
        fig.suptitle(title)
    return fig


def _metric_name(metric: str) -> str:
    return {"eval_accuracy": HELD_OUT, "train_accuracy": "Training accuracy (window)"}.get(metric, metric)


# ---- against length ------------------------------------------------------------------------------

def _series(summary: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(label, model, rows sorted by length) per model x other-axis values of a summary table."""
    extra = extra_axes(summary, "seeds")
    for model in _models(summary):
        rows = summary[summary["model"] == model]
        for panel, sub in _panels(rows, extra):
            yield (f"{model}, {panel}" if panel else model), model, sub.sort_values("length")


def plot_accuracy_vs_length(summary: pd.DataFrame, *, exercise: Mapping[str, Mapping[int, float]] | None = EXERCISE,
                            ax: Axes | None = None) -> Axes:
    """Final held-out accuracy against T, one line per model (x other axis value), 95% logit-t error bars.

    With ``exercise`` (the default), the exercise's reported numbers for the models and lengths shown
    are drawn beside as x markers (training-batch accuracy at step 10,000, one run): one more line
    per model that has any.
    """
    ax = ax if ax is not None else Figure(figsize=(6.4, 4.4), layout="constrained").add_subplot()
    series = list(_series(summary))
    colors = _value_colors([label for label, _, _ in series])
    for label, model, rows in series:
        x = rows["length"].to_numpy(float)
        y = rows["eval_accuracy_mean"].to_numpy(float)
        err = _errors(rows, "eval_accuracy")
        ax.errorbar(x, y, yerr=err, color=colors[label], linestyle=model_style(model), marker="o",
                    capsize=0, label=label)
    for model in _models(summary) if exercise else []:
        ref = exercise.get(model) if exercise else None
        shown = set(summary.loc[summary["model"] == model, "length"])
        lengths = sorted(t for t in (ref or {}) if t in shown)
        if lengths:
            ax.plot(lengths, [ref[t] for t in lengths], linestyle="none", marker="x" if model == "RNN" else "+",
                    markersize=9, color=colors.get(model, "black"), label=f"{model}, exercise (train batch, 1 run)")
    ax.set_title("Held-out accuracy vs length, mean over seeds with 95% logit-t interval")
    ax.set_xlabel(LENGTH)
    _accuracy_axes(ax)
    _integer_ticks(ax, summary["length"])
    # This study's series first, the exercise's markers after (matplotlib lists error bars last).
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: "exercise" in labels[i])
    _legend(ax, [handles[i] for i in order], [labels[i] for i in order], loc="lower left")
    return ax


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


def plot_mean_accuracy_vs_length(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """The exercise's metric (mean training-batch accuracy over all steps) against T, per model.

    This is the exercise's plot (b)/(d); the mean over seeds, one line per model (x other axis value).
    """
    ax = ax if ax is not None else Figure(figsize=(6.4, 4.4), layout="constrained").add_subplot()
    series = list(_series(summary))
    colors = _value_colors([label for label, _, _ in series])
    for label, model, rows in series:
        ax.plot(rows["length"].to_numpy(float), rows["mean_train_accuracy"].to_numpy(float), marker="o",
                color=colors[label], linestyle=model_style(model), label=label)
    ax.set_title("Mean training accuracy over all steps vs length (the exercise's metric)")
    ax.set_xlabel(LENGTH)
    _accuracy_axes(ax, "Mean training accuracy (all steps)")
    _integer_ticks(ax, summary["length"])
    _legend(ax, loc="lower left")
    return ax


def plot_steps_to_target(summary: pd.DataFrame, *, target: float | None = None, ax: Axes | None = None) -> Axes:
    """Median steps to reach the target held-out accuracy against T, per model, over the solved seeds.

    Each point is annotated "solved/seeds"; a length where no seed reached the target has no point.
    """
    ax = ax if ax is not None else Figure(figsize=(6.4, 4.4), layout="constrained").add_subplot()
    series = list(_series(summary))
    colors = _value_colors([label for label, _, _ in series])
    for label, model, rows in series:
        x = rows["length"].to_numpy(float)
        y = rows["steps_to_target_median"].to_numpy(float)
        ax.plot(x, y, marker="o", color=colors[label], linestyle=model_style(model), label=label)
        for xi, yi, s, n in zip(x, y, rows["solved"], rows["seeds"], strict=True):
            if np.isfinite(yi):
                ax.annotate(f"{int(s)}/{int(n)}", (xi, yi), textcoords="offset points", xytext=(4, 4),
                            fontsize="x-small", color=colors[label])
    goal = f"held-out accuracy >= {target:g}" if target is not None else "the target"
    ax.set_title(f"Steps to reach {goal} (median over solved seeds)")
    ax.set_xlabel(LENGTH)
    ax.set_ylabel("Steps to target")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    _integer_ticks(ax, summary["length"])
    _legend(ax, loc="upper left")
    return ax


def plot_accuracy_vs_length_by(summary: pd.DataFrame, axis: str) -> Figure:
    """Held-out accuracy against T for each value of a swept ``axis``, one panel per model.

    Lines per panel: one per value of ``axis``, with 95% logit-t error bars. Other swept axes, if any,
    make more panels.
    """
    if axis not in summary.columns:
        raise ValueError(f"the summary has no column {axis!r}")
    others = [a for a in extra_axes(summary, "seeds") if a != axis]
    panels = []
    for model in _models(summary):
        rows = summary[summary["model"] == model]
        for panel, sub in _panels(rows, others):
            panels.append((f"{model}, {panel}" if panel else model, model, sub))
    fig, axes = _grid(len(panels))
    values = list(dict.fromkeys(sort_groups(summary[[axis]].drop_duplicates(), [axis])[axis]))
    colors = _value_colors([axis_value_text(v) for v in values])
    name = AXIS_NAMES.get(axis, axis)
    for ax, (title, model, sub) in zip(axes, panels, strict=True):
        for v in values:
            text = axis_value_text(v)
            rows = sub[sub[axis].map(axis_value_text) == text].sort_values("length")
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


# ---- Optuna --------------------------------------------------------------------------------------

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
