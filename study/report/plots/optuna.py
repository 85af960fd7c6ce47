"""Optuna's own plots of a search: its optimisation history and the importance of each field."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes


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
