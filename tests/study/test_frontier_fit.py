"""The frontier's fitted crossing (study/frontier/fit.py) against simulated searches with a known
answer and hand-made probes; bounds drawn as bounds; "held" beside "solved" (docs/frontier.md)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, log_expit, logit
from scipy.stats import chi2

from study.frontier.fit import FLAT, QUASI, SEPARATED, TOO_FEW, calibrated_cutoff, deviance_at, fit_crossing
from study.frontier.search import DONE, Frontier
from study.frontier.table import cell_crossing, format_frontier, frontier_table
from study.report.frontier import plot_frontier, write_frontier

matplotlib.use("Agg")
RESULTS = Path(__file__).resolve().parents[2] / "results"
RATE = 0.8  # the default rule's 4/5


# ---- coverage on simulated searches --------------------------------------------------------

# (T*, slope): where the true solve rate crosses 0.8, and how fast it falls per unit of log T;
# none of them is a curve calibrated_cutoff simulates.
CURVES = [(12.0, -4.0), (30.0, -8.0), (45.0, -3.0), (20.0, -20.0)]
RUNS = 250


def _search(crossing: float, slope: float, rng: np.random.Generator) -> Frontier:
    """The default frontier search (4/5, lengths 5 .. 100), seeds one at a time, on a seed that
    solves length T with probability expit(logit(0.8) + slope * log(T / crossing))."""
    fr = Frontier([{"model": "RNN"}], rule=(4, 5), start=5, max_length=100, speculate=0)
    while (trial := fr.next_trial()) not in (DONE, None):
        fr.record(*trial, solved=bool(rng.random() < expit(logit(RATE) + slope * math.log(trial.length / crossing))))
    return fr


def test_the_fitted_interval_covers_a_known_crossing_in_simulated_searches():
    """Each curve, 250 searches: the 95% interval holds the true crossing in >= 90% of them, the
    estimate's median is within 15% of it; the chi2 cutoff alone would cover less (why it is
    calibrated). docs/frontier.md gives this run's numbers."""
    rng = np.random.default_rng(2024)
    nominal = chi2.ppf(0.95, 1)
    measured = []
    for crossing, slope in CURVES:
        covered, nominal_covered, logs, fitted = 0, 0, [], 0
        for _ in range(RUNS):
            fr = _search(crossing, slope, rng)
            fit = cell_crossing(fr, 0)
            if math.isnan(fit.low):  # not fitted (one length probed): no interval to judge
                continue
            fitted += 1
            covered += fit.low <= crossing <= fit.high
            probes = list(fr._probes[0].values())
            stat = deviance_at([p.length for p in probes], [p.solved for p in probes], [p.finished for p in probes],
                               RATE, crossing)
            nominal_covered += stat <= nominal
            if not math.isnan(fit.length):
                logs.append(math.log(fit.length / crossing))
        measured.append((crossing, slope, fitted, covered / fitted, nominal_covered / fitted, float(np.median(logs))))
    print("\n".join(f"T* = {c:g}, slope {s:g}: {n} fitted, coverage {cov:.3f} (chi2 cutoff {nom:.3f}), median "
                    f"log(estimate / T*) {bias:+.3f}" for c, s, n, cov, nom, bias in measured))
    for crossing, slope, fitted, coverage, _, bias in measured:
        assert fitted >= 0.9 * RUNS, (crossing, slope)
        assert coverage >= 0.90, (crossing, slope, coverage)
        assert abs(bias) <= math.log(1.15), (crossing, slope, bias)
    assert min(nom for *_, nom, _ in measured) < 0.90  # the uncalibrated interval is too narrow
    assert calibrated_cutoff((4, 5), 5, 100) > nominal


# ---- hand-made probes: the fit and its conventions -----------------------------------------


def _brute_force(lengths, solved, finished, cutoffs):
    """The maximum-likelihood crossing and its profile interval at each cutoff, on a grid of
    (log T*, b <= 0)."""
    x, k, n = np.log(lengths), np.array(solved, float), np.array(finished, float)
    ms = np.linspace(math.log(2), math.log(400), 1500)
    bs = -np.concatenate([[0.0], np.logspace(-3, 6, 800)])
    eta = logit(RATE) + bs[None, :, None] * (x[None, None, :] - ms[:, None, None])
    profile = (k * log_expit(eta) + (n - k) * log_expit(-eta)).sum(-1).max(1)
    out = []
    for cutoff in cutoffs:
        inside = ms[profile >= profile.max() - cutoff / 2]
        out.append((math.exp(ms[profile.argmax()]), math.exp(inside.min()), math.exp(inside.max())))
    return out


def test_the_fit_is_the_maximum_likelihood_and_its_profile_interval():
    # reference-frontier-best's LSTM: 4/4 up to 20, 4/5 at 40-44, then 1/3, 1/4, 1/4, 0/2.
    lengths = [5, 10, 20, 40, 42, 43, 44, 45, 50, 60, 80]
    solved = [4, 4, 4, 4, 4, 4, 4, 1, 1, 1, 0]
    finished = [4, 4, 4, 5, 5, 5, 5, 3, 4, 4, 2]
    cutoffs = (chi2.ppf(0.95, 1), 7.0)
    for cutoff, grid in zip(cutoffs, _brute_force(lengths, solved, finished, cutoffs), strict=True):
        fit = fit_crossing(lengths, solved, finished, RATE, cutoff=cutoff)
        assert fit.note == "fitted"
        assert (fit.length, fit.low, fit.high) == pytest.approx(grid, rel=5e-3)
    # A wider cutoff widens the interval around the same estimate.
    narrow, wide = (fit_crossing(lengths, solved, finished, RATE, cutoff=c) for c in cutoffs)
    assert narrow.length == pytest.approx(wide.length) and wide.low < narrow.low < narrow.high < wide.high


def _frontier(probes: dict[int, tuple[int, int]], rule=(4, 5), start=5, max_length=100) -> Frontier:
    """A one-cell frontier whose probe at each length had ``solved`` of ``finished`` seeds."""
    fr = Frontier([{"model": "LSTM"}], rule=rule, start=start, max_length=max_length, speculate=0)
    for length, (k, n) in probes.items():
        for seed in range(n):
            fr.record(0, length, seed, solved=seed < k, steps_to_target=100 if seed < k else None)
    return fr


def test_frontier_csv_has_the_fitted_columns_and_the_documented_conventions(tmp_path):
    cases = {  # name: probes, (note, estimate known, low > 0, high finite)
        "graded": ({5: (4, 4), 10: (4, 4), 15: (4, 5), 20: (2, 5), 30: (1, 4), 40: (0, 3)},
                   ("fitted", True, True, True)),
        "every seed solved": ({5: (4, 4), 10: (4, 4), 20: (4, 4), 40: (4, 4), 80: (4, 4)},
                              (SEPARATED, False, True, False)),
        "no seed solved": ({5: (0, 2), 10: (0, 2)}, (SEPARATED, False, False, True)),
        "a gap": ({5: (4, 4), 10: (4, 4), 15: (4, 4), 20: (0, 2)}, (SEPARATED, False, True, True)),
        "one mixed length": ({5: (4, 4), 7: (4, 5), 8: (0, 2)}, (QUASI, True, True, True)),
        "not falling": ({5: (1, 5), 10: (2, 5), 20: (2, 5)}, (FLAT, False, False, True)),
        "one length": ({5: (1, 3)}, (TOO_FEW, False, None, None)),
    }
    for name, (probes, (note, estimate, low_known, high_known)) in cases.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        table = write_frontier(folder, _frontier(probes), echo=False, figure=False)
        on_disk = pd.read_csv(folder / "frontier.csv")
        r = on_disk.iloc[0]
        assert (on_disk["fitted_note"] == note).all() and len(set(on_disk["fitted_low"].astype(str))) == 1, name
        assert on_disk[["fitted_length", "fitted_low", "fitted_high"]].equals(
            table[["fitted_length", "fitted_low", "fitted_high"]]), name  # inf and NaN read back as written
        assert math.isnan(r["fitted_length"]) != estimate, name
        if low_known is None:  # not fitted: no number at all
            assert math.isnan(r["fitted_low"]) and math.isnan(r["fitted_high"]), name
            assert "not fitted (fewer than 2 lengths" in format_frontier(table)
            continue
        assert (r["fitted_low"] > 0) == low_known and math.isfinite(r["fitted_high"]) == high_known, name
        assert r["fitted_low"] < r["fitted_high"], name
        if estimate:
            assert r["fitted_low"] <= r["fitted_length"] <= r["fitted_high"], name
    # The conventions' numbers: a mixed length between full solves and none is the estimate itself;
    # every seed solved bounds the crossing from below only, and a gap from both sides.
    assert cell_crossing(_frontier(cases["one mixed length"][0]), 0).length == pytest.approx(7.0)
    solved = cell_crossing(_frontier(cases["every seed solved"][0]), 0)
    assert 20 < solved.low < 80 and solved.high == math.inf
    gap = cell_crossing(_frontier(cases["a gap"][0]), 0)
    assert 5 < gap.low < 15 and 20 <= gap.high < 25
    text = format_frontier(frontier_table(_frontier(cases["every seed solved"][0])))
    assert "fitted 0.8 crossing: no point estimate, 95% interval [" in text and ", inf)  (every seed solved)" in text
    text = format_frontier(frontier_table(_frontier(cases["a gap"][0])))
    assert "(every seed solved up to 15, none from 20)" in text


def test_the_rate_is_the_rule_s_and_a_rule_of_every_seed_is_not_fitted():
    probes = {5: (5, 5), 10: (4, 5), 20: (2, 5), 40: (1, 5)}
    two_thirds = cell_crossing(_frontier(probes, rule=(2, 3)), 0)
    four_fifths = cell_crossing(_frontier(probes, rule=(4, 5)), 0)
    assert two_thirds.length > four_fifths.length  # the curve crosses 2/3 later than 4/5
    every = frontier_table(_frontier({5: (3, 3), 10: (1, 3)}, rule=(3, 3)))
    assert every["fitted_low"].isna().all() and (every["fitted_note"] == "rule K/N = 1").all()


# ---- the figure: bounds stay bounds, the fitted crossing with its interval -------------------


def _gids(ax, gid):
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    arrows = [t for t in ax.texts if t.get_gid() == gid]
    return lines, arrows


def test_a_bound_is_drawn_open_ended_and_the_fitted_crossing_with_its_interval():
    # Searched to the max length without a failure: the frontier is only ">= 80".
    table = frontier_table(_frontier({5: (4, 4), 10: (4, 4), 20: (4, 4), 40: (4, 4), 80: (4, 4)}, max_length=80))
    assert table["done"].all() and table["first_failed"].isna().all()
    ax = plot_frontier(table)
    stars, _ = _gids(ax, "frontier")
    assert not stars and not [ln for ln in ax.get_lines() if ln.get_marker() == "*" and ln.get_mfc() != "white"]
    marks, arrows = _gids(ax, "frontier-bound")
    assert [(ln.get_xdata()[0], ln.get_mfc()) for ln in marks] == [(80, "white")]
    assert len(arrows) == 1 and arrows[0].xycoords == ("axes fraction", "data") and arrows[0].xy[0] == 1.0
    # Every seed solved: the fit's interval has no upper end: an arrow off the axis, no estimate.
    lines, open_ends = _gids(ax, "fitted-interval")[0], _gids(ax, "fitted-open")[1]
    assert lines and len(open_ends) == 1 and open_ends[0].xy[0] == 1.0 and not _gids(ax, "fitted-crossing")[0]
    assert any(t.startswith("fitted 0.8 crossing, 95% interval") for t in
               (t.get_text() for t in ax.get_legend().get_texts()))

    # A frontier the search found (16, first failure 17), and its fitted crossing with both ends.
    table = frontier_table(_frontier({5: (4, 4), 10: (4, 4), 15: (4, 4), 16: (4, 4), 17: (3, 5), 20: (1, 3)}))
    r = table.iloc[0]
    ax = plot_frontier(table)
    stars, _ = _gids(ax, "frontier")
    assert [(ln.get_xdata()[0], ln.get_marker()) for ln in stars] == [(16, "*")] and not _gids(ax, "frontier-bound")[1]
    point = _gids(ax, "fitted-crossing")[0]
    assert len(point) == 1 and point[0].get_xdata()[0] == pytest.approx(r["fitted_length"])
    assert point[0].get_ydata()[0] == pytest.approx(RATE)
    interval = [ln for ln in _gids(ax, "fitted-interval")[0] if ln.get_linestyle() == "-"]
    assert list(interval[0].get_xdata()) == pytest.approx([r["fitted_low"], r["fitted_high"]])
    assert not _gids(ax, "fitted-open")[1]


def test_a_search_stopped_between_two_lengths_and_a_failure_at_the_start_are_bounds():
    fr = _frontier({100: (4, 4), 200: (3, 5)}, start=100, max_length=200)
    fr.next_trial()  # the bisection's probe at 150 launched, not finished: the search is not done
    table = frontier_table(fr)
    assert not table["done"].any() and (table["longest_solved"] == 100).all() and (table["first_failed"] == 200).all()
    ax = plot_frontier(table)
    assert not _gids(ax, "frontier")[0]
    (arrow,) = _gids(ax, "frontier-bound")[1]
    assert arrow.xycoords == "data" and arrow.xy[0] == pytest.approx(200, rel=0.02)  # up to the failure
    ax = plot_frontier(frontier_table(_frontier({5: (1, 3)})))  # fails at the start length: below it
    (arrow,) = _gids(ax, "frontier-bound")[1]
    assert arrow.xycoords == ("axes fraction", "data") and arrow.xy[0] == 0.0


# ---- held to the end beside reached ---------------------------------------------------------


def test_held_differs_from_solved_where_a_seed_reached_the_target_and_lost_it():
    """reference-frontier-lstm-chrono, T = 200: seed 1 reached 0.99 (steps_to_target 8,000) and
    ended at 0.71: solved, not held."""
    folder = RESULTS / "reference-frontier-lstm-chrono"
    trials, curves = pd.read_csv(folder / "trials.csv"), pd.read_csv(folder / "curves.csv")
    seed1 = trials[(trials["length"] == 200) & (trials["seed"] == 1)].iloc[0]
    curve = curves[curves["trial_id"] == seed1["trial_id"]].sort_values("step")
    assert curve["eval_accuracy"].max() >= 0.99 and curve["eval_accuracy"].iloc[-1] == pytest.approx(0.7136, abs=1e-3)
    assert seed1["steps_to_target"] == 8000 and seed1["eval_accuracy"] == curve["eval_accuracy"].iloc[-1]
    table = frontier_table(folder)  # reads the folder's state and trials.csv; writes nothing
    at = table[table["length"] == 200].iloc[0]
    assert (at["k"], at["n"], at["held"]) == (4, 4, 3)
    below = table[table["length"] < 200]
    assert (below["held"] == below["k"]).all()
    assert "held 0.99 at the last evaluation: 27 of the 28 seeds that reached it (lost at T = 200: 1 of 4)" in \
        format_frontier(table)
    # Without the trials table nothing is known about holding, and nothing is made up.
    from study.frontier.table import load_frontier

    alone = frontier_table(load_frontier(folder))
    assert alone["held"].isna().all() and "held 0.99" not in format_frontier(alone)
