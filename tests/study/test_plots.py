"""study.plots: figures checked by title, axis labels, legend entries and line counts; never by pixels."""

import itertools
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from study.report import plots
from study.results.exercise import exercise_points
from study.results.search import fanova_importances, read_optuna_study
from study.results.summary import curves_table, summary_table

matplotlib.use("Agg")


def make_trials(extra: dict | None = None) -> pd.DataFrame:
    """2 models x 2 lengths (x each value of ``extra``, an axis) x 3 seeds of final metrics."""
    rows = []
    name, values = next(iter((extra or {"_": [None]}).items()))
    for v in values:
        for model in ["RNN", "LSTM"]:
            for t in [5, 6]:
                for seed in range(3):
                    acc = 1.0 if model == "LSTM" else 0.9 - 0.2 * (t - 5) - 0.1 * seed
                    tid = f"{model}{t}s{seed}" if v is None else f"{model}{t}{v}s{seed}"
                    rows.append({"trial_id": tid, "model": model, "length": t, name: v,
                                 "seed": seed, "eval_accuracy": acc, "train_accuracy": acc,
                                 "mean_train_accuracy": acc - 0.1, "steps_to_target": 300 + 100 * seed
                                 if acc >= 0.99 else None, "diverged": False, "stopped_early": acc >= 0.99})
    return pd.DataFrame(rows).drop(columns=["_"], errors="ignore")


def make_curves(trials: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in trials.to_dict("records"):
        for step in (100, 200, 300):
            rows.append({**r, "step": step, "eval_accuracy": r["eval_accuracy"] * step / 300,
                         "stopped_early": False})
    return pd.DataFrame(rows)


def legend_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def figure_legend(fig: Figure) -> list[str]:
    """The entries of a figure's one legend (small multiples: ``plots.common.figure_legend``)."""
    (legend,) = fig.legends
    return [t.get_text() for t in legend.get_texts()]


def means(ax: Axes) -> list:
    """The mean lines of a curves panel (one Line2D per stretch of constant seed count)."""
    return [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("mean")]


def test_curves_per_model():
    trials = make_trials()
    bands = curves_table(make_curves(trials), ["model"])
    fig = plots.plot_curves(bands, "RNN", target=0.99)
    assert isinstance(fig, Figure) and [ax.get_title() for ax in fig.axes] == ["T=5", "T=6"]  # a panel per T
    assert fig.get_suptitle() == "RNN: held-out accuracy during training (mean over seeds, 95% band, t(0.995) | Wilson)"
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Steps", "Held-out accuracy")
    assert figure_legend(fig) == ["mean over seeds, 95% band", "target 0.99"]
    for ax in fig.axes:
        assert len(means(ax)) == 1 and means(ax)[0].get_linestyle() == "--"  # RNN dashed
        assert len(ax.collections) == 1  # its band
    with pytest.raises(ValueError, match="GRU"):
        plots.plot_curves(bands, "GRU")


def test_curves_both_models_rnn_dashed():
    bands = curves_table(make_curves(make_trials()), ["model"])
    fig = plots.plot_curves_both(bands)
    assert fig.get_suptitle() == ("RNN vs LSTM: held-out accuracy during training (mean over seeds, 95% band; "
                                  "RNN dashed)")
    assert [ax.get_title() for ax in fig.axes] == ["T=5", "T=6"]
    assert figure_legend(fig) == ["RNN", "LSTM"]
    for ax in fig.axes:
        assert [line.get_linestyle() for line in ax.get_lines()] == ["--", "-"]
    assert fig.axes[0].get_xlabel() == "Steps"


def test_curves_one_panel_per_value_of_another_axis():
    trials = make_trials({"init": ["default", "seed"]})
    bands = curves_table(make_curves(trials), ["model", "init"])
    fig = plots.plot_curves(bands, "LSTM")
    assert [ax.get_title() for ax in fig.axes] == ["T=5", "T=6"]  # a panel per T, a line per init
    assert fig.get_suptitle().startswith("LSTM: held-out accuracy")
    assert all(len(means(ax)) == 2 for ax in fig.axes)
    assert figure_legend(fig) == ["init=default", "init=seed"]


def test_accuracy_vs_length_with_the_exercise():
    summary = summary_table(make_trials(), ["model"])
    fig = plots.plot_accuracy(summary, exercise=exercise_points(summary))
    assert isinstance(fig, Figure) and len(fig.axes) == 1  # models are the lines of one panel
    ax = fig.axes[0]
    assert ax.get_title() == "Held-out accuracy vs length, mean over seeds with 95% interval (t(0.995) | Wilson)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Palindrome length T", "Held-out accuracy")
    assert legend_texts(ax) == ["RNN", "LSTM", "RNN, exercise (train batch, 1 run)",
                                "LSTM, exercise (train batch, 1 run)"]
    assert len(ax.get_lines()) == 4  # two models, two exercise references
    rnn = ax.get_lines()[0]
    assert rnn.get_linestyle() == "--"
    assert list(rnn.get_xdata()) == [5, 6]
    assert list(rnn.get_ydata()) == pytest.approx([0.8, 0.6])
    exercise_rnn = [ln for ln in ax.get_lines() if ln.get_label().startswith("RNN, exercise")][0]
    assert list(exercise_rnn.get_ydata()) == [1.00, 0.99]
    assert len(plots.plot_accuracy(summary).axes[0].get_lines()) == 2  # no points given: no markers


def test_exercise_markers_only_where_the_exercise_applies():
    summary = summary_table(make_trials(), ["model"])
    points = exercise_points(summary, {"hidden": 64})  # not the exercise's hidden units: no markers
    assert points.empty
    assert legend_texts(plots.plot_accuracy(summary, exercise=points).axes[0]) == ["RNN", "LSTM"]


def test_accuracy_vs_length_one_model():
    summary = summary_table(make_trials().query("model == 'LSTM'"), ["model"])
    ax = plots.plot_accuracy(summary).axes[0]
    assert legend_texts(ax) == ["LSTM"] and len(ax.get_lines()) == 1


def near_one_trials() -> pd.DataFrame:
    """One cell of seeds near 1 and one of seeds either solved or at chance: a Student t interval leaves [0, 1]."""
    values = {5: [1.0, 1.0, 0.9], 6: [1.0, 0.1, 0.1]}
    return pd.DataFrame([{"trial_id": f"{t}s{s}", "model": "RNN", "length": t, "seed": s, "eval_accuracy": v,
                          "train_accuracy": v, "mean_train_accuracy": v, "steps_to_target": None, "diverged": False,
                          "stopped_early": False} for t, vs in values.items() for s, v in enumerate(vs)])


def test_error_bars_stay_in_the_unit_interval():
    summary = summary_table(near_one_trials(), ["model"])
    ax = plots.plot_accuracy(summary).axes[0]
    (bars,) = [c for c in ax.collections if len(c.get_segments())]  # the error bars' LineCollection
    ends = np.array([seg[:, 1] for seg in bars.get_segments()])
    assert ends.min() >= 0.0 and ends.max() <= 1.0
    means = summary["eval_accuracy_mean"].to_numpy()
    assert (ends.min(axis=1) <= means).all() and (means <= ends.max(axis=1)).all()
    assert ends[1].max() - ends[1].min() > 0.5  # the bimodal cell's interval is wide, yet inside


def test_curve_bands_stay_in_the_unit_interval():
    trials = near_one_trials()
    bands = curves_table(make_curves(trials), ["model"])
    fig = plots.plot_curves(bands, "RNN")
    drawn = [c for ax in fig.axes for c in ax.collections]
    assert len(drawn) == 2  # a band for each T (5 and 6): a figure with no band proves nothing
    for band in drawn:
        y = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
        assert len(y) >= 6 and y.max() - y.min() > 0.1  # a band over the three steps, not a line
        assert y.min() >= 0.0 and y.max() <= 1.0
    # T = 6's seeds are 1.0, 0.1 and 0.1: a plain Student t band would reach below 0 at its first step.
    assert min(np.concatenate([p.vertices[:, 1] for p in drawn[1].get_paths()])) < 0.05


def test_mean_accuracy_vs_length():
    summary = summary_table(make_trials(), ["model"])
    ax = plots.plot_mean_accuracy(summary).axes[0]
    assert ax.get_title() == "Mean training accuracy over all steps vs length (the exercise's metric)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Palindrome length T", "Mean training accuracy (all steps)")
    assert legend_texts(ax) == ["RNN", "LSTM"]
    assert list(ax.get_lines()[1].get_ydata()) == pytest.approx([0.9, 0.9])


def test_steps_to_target():
    summary = summary_table(make_trials(), ["model"])
    ax = plots.plot_steps_to_target(summary, target=0.99).axes[0]
    assert ax.get_title() == "Steps to reach held-out accuracy >= 0.99 (median over solved seeds)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Palindrome length T", "Steps to target")
    assert legend_texts(ax) == ["RNN", "LSTM"]
    assert len(ax.get_lines()) == 2
    assert np.isnan(ax.get_lines()[0].get_ydata()).all()  # the RNN never got there
    assert list(ax.get_lines()[1].get_ydata()) == [400, 400]
    assert sorted(t.get_text() for t in ax.texts) == ["3/3", "3/3"]


def test_a_panel_per_model_and_a_line_per_value():
    summary2 = summary_table(make_trials({"init": ["seed", "default"]}), ["model", "init"])
    fig = plots.plot_accuracy(summary2, exercise=exercise_points(summary2))
    assert [ax.get_title() for ax in fig.axes] == ["RNN", "LSTM"]  # a panel per model, a line per init
    assert fig.get_suptitle() == "Held-out accuracy vs length, mean over seeds with 95% interval (t(0.995) | Wilson)"
    assert legend_texts(fig.axes[0]) == ["init=default", "init=seed", "RNN, exercise (train batch, 1 run)"]
    assert legend_texts(fig.axes[1]) == ["init=default", "init=seed", "LSTM, exercise (train batch, 1 run)"]


# ---- any study: figures follow its axes ------------------------------------------------------------

def sweep_trials(axes: dict, models=("RNN",), lengths=(5, 6), seeds: int = 2) -> pd.DataFrame:
    """A user's own sweep: every combination of models x lengths x ``axes``' values x seeds."""
    rows = []
    for i, (model, t, *values) in enumerate(itertools.product(models, lengths, *axes.values())):
        for seed in range(seeds):
            acc = min(1.0, 0.3 + 0.02 * i + 0.01 * seed)
            rows.append({"trial_id": f"t{i}s{seed}", "model": model, "length": t,
                         **dict(zip(axes, values, strict=True)), "seed": seed, "eval_accuracy": acc,
                         "train_accuracy": acc, "mean_train_accuracy": acc / 2,
                         "steps_to_target": 500 if acc >= 0.99 else None, "diverged": False, "stopped_early": False})
    return pd.DataFrame(rows)


def sweep_summary(axes: dict, **kwargs) -> pd.DataFrame:
    return summary_table(sweep_trials(axes, **kwargs), ["model", *axes])


HIDDEN_LR = ["hidden=32, lr=0.001", "hidden=32, lr=0.003", "hidden=64, lr=0.001", "hidden=64, lr=0.003"]


def test_a_two_axis_sweep_has_a_line_per_combination():
    summary = sweep_summary({"hidden": [32, 64], "lr": [0.001, 0.003]})
    assert plots.figure_x(summary) == "length" and plots.varying_axes(summary) == ["hidden", "lr"]
    fig = plots.plot_accuracy(summary)
    (ax,) = fig.axes  # one model: one panel, named in the title
    assert ax.get_title() == "RNN: held-out accuracy vs length, mean over seeds with 95% interval (t(0.995) | Wilson)"
    assert legend_texts(ax) == HIDDEN_LR
    assert ax.get_xlabel() == "Palindrome length T"
    for draw in (plots.plot_mean_accuracy, plots.plot_steps_to_target):
        assert legend_texts(draw(summary).axes[0]) == HIDDEN_LR


def test_several_models_make_panels_and_many_combinations_more_panels():
    summary = sweep_summary({"hidden": [32, 64], "lr": [0.001, 0.003]}, models=("GRU", "RNN", "LSTM"))
    assert plots.layout(summary, "length") == (["model"], ["hidden", "lr"])
    fig = plots.plot_accuracy(summary)
    assert [ax.get_title() for ax in fig.axes] == ["RNN", "LSTM", "GRU"]  # the stable model order
    assert all(legend_texts(ax) == HIDDEN_LR for ax in fig.axes)
    assert [ax.get_lines()[0].get_linestyle() for ax in fig.axes] == ["--", "-", "-."]
    many = sweep_summary({"hidden": [16, 32, 64], "lr": [1e-4, 3e-4, 1e-3, 3e-3]}, models=("RNN", "LSTM"))
    assert plots.layout(many, "length") == (["model", "hidden"], ["lr"])  # 12 lines > 8: hidden makes panels
    fig = plots.plot_accuracy(many)
    assert [ax.get_title() for ax in fig.axes] == [f"{m}, hidden={h}" for m in ("RNN", "LSTM") for h in (16, 32, 64)]
    assert all(legend_texts(ax) == ["lr=0.0001", "lr=0.0003", "lr=0.001", "lr=0.003"] for ax in fig.axes)


def test_a_sweep_at_one_length_is_drawn_against_its_first_axis():
    summary = sweep_summary({"hidden": [32, 64], "lr": [0.001, 0.003]}, models=("GRU", "RNN"), lengths=(20,))
    assert plots.figure_x(summary) == "hidden"
    fig = plots.plot_accuracy(summary)
    assert fig.get_suptitle() == ("Held-out accuracy vs hidden units at T = 20, mean over seeds with 95% interval "
                                  "(t(0.995) | Wilson)")
    assert [ax.get_title() for ax in fig.axes] == ["RNN", "GRU"]
    for ax in fig.axes:
        assert ax.get_xlabel() == "hidden units" and ax.get_xscale() == "linear"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["32", "64"]
        assert legend_texts(ax) == ["lr=0.001", "lr=0.003"]
        assert list(ax.get_lines()[0].get_xdata()) == [32, 64]
    ax = plots.plot_accuracy(summary, x="lr").axes[0]  # lr on a log scale, a line per hidden
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate (lr)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.001", "0.003"]
    assert legend_texts(ax) == ["hidden=32", "hidden=64"]
    assert plots.plot_mean_accuracy(summary).axes[0].get_xlabel() == "hidden units"
    bands = curves_table(make_curves(sweep_trials({"hidden": [32, 64], "lr": [0.001, 0.003]},
                                                     models=("GRU", "RNN"), lengths=(20,))), ["model", "hidden", "lr"])
    fig = plots.plot_curves(bands, "GRU")  # one T: a line per combination, four at most in a panel
    assert figure_legend(fig) == HIDDEN_LR and fig.axes[0].get_title().startswith("GRU: held-out accuracy")
    fig = plots.plot_curves_both(bands)  # a panel per combination, a line per model
    assert fig.get_suptitle().startswith("RNN vs GRU: held-out accuracy during training")
    assert [ax.get_title() for ax in fig.axes] == HIDDEN_LR and figure_legend(fig) == ["RNN", "GRU"]


def test_text_and_missing_values_are_categories():
    summary = sweep_summary({"max_norm": [np.nan, 1.0], "optimizer": ["sgd", "adam"]}, lengths=(20,))
    assert plots.figure_x(summary) == "max_norm"
    ax = plots.plot_accuracy(summary).axes[0]
    assert ax.get_xlabel() == "clip max_norm"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "1"]
    assert legend_texts(ax) == ["optimizer=adam", "optimizer=sgd"]
    assert list(ax.get_lines()[0].get_xdata()) == [0, 1]
    ax = plots.plot_accuracy(summary, x="optimizer").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["adam", "sgd"]
    assert legend_texts(ax) == ["max_norm=none", "max_norm=1"]


def test_an_axis_with_one_value_is_not_told_apart():
    summary = sweep_summary({"hidden": [64], "lr": [0.001, 0.003]})
    assert plots.varying_axes(summary) == ["lr"]
    assert legend_texts(plots.plot_accuracy(summary).axes[0]) == ["lr=0.001", "lr=0.003"]


def test_best_curve():
    trials = make_trials()
    curves = make_curves(trials)
    ax = plots.plot_best_curve(curves, "LSTM5s0", target=0.99, params={"lr": 0.001, "max_norm": math.nan})
    assert ax.get_title() == "Best trial LSTM5s0: learning curve\nlr=0.001, max_norm=none"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Steps", "Accuracy")
    assert legend_texts(ax) == ["held-out", "training batches (window mean)", "target 0.99"]
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([1 / 3, 2 / 3, 1.0])


@pytest.fixture
def optuna_study(tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = tmp_path / "optuna.journal"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="palrnn", storage=storage, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_categorical("hidden", [32, 64]) / 64
                   - abs(math.log10(t.suggest_float("lr", 1e-4, 1e-2, log=True)) + 3), n_trials=6)
    return tmp_path


def test_optuna_figures(optuna_study):
    import matplotlib
    import matplotlib.pyplot as plt

    study = read_optuna_study(optuna_study)
    assert study is not None and len(study.trials) == 6
    before = set(plt.get_fignums())
    style = dict(matplotlib.rcParams)
    ax = plots.plot_optuna_history(study)
    assert ax.get_title() == "Optimization History Plot"
    assert ax.get_ylabel() == "Held-out accuracy (eval_accuracy)"
    assert "eval_accuracy" in legend_texts(ax) and "Best Value" in legend_texts(ax)
    fig = plots.plot_importances(fanova_importances(study, seeds=(0, 1, 2)))
    ax = fig.axes[0]
    assert ax.get_title() == "Hyperparameter importance: fANOVA (Optuna's FanovaImportanceEvaluator, seeds 0-2)"
    assert ax.get_ylabel() == "Searched field" and ax.get_xlabel().startswith("Importance for eval_accuracy")
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["hidden", "lr"]
    assert dict(matplotlib.rcParams) == style  # Optuna's ggplot style did not leak into later figures
    for n in set(plt.get_fignums()) - before:
        plt.close(n)


def test_no_optuna_journal(tmp_path):
    assert read_optuna_study(tmp_path) is None


def test_pbt_figure_marks_each_exploit_at_its_step_and_goes_on_from_the_donor():
    # Two members; member 1 takes member 0's weights at step 100 (its record at 150 says so) and
    # goes on with lr 0.02; member 0 goes on untouched.
    rows = []
    members = ((0, [0.4, 0.7, 0.8, 0.9], [0.01] * 4), (1, [0.3, 0.35, 0.75, 0.85], [0.001] * 2 + [0.02] * 2))
    for member, accs, lrs in members:
        for i, step in enumerate((50, 100, 150, 200)):
            rows.append({"trial_id": f"pbt_{member:05d}", "step": step, "eval_accuracy": accs[i], "lr": lrs[i],
                         "exploited_from": 0 if (member, step) == (1, 150) else None})
    fig = plots.plot_pbt(pd.DataFrame(rows))
    top, bottom = fig.axes[:2]
    assert top.get_yscale() == "log" and bottom.get_ylabel() == "held-out accuracy"
    assert legend_texts(top) == ["m0", "m1"]
    assert "2 trials, 1 exploits" in fig._suptitle.get_text()

    def lines(ax, style):
        return [list(zip(ln.get_xdata(), ln.get_ydata(), strict=True)) for ln in ax.get_lines()
                if (ln.get_marker() == "*" if style == "*" else ln.get_linestyle() == style and ln.get_marker() in
                    ("None", None, ""))]

    # One star in each panel, at the exploit's step: the new lr above, the donor's accuracy below.
    assert lines(top, "*") == [[(100, 0.02)]]
    assert lines(bottom, "*") == [[(100, 0.7)]]
    # The jump: dotted from the member's own accuracy at 100 to the donor's, and its curve in two
    # stretches, the second starting at the donor's point.
    assert lines(bottom, ":") == [[(100, 0.35), (100, 0.7)]]
    assert lines(bottom, "-") == [[(50, 0.4), (100, 0.7), (150, 0.8), (200, 0.9)],
                                  [(50, 0.3), (100, 0.35)], [(100, 0.7), (150, 0.75), (200, 0.85)]]
    with pytest.raises(ValueError, match="not a PBT study"):
        plots.plot_pbt(pd.DataFrame(rows).drop(columns="lr"))


def _seed_dots(ax):
    """(x, y) of the hollow seed dots (PathCollections labelled "one seed" or unlabelled scatter)."""
    out = []
    for c in ax.collections:
        if type(c).__name__ == "PathCollection":
            out += [tuple(p) for p in c.get_offsets()]
    return out


def test_accuracy_figure_draws_every_seed_beside_its_mean_where_a_cell_has_at_most_ten():
    trials = make_trials()
    many = trials[(trials["model"] == "RNN") & (trials["length"] == 6)].iloc[[0]]
    extra = pd.concat([many.assign(trial_id=f"x{i}", seed=10 + i) for i in range(9)])  # RNN T = 6: 12 seeds
    trials = pd.concat([trials, extra], ignore_index=True)
    summary = summary_table(trials, [])
    fig = plots.plot_accuracy(summary, seeds=trials)
    ax = fig.axes[0]
    dots = _seed_dots(ax)
    # RNN T = 5 and both LSTM lengths: 3 seeds each, drawn; RNN T = 6 has 12 seeds: only its mean and interval.
    assert len(dots) == 9
    rnn5 = sorted(y for x, y in dots if abs(x - 5) < 0.5 and y < 0.99)
    assert rnn5 == pytest.approx([0.7, 0.8, 0.9])
    assert not [y for x, y in dots if abs(x - 6) < 0.5 and y < 0.99]
    assert "one seed" in ax.get_legend_handles_labels()[1]
    # Without the trials, no dots (the figure of a summary alone).
    assert not _seed_dots(plots.plot_accuracy(summary).axes[0])
