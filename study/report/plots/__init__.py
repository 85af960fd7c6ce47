"""Figures drawn from the computed tables of ``study.tables``; each function returns its Figure or Axes.

Nothing here computes a statistic or writes a file, and nothing calls ``plt.show``: figures are
built as ``matplotlib.figure.Figure`` objects (no pyplot state, no display needed), except
Optuna's own plot (its history), which uses pyplot (the caller closes it). Bands and error bars are the 95%
interval across seeds (``study.basics.stats.accuracy_interval``: t(0.995) | Wilson, chosen by coverage,
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

from study.report.plots.accuracy import (
    plot_accuracy,
    plot_mean_accuracy,
    plot_steps_to_target,
)
from study.report.plots.common import axis_label, figure_x, layout, model_style, varying_axes
from study.report.plots.curves import plot_best_curve, plot_curves, plot_curves_both
from study.report.plots.search import plot_importances, plot_optuna_history, plot_pareto, plot_pbt

__all__ = ["axis_label", "figure_x", "layout", "model_style", "plot_accuracy",
           "plot_best_curve", "plot_curves", "plot_curves_both", "plot_importances", "plot_mean_accuracy",
           "plot_optuna_history", "plot_pareto", "plot_pbt", "plot_steps_to_target", "varying_axes"]
