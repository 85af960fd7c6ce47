"""Optuna's own plots of a search: its optimisation history and the importance of each field."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes


def _optuna_plot(name: str, study: Any, metric: str) -> Axes:
    """One of Optuna's matplotlib visualizations. They switch pyplot to the ggplot style globally:
    run them inside an rc_context so the style stays on their figure and leaves every later one."""
    import warnings

    import matplotlib
    import optuna

    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # Said whenever a target is given; the one given is negated where it must be (below).
        warnings.filterwarnings("ignore", message=".*importances of params to achieve low")
        # A study of several objectives: Optuna's plots of one show the first (the one schedulers rank by).
        # Importances rank the parameters that make the target low: negate a maximised one.
        sign = -1 if name == "plot_param_importances" and \
            study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1
        target = (lambda t: sign * t.values[0]) if len(study.directions) > 1 else None
        return getattr(optuna.visualization.matplotlib, name)(study, target=target, target_name=metric)


def plot_optuna_history(study: Any, metric: str = "eval_accuracy") -> Axes:
    """Optuna's optimization history of ``metric`` (the search's first objective; its matplotlib
    visualization); a pyplot figure: close it."""
    ax = _optuna_plot("plot_optimization_history", study, metric)
    ax.set_ylabel("Held-out accuracy (eval_accuracy)" if metric == "eval_accuracy" else metric)
    return ax


def plot_optuna_importances(study: Any, metric: str = "eval_accuracy") -> Axes:
    """Optuna's hyperparameter importances (fANOVA) for ``metric``; needs at least two finished
    trials. Close it."""
    return _optuna_plot("plot_param_importances", study, metric)
