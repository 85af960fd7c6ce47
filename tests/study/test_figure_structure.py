"""Figures read at a glance, checked on the matplotlib Figure: panels, shared axes, lines per
panel, legend entries, titles that name their settings, bounds drawn open-ended, labels apart.

Every input is a small synthetic table (no Ray); never pixels."""

import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from study.frontier.search import Frontier
from study.frontier.table import frontier_table
from study.methods import plot_methods
from study.report import plots
from study.report.frontier import plot_frontier
from study.report.plots.accuracy import ONE_SEED
from study.report.plots.curves import FEWER_WIDTH, FULL_WIDTH, MAX_CURVE_LINES
from study.results.summary import curves_table, summary_table

matplotlib.use("Agg")

MODELS, LENGTHS, SEEDS, STEPS = ("RNN", "LSTM", "GRU"), (5, 10, 20, 40, 80), 3, (100, 200, 300, 400)
CUT = ("LSTM", 40, 2)  # (model, T, seed): the seed the scheduler cut after step 200


def frontier_like() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, curves) of 3 models x 5 lengths x 3 seeds, 4 evaluations each: 45 curves, the many
    lines curves_both.png once drew in one panel. One seed (``CUT``) is cut by the scheduler at 200."""
    trials, curves = [], []
    for model, t, seed in itertools.product(MODELS, LENGTHS, range(SEEDS)):
        tid = f"{model}{t}s{seed}"
        cut = (model, t, seed) == CUT
        steps = STEPS[:2] if cut else STEPS
        for step in steps:
            acc = min(1.0, 0.1 + step / 400 * (1.0 - 0.008 * t) + 0.01 * seed)
            curves.append({"trial_id": tid, "model": model, "length": t, "seed": seed, "step": step,
                           "eval_accuracy": acc, "diverged": False, "stopped_early": False})
        trials.append({"trial_id": tid, "model": model, "length": t, "seed": seed, "step": steps[-1],
                       "eval_accuracy": acc, "stopped_by": "scheduler" if cut else "steps", "diverged": False,
                       "stopped_early": False})
    return pd.DataFrame(trials), pd.DataFrame(curves)


def legend_entries(fig) -> list[str]:
    (legend,) = fig.legends
    return [t.get_text() for t in legend.get_texts()]


def mean_lines(ax) -> list:
    return [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("mean")]


def shares_x(fig) -> bool:
    first = fig.axes[0]
    return all(first.get_shared_x_axes().joined(first, ax) for ax in fig.axes[1:])


def test_curves_of_every_model_are_small_multiples_a_panel_per_length():
    trials, curves = frontier_like()
    fig = plots.plot_curves_both(curves_table(curves, ["model"]), target=0.99)
    assert [ax.get_title() for ax in fig.axes] == [f"T={t}" for t in LENGTHS]
    assert shares_x(fig)
    for ax in fig.axes:
        colours = {ln.get_color() for ln in mean_lines(ax)}  # a line per model, however many stretches
        assert len(colours) == len(MODELS) <= MAX_CURVE_LINES
        assert len(ax.get_lines()) <= 2 * len(MODELS) + 1  # means (at most two stretches each), the target
    assert len(legend_entries(fig)) <= 8
    assert legend_entries(fig)[:3] == list(MODELS)


def test_a_mean_says_how_many_seeds_it_averages_where_the_count_drops():
    trials, curves = frontier_like()
    fig = plots.plot_curves_both(curves_table(curves, ["model"]))
    panel = fig.axes[LENGTHS.index(CUT[1])]
    lstm = [ln for ln in mean_lines(panel) if ln.get_color() == "C1"]
    # Bold over steps 100-200 (3 seeds), thin from 200 on (2: the cut seed is gone), joined at 200.
    assert [(ln.get_linewidth(), list(ln.get_xdata())) for ln in lstm] == [(FULL_WIDTH, [100, 200]),
                                                                          (FEWER_WIDTH, [200, 300, 400])]
    assert [t.get_text() for t in panel.texts if t.get_gid() == "seeds-drop"] == ["n=3\u21922"]
    assert any("fewer" in e for e in legend_entries(fig))
    other = fig.axes[0]  # T = 5: every seed to the end, one bold stretch per model, no count drawn
    assert all(ln.get_linewidth() == FULL_WIDTH for ln in mean_lines(other)) and not other.texts


def test_one_models_curves_draw_each_seed_thin_and_the_cut_seed_apart():
    trials, curves = frontier_like()
    bands = curves_table(curves, ["model"])
    fig = plots.plot_curves(bands, "LSTM", target=0.99, curves=curves, trials=trials)
    assert [ax.get_title() for ax in fig.axes] == [f"T={t}" for t in LENGTHS] and shares_x(fig)
    panel = fig.axes[LENGTHS.index(CUT[1])]
    seeds = [ln for ln in panel.get_lines() if str(ln.get_gid()).startswith("seed ")]
    assert sorted(ln.get_gid() for ln in seeds) == ["seed cut", "seed steps", "seed steps"]
    (cut,) = [ln for ln in seeds if ln.get_gid() == "seed cut"]
    assert cut.get_linestyle() == ":" and list(cut.get_xdata()) == [100, 200]
    (end,) = [ln for ln in panel.get_lines() if ln.get_gid() == "seed-end cut"]
    assert end.get_marker() == "x" and list(end.get_xdata()) == [200]
    assert all(ln.get_linewidth() < FEWER_WIDTH for ln in seeds)  # thin beside the mean
    assert len({ln.get_color() for ln in mean_lines(panel)}) == 1
    assert "seed cut by the scheduler (out of the mean from then)" in legend_entries(fig)
    assert len(legend_entries(fig)) <= 8


def test_small_multiples_share_their_x_range_when_one_panel_stops_early():
    # Two inits of one model at one length; the xavier seeds stop at step 500, the seed ones go to 1,000.
    rows = []
    for init, seed in itertools.product(("seed", "xavier"), range(2)):
        last = 500 if init == "xavier" else 1000
        for step in range(100, last + 1, 100):
            rows.append({"trial_id": f"{init}{seed}", "model": "RNN", "length": 20, "init": init, "seed": seed,
                         "step": step, "eval_accuracy": min(1.0, step / 500), "diverged": False,
                         "stopped_early": init == "xavier" and step == last})
    curves = pd.DataFrame(rows)
    for hidden in (16, 32, 64):  # five more inits: more lines than a panel holds, so init makes panels
        for init in ("a", "b", "c", "d", "e"):
            curves = pd.concat([curves, curves[curves["init"] == "seed"].assign(init=f"{init}{hidden}")])
    bands = curves_table(curves, ["model", "init"])
    fig = plots.plot_curves(bands, "RNN")
    assert len(fig.axes) > 1 and shares_x(fig)
    assert len({ax.get_xlim() for ax in fig.axes}) == 1
    assert all(len(mean_lines(ax)) <= MAX_CURVE_LINES for ax in fig.axes)


def crowded_summary() -> pd.DataFrame:
    """Steps to the target at T = 15, 16, 17 alike, points a few pixels apart on an axis to T = 100
    (labels that would sit on each other), and T = 20 where one seed of three solved."""
    rows = []
    for t, solved in ((5, 3), (15, 3), (16, 3), (17, 3), (20, 1), (100, 3)):
        for seed in range(3):
            ok = seed < solved
            rows.append({"trial_id": f"{t}s{seed}", "model": "RNN", "length": t, "seed": seed,
                         "eval_accuracy": 1.0 if ok else 0.5, "train_accuracy": 1.0, "mean_train_accuracy": 0.9,
                         "steps_to_target": 2500 if ok and t > 5 else 1000 if ok else None, "diverged": False,
                         "stopped_early": ok})
    return summary_table(pd.DataFrame(rows), ["model"])


def test_steps_to_target_marks_a_single_solved_seed_and_keeps_its_labels_apart():
    fig = plots.plot_steps_to_target(crowded_summary(), target=0.99)
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "RNN"]
    y = dict(zip(line.get_xdata(), line.get_ydata(), strict=True))
    assert np.isnan(y[20]) and y[17] == 2500  # the one-seed point is not joined to the trend
    (alone,) = [ln for ln in ax.get_lines() if ln.get_gid() == "one-seed"]
    assert list(alone.get_xdata()) == [20] and alone.get_mfc() == "white"
    assert ONE_SEED in [t.get_text() for t in ax.get_legend().get_texts()]
    FigureCanvasAgg(fig).draw()
    boxes = [t.get_window_extent() for t in ax.texts if t.get_gid() == "solved-label"]
    assert len(boxes) >= 3
    assert not [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]


def test_steps_lines_with_equal_medians_are_drawn_apart():
    rows = [{"trial_id": f"{init}{t}s{seed}", "model": "LSTM", "length": t, "init": init, "seed": seed,
             "eval_accuracy": 1.0, "train_accuracy": 1.0, "mean_train_accuracy": 0.9, "steps_to_target": 1000 * t,
             "diverged": False, "stopped_early": True}
            for init, t, seed in itertools.product(("seed", "xavier"), (10, 20), range(2))]
    ax = plots.plot_steps_to_target(summary_table(pd.DataFrame(rows), ["model", "init"]), target=0.99).axes[0]
    first, second = (ln for ln in ax.get_lines() if ln.get_label().startswith("init="))
    assert list(first.get_ydata()) == list(second.get_ydata())  # equal medians ...

    def drawn(line):
        return line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]))

    assert (np.abs(drawn(first) - drawn(second))[:, 0] >= 2).all()  # ... side by side, both in sight


def _frontier(probes: dict[int, tuple[int, int]], cell: dict, start=5, max_length=100) -> Frontier:
    fr = Frontier([cell], rule=(4, 5), start=start, max_length=max_length, speculate=0)
    for length, (k, n) in probes.items():
        for seed in range(n):
            fr.record(0, length, seed, solved=seed < k, steps_to_target=100 if seed < k else None)
    return fr


BASE = {"hidden": 64, "init": "xavier", "forget_bias": 1.0, "optimizer": "rmsprop", "lr": 0.001, "max_norm": 10.0,
        "batch_size": 128, "steps": 10000, "target": 0.99}


def test_frontier_titles_name_their_settings_and_bounds_are_open_ended():
    passed = {5: (4, 4), 10: (4, 4), 20: (4, 4), 40: (4, 4), 80: (4, 4)}
    gru = plot_frontier(frontier_table(_frontier(passed, {"model": "GRU"}, max_length=80)), settings=BASE)
    lstm = plot_frontier(frontier_table(_frontier(passed, {"model": "LSTM"}, max_length=80)),
                         settings={**BASE, "init": "chrono", "forget_bias": 0.0})
    assert gru.get_title().splitlines()[0] == ("Memory frontier of GRU: hidden 64, init xavier, optimizer rmsprop, "
                                               "lr 0.001, max_norm 10, batch_size 128")
    assert "init chrono, forget_bias 0" in lstm.get_title() and gru.get_title() != lstm.get_title()
    assert gru.get_title().splitlines()[1].endswith("T probed 5 to 80")
    # "≥ 80": an open star, an arrow off the axis and the bound written beside it, not a filled point.
    (label,) = [t for t in gru.texts if t.get_gid() == "frontier-bound-label"]
    assert label.get_text() == "\u2265 80"
    (star,) = [ln for ln in gru.get_lines() if ln.get_gid() == "frontier-bound"]
    assert star.get_mfc() == "white" and star.get_xdata()[0] == 80
    stopped = _frontier({100: (4, 4), 200: (3, 5)}, {"model": "GRU"}, start=100, max_length=200)
    stopped.next_trial()  # the probe between them launched, not finished: a bound on both sides
    ax = plot_frontier(frontier_table(stopped), settings=BASE)
    assert [t.get_text() for t in ax.texts if t.get_gid() == "frontier-bound-label"] == ["\u2265 100, < 200"]
    assert not [ln for ln in ax.get_lines() if ln.get_gid() == "fitted-crossing"]  # (0, inf): no estimate drawn
    below = plot_frontier(frontier_table(_frontier({5: (1, 3)}, {"model": "RNN"})))
    assert [t.get_text() for t in below.texts if t.get_gid() == "frontier-bound-label"] == ["< 5"]


def _spent(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"spent": [1000 * (i + 1) for i in range(len(values))], "best": values})


def test_methods_that_coincide_stay_visible():
    same = [0.1, 0.5, 0.9, 1.0]
    spent = {(m, s): _spent(same if m in ("random", "tpe") else [0.1, 0.2, 0.3, 0.4])
             for m in ("random", "tpe", "pbt") for s in (0, 1)}
    fig = plot_methods(spent, ["random", "tpe", "pbt"])
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("median")}
    random, tpe = lines["median random"], lines["median tpe"]
    assert np.allclose(random.get_ydata(), tpe.get_ydata(), equal_nan=True)  # the data are equal ...
    FigureCanvasAgg(fig).draw()

    def drawn(line):
        return line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]))

    gap = np.abs(drawn(random) - drawn(tpe))
    gap = gap[np.isfinite(gap).all(axis=1)]
    assert len(gap) > 100 and gap[:, 0].min() >= 2 and gap[:, 1].max() < 1e-6  # ... drawn apart, side by side
    assert random.get_marker() != tpe.get_marker() and random.get_mfc() != tpe.get_mfc()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "tpe (2 repeats) = random, drawn beside it" in labels and "pbt (2 repeats)" in labels


@pytest.mark.parametrize("n", [1, 3, 7])
def test_shared_grid_has_exactly_the_panels_asked_for(n):
    from study.report.plots.common import shared_grid

    fig, axes = shared_grid(n, xlabel="Steps", ylabel="y")
    assert len(fig.axes) == len(axes) == n
    assert all(axes[0].get_shared_x_axes().joined(axes[0], ax) for ax in axes[1:])
    assert axes[-1].get_xlabel() == "Steps" and axes[0].get_ylabel() == "y"
