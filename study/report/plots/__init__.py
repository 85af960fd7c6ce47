"""The report's figures, each from a computed table, built as ``matplotlib.figure.Figure`` objects (no
pyplot state; Optuna's history is pyplot's: the caller closes it); ``common.layout`` lays them out."""

from study.report.plots.accuracy import plot_accuracy, plot_mean_accuracy, plot_steps_to_target
from study.report.plots.common import figure_x, layout, varying_axes
from study.report.plots.curves import plot_best_curve, plot_curves, plot_curves_both
from study.report.plots.search import plot_importances, plot_optuna_history, plot_pareto, plot_pbt

__all__ = ["figure_x", "layout", "plot_accuracy",
           "plot_best_curve", "plot_curves", "plot_curves_both", "plot_importances", "plot_mean_accuracy",
           "plot_optuna_history", "plot_pareto", "plot_pbt", "plot_steps_to_target", "varying_axes"]
