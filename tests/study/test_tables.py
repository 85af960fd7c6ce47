"""study.tables: summary, curve bands and the comparison table, number for number from hand-made data."""

import inspect
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from study.basics.errors import NotAStudy
from study.basics.stats import t_quantile, wilson_interval
from study.results import exercise as tb
from study.results.exercise import (
    CI_COLUMN,
    accuracy_vs_length,
    exercise_applies,
    exercise_points,
    format_accuracy_table,
    single_length,
    steps_to_target_table,
    study_settings,
)
from study.results.exercise import EXERCISE_RESULTS as EXERCISE
from study.results.folder import fill_swept_columns, missing_axes, read_study_folder, summary_axes, swept_fields
from study.results.search import best_trial_id, ranked_trials, top_trials
from study.results.summary import (
    MODEL_ORDER,
    axis_key,
    curves_table,
    flag,
    model_order,
    parity_table,
    summary_table,
    trial_outcome,
)

T975 = {1: 12.706205, 2: 4.302653}  # t(0.975, df) from a printed table: two and three seeds


def approx(x):
    return pytest.approx(x, abs=1e-5, nan_ok=True)


# Held-out examples a seed is scored on (palrnn.data: every held-out palindrome at T <= 9, 4,096 beyond).
EXAMPLES = {5: 100, 6: 988, 7: 988, 20: 4096}
T995 = {1: 63.656741, 2: 9.924843}  # t(0.995, df), from a printed table


def interval(values, length):
    """(mean, low, high) by hand: mean -+ t(0.995, n - 1) sd / sqrt(n), clipped to [0, 1], joined with
    the Wilson interval of the pooled held-out count (study.basics.stats.accuracy_interval)."""
    x = np.asarray(values, float)
    n, m, z = len(x), EXAMPLES[length], 1.959964
    mean = float(x.mean())
    half = T995[n - 1] * x.std(ddof=1) / math.sqrt(n)
    k, total = float(np.rint(x * m).sum()), n * m
    p = k / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    w = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    low = min(max(0.0, mean - half), 0.0 if k == 0 else centre - w)
    high = max(min(1.0, mean + half), 1.0 if k == total else centre + w)
    return approx(mean), approx(low), approx(high)


def make_trials() -> pd.DataFrame:
    """2 models x 2 lengths x 3 seeds, with the final metrics chosen to give round summaries."""
    rows = []
    cells = {  # (model, T): [(eval_accuracy, steps_to_target, diverged, stopped_early, mean_train, train_final)]
        ("RNN", 5): [(1.0, 300, False, True, 0.80, 1.0), (0.9, None, False, False, 0.70, 0.9),
                     (0.8, None, False, False, 0.60, 0.8)],
        ("RNN", 6): [(0.5, None, False, False, 0.40, 0.5), (0.3, None, False, False, 0.30, 0.3),
                     (0.1, None, True, False, 0.20, 0.1)],
        ("LSTM", 5): [(1.0, 200, False, True, 0.90, 1.0), (1.0, 300, False, True, 0.85, 1.0),
                      (1.0, 400, False, True, 0.80, 1.0)],
        ("LSTM", 6): [(1.0, 500, False, False, 0.75, 1.0), (0.99, 900, False, False, 0.70, 0.98),
                      (0.98, None, False, False, 0.65, 0.96)],
    }
    for (model, t), seeds in cells.items():
        for seed, (acc, stt, div, stop, mta, tra) in enumerate(seeds):
            rows.append({"trial_id": f"{model}{t}s{seed}", "model": model, "length": t, "hidden": 128,
                         "max_norm": 10.0, "seed": seed, "step": 1000, "train_accuracy": tra, "eval_accuracy": acc,
                         "mean_train_accuracy": mta, "diverged": div, "steps_to_target": stt,
                         "stopped_early": stop, "status": "TERMINATED"})
    return pd.DataFrame(rows)


def row(summary, model, t):
    r = summary[(summary["model"] == model) & (summary["length"] == t)]
    assert len(r) == 1
    return r.iloc[0]


def test_summary_columns_and_order():
    s = summary_table(make_trials(), ["model"])
    assert list(s.columns) == ["model", "length", "seeds", "eval_accuracy_mean", "eval_accuracy_low",
                               "eval_accuracy_high", "solved", "solved_low", "solved_high", "held",
                               "steps_to_target_median", "diverged",
                               "stopped_early", "mean_train_accuracy", "train_accuracy_final",
                               "errored", "unfinished", "cut"]
    assert list(zip(s["model"], s["length"], strict=True)) == [("RNN", 5), ("RNN", 6), ("LSTM", 5), ("LSTM", 6)]


def test_held_counts_the_seeds_still_at_the_target_at_their_last_evaluation():
    # A seed that reached the target and lost it again is solved but not held.
    trials = pd.DataFrame({"model": "RNN", "length": 10, "seed": [0, 1, 2], "target": 0.99,
                           "eval_accuracy": [1.0, 0.71, 0.2], "steps_to_target": [500.0, 8000.0, None]})
    r = summary_table(trials, []).iloc[0]
    assert (r["solved"], r["held"], r["seeds"]) == (2, 1, 3)


def test_wilson_interval():
    assert wilson_interval(3, 3) == (pytest.approx(0.43850, abs=1e-4), 1.0)  # 3 of 3 seeds: rate >= 0.44
    assert wilson_interval(0, 3) == (0.0, pytest.approx(0.56150, abs=1e-4))
    assert wilson_interval(5, 10) == (pytest.approx(0.23659, abs=1e-4), pytest.approx(0.76341, abs=1e-4))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_summary_numbers():
    s = summary_table(make_trials(), ["model"])
    r = row(s, "RNN", 5)
    assert (r.seeds, r.solved, r.diverged, r.stopped_early) == (3, 1, 0, 1)
    assert (r.errored, r.unfinished, r.cut) == (0, 0, 0)
    assert r.eval_accuracy_mean == approx(0.9)
    assert (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high) == interval([1.0, 0.9, 0.8], 5)
    assert r.steps_to_target_median == 300
    assert r.mean_train_accuracy == approx(0.7)
    assert r.train_accuracy_final == approx(0.9)

    r = row(s, "RNN", 6)
    assert (r.seeds, r.solved, r.diverged, r.stopped_early) == (3, 0, 1, 0)  # a diverged run is finished
    assert (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high) == interval([0.5, 0.3, 0.1], 6)
    assert math.isnan(r.steps_to_target_median)

    r = row(s, "LSTM", 5)  # every seed at 1: no spread, but 300 examples leave room (Wilson)
    assert (r.solved, r.stopped_early, r.steps_to_target_median) == (3, 3, 300)
    assert (r.eval_accuracy_low, r.eval_accuracy_high) == (approx(0.987357), 1.0)

    r = row(s, "LSTM", 6)  # median over the solved seeds only
    assert (r.solved, r.steps_to_target_median) == (2, 700)
    # Wilson, worked by hand for 2/3: den = 1 + z^2/3 = 2.28054, centre = (2/3 + z^2/6) / den = 0.57309,
    # half = z sqrt(2/27 + z^2/36) / den = 0.36545
    assert (r.solved_low, r.solved_high) == (pytest.approx(0.20765, abs=1e-4), pytest.approx(0.93854, abs=1e-4))
    assert (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high) == interval([1.0, 0.99, 0.98], 6)
    assert r.mean_train_accuracy == approx(0.70)
    assert r.train_accuracy_final == approx((1.0 + 0.98 + 0.96) / 3)


def test_summary_as_read_back_from_csv(tmp_path):
    """Booleans and empty steps_to_target as pandas reads them from trials.csv give the same summary."""
    trials = make_trials()
    trials.to_csv(tmp_path / "t.csv", index=False)
    back = pd.read_csv(tmp_path / "t.csv")
    pd.testing.assert_frame_equal(summary_table(back, ["model"]), summary_table(trials, ["model"]))


def test_summary_intervals_stay_in_the_unit_interval():
    """Accuracy is bounded: no interval leaves [0, 1] and each contains its mean (0.9 + 0.248 = 1.148 before)."""
    s = summary_table(make_trials(), ["model"])
    assert (s["eval_accuracy_low"] >= 0).all() and (s["eval_accuracy_high"] <= 1).all()
    assert (s["eval_accuracy_low"] <= s["eval_accuracy_mean"]).all()
    assert (s["eval_accuracy_mean"] <= s["eval_accuracy_high"]).all()
    assert row(s, "RNN", 5).eval_accuracy_high == 1.0  # 0.9 + 0.573, clipped at 1


def test_one_seed_has_no_interval_and_two_seeds_use_t1():
    trials = make_trials()
    one = summary_table(trials[trials["seed"] == 0], ["model"])
    r = row(one, "RNN", 5)
    assert r.seeds == 1 and r.eval_accuracy_mean == 1.0
    assert math.isnan(r.eval_accuracy_low) and math.isnan(r.eval_accuracy_high)
    two = summary_table(trials[trials["seed"] < 2], ["model"])
    r = row(two, "RNN", 6)  # 0.5, 0.3: t(0.995, 1) = 63.657: the interval is all of [0, 1]
    assert (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high) == interval([0.5, 0.3], 6)


def test_t_quantiles_come_from_scipy():
    assert t_quantile(2) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(30) == pytest.approx(2.0423, abs=1e-4)
    assert t_quantile(31) == pytest.approx(2.0395, abs=1e-4)  # no 1.96 fallback
    assert math.isnan(t_quantile(0))
    assert not hasattr(tb, "T_975")  # no hand-copied table: scipy is a dependency


def test_summary_with_another_axis_none_first():
    """A swept max_norm with None (empty in CSV): one row per value, no clipping first."""
    trials = make_trials()
    other = trials.assign(max_norm=np.nan, eval_accuracy=trials["eval_accuracy"] / 2)
    s = summary_table(pd.concat([trials, other]), ["model", "max_norm"])
    assert list(s.columns[:3]) == ["model", "length", "max_norm"]
    assert len(s) == 8
    assert s["max_norm"].isna().tolist() == [True, False] * 4
    r = s[(s["model"] == "RNN") & (s["length"] == 5)]
    assert r["eval_accuracy_mean"].tolist() == [approx(0.45), approx(0.9)]


def test_summary_skips_trials_without_results():
    trials = make_trials()
    trials.loc[0, ["eval_accuracy", "status"]] = [np.nan, "ERROR"]
    r = row(summary_table(trials, ["model"]), "RNN", 5)
    assert r.seeds == 2 and r.eval_accuracy_mean == approx(0.85) and r.solved == 0
    assert (r.errored, r.unfinished, r.cut) == (1, 0, 0)


def with_stopped_by(trials: pd.DataFrame) -> pd.DataFrame:
    """stopped_by as study.run writes it for finished trials."""
    by = np.where(flag(trials["diverged"]), "diverged", np.where(flag(trials["stopped_early"]), "target",
                                                                      "steps"))
    return trials.assign(stopped_by=by)


def test_summary_means_are_over_finished_trials_only():
    """An errored, an unfinished and a scheduler-cut trial (each with an accuracy) stay out of the means."""
    trials = with_stopped_by(make_trials())
    extra = trials[(trials["model"] == "RNN") & (trials["length"] == 5)].iloc[[0, 0, 0]].copy()
    extra["trial_id"] = ["err", "unf", "cut"]
    extra["eval_accuracy"] = [0.0, 0.1, 0.2]
    extra["mean_train_accuracy"] = extra["train_accuracy"] = 0.0
    extra["steps_to_target"] = [100, 100, 100]
    extra["status"] = ["ERROR", "RUNNING", "TERMINATED"]
    extra["stopped_by"] = ["error", "unfinished", "scheduler"]
    s = summary_table(pd.concat([trials, extra], ignore_index=True), ["model"])
    r = row(s, "RNN", 5)
    assert (r.seeds, r.errored, r.unfinished, r.cut) == (3, 1, 1, 1)
    assert (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high) == interval([1.0, 0.9, 0.8], 5)
    assert (r.solved, r.steps_to_target_median) == (1, 300)
    assert (r.mean_train_accuracy, r.train_accuracy_final) == (approx(0.7), approx(0.9))
    assert r.diverged == 0 and row(s, "RNN", 6).diverged == 1  # diverged runs are finished and count
    others = s[~((s["model"] == "RNN") & (s["length"] == 5))]
    assert (others[["errored", "unfinished", "cut"]] == 0).all().all()
    pd.testing.assert_frame_equal(summary_table(trials, ["model"]), summary_table(make_trials(), ["model"]))


def test_a_group_with_no_finished_trial_keeps_its_row():
    trials = with_stopped_by(make_trials())
    cell = (trials["model"] == "LSTM") & (trials["length"] == 6)
    trials.loc[cell, "stopped_by"] = "scheduler"
    r = row(summary_table(trials, ["model"]), "LSTM", 6)
    assert (r.seeds, r.cut, r.solved) == (0, 3, 0)
    assert all(math.isnan(v) for v in (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high))


def test_trial_outcome():
    trials = pd.DataFrame({"stopped_by": ["steps", "target", "diverged", "error", "unfinished", "scheduler", None,
                                          None, None],
                           "status": ["TERMINATED"] * 3 + ["ERROR", "RUNNING", "TERMINATED", "ERROR", "TERMINATED",
                                                           "PENDING"]})
    assert trial_outcome(trials).tolist() == ["finished"] * 3 + ["errored", "unfinished", "cut", "errored",
                                                                    "finished", "unfinished"]
    assert trial_outcome(trials.drop(columns="status")).tolist()[:6] == [
        "finished", "finished", "finished", "errored", "unfinished", "cut"]


def search_trials() -> pd.DataFrame:
    """An Optuna search's trials: RNN, T = 20, one seed each; two trials share a config."""
    rows = [  # (lr, hidden, eval_accuracy, stopped_by)
        (0.001, 64, 1.0, "target"), (0.001, 64, 0.8, "steps"), (0.003, 64, 0.2, "steps"),
        (0.01, 32, 0.1, "scheduler"), (0.002, 32, 0.5, "error"),
    ]
    return pd.DataFrame([{"trial_id": f"t{i}", "model": "RNN", "length": 20, "lr": lr, "hidden": h, "max_norm": np.nan,
                          "seed": 0, "eval_accuracy": a, "train_accuracy": a, "mean_train_accuracy": a / 2,
                          "diverged": False, "stopped_early": by == "target",
                          "steps_to_target": 1500 if by == "target" else None,
                          "status": "ERROR" if by == "error" else "TERMINATED", "stopped_by": by}
                         for i, (lr, h, a, by) in enumerate(rows)])


def test_search_summary_has_one_row_per_config():
    meta = {"kind": "optuna", "axes": ["hidden", "lr", "max_norm"]}
    trials = search_trials()
    axes = summary_axes(meta, trials.columns)
    assert axes == ["hidden", "lr", "max_norm"]
    s = summary_table(trials, axes)
    assert list(s.columns[:5]) == ["model", "length", "hidden", "lr", "max_norm"]
    assert list(zip(s["hidden"], s["lr"], s["seeds"], s["cut"], s["errored"], strict=True)) == [
        (32, 0.002, 0, 0, 1), (32, 0.01, 0, 1, 0), (64, 0.001, 2, 0, 0), (64, 0.003, 1, 0, 0)]
    r = s[s["lr"] == 0.001].iloc[0]  # the one config run twice: its two trials are its seeds
    assert (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high) == interval([1.0, 0.8], 20)
    assert r.solved == 1
    one = s[s["lr"] == 0.003].iloc[0]
    assert one.eval_accuracy_mean == approx(0.2) and math.isnan(one.eval_accuracy_low)
    assert s["max_norm"].isna().all()


def test_empty_trials_give_an_empty_summary():
    s = summary_table(pd.DataFrame(), ["model"])
    assert s.empty and "eval_accuracy_mean" in s.columns


# ---- curves ----------------------------------------------------------------------------------

def make_curves() -> pd.DataFrame:
    """One cell (RNN, T=5), three seeds: seed 0 stops early at 200, seed 1 diverges at 150."""
    recs = [
        ("a", 100, 0.6, False, False), ("a", 200, 1.0, False, True),
        ("b", 100, 0.2, False, False), ("b", 150, 0.0, True, False),
        ("c", 100, 0.4, False, False), ("c", 200, 0.6, False, False), ("c", 300, 0.8, False, False),
    ]
    return pd.DataFrame([{"trial_id": t, "model": "RNN", "length": 5, "seed": "abc".index(t), "step": s,
                          "eval_accuracy": a, "train_accuracy": a, "diverged": d, "stopped_early": e}
                         for t, s, a, d, e in recs])


def band(values):
    return interval(values, 5)


def test_curves_hold_stopped_and_diverged_trials():
    c = curves_table(make_curves(), ["model"])
    assert list(c.columns) == ["model", "length", "step", "seeds", "eval_accuracy_mean", "eval_accuracy_low",
                               "eval_accuracy_high"]
    assert c["step"].tolist() == [100, 200, 300]  # 150 (a diverged run's last record) is not a step
    assert c["seeds"].tolist() == [3, 3, 3]
    for step, values in [(100, [0.6, 0.2, 0.4]), (200, [1.0, 0.0, 0.6]), (300, [1.0, 0.0, 0.8])]:
        r = c[c["step"] == step].iloc[0]
        assert (r.eval_accuracy_mean, r.eval_accuracy_low, r.eval_accuracy_high) == band(values)


def test_curves_drop_a_trial_that_ended_otherwise():
    curves = make_curves()
    curves.loc[curves["trial_id"] == "a", "stopped_early"] = False  # e.g. stopped by the scheduler
    c = curves_table(curves, ["model"])
    assert c["seeds"].tolist() == [3, 3, 2]
    assert c.iloc[2]["eval_accuracy_mean"] == approx(0.4)
    assert math.isfinite(c.iloc[2]["eval_accuracy_low"])


def test_curves_per_group_and_metric():
    curves = make_curves()
    lstm = curves.assign(model="LSTM", trial_id=curves["trial_id"] + "2", eval_accuracy=1.0, train_accuracy=0.5)
    c = curves_table(pd.concat([lstm, curves]), ["model"], metric="train_accuracy")
    assert c["model"].tolist() == ["RNN"] * 3 + ["LSTM"] * 3
    assert c[c["model"] == "LSTM"]["train_accuracy_mean"].tolist() == [0.5, 0.5, 0.5]


# ---- the comparison with the exercise -----------------------------------------------------------

def test_accuracy_vs_length_beside_the_exercise():
    table = accuracy_vs_length(summary_table(make_trials(), ["model"]))
    assert list(table.index.names) == ["model", "T"]
    assert list(table.columns) == [CI_COLUMN, "solved", "final train", "exercise"]
    assert CI_COLUMN == "held out, mean [95% CI, t(0.995) | Wilson]"
    _, low, high = (v.expected for v in interval([1.0, 0.9, 0.8], 5))
    assert table.loc[("RNN", 5), CI_COLUMN] == f"0.900 [{low:.3f}, {high:.3f}]"
    assert table.loc[("LSTM", 5), CI_COLUMN] == "1.000 [0.987, 1.000]"  # 300 examples, every one right
    assert table.loc[("RNN", 5), "solved"] == "1/3"
    assert table.loc[("RNN", 6), "exercise"] == 0.99
    assert table.loc[("LSTM", 6), "exercise"] == 1.00
    assert table.loc[("LSTM", 6), "final train"] == approx(0.98)
    text = format_accuracy_table(table)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "0.99" in text and CI_COLUMN in text


def test_steps_to_target_table():
    steps = steps_to_target_table(summary_table(make_trials(), ["model"]))
    assert steps.index.tolist() == ["RNN", "LSTM"] and steps.columns.tolist() == [5, 6]
    assert steps.loc["RNN", 5] == 300 and math.isnan(steps.loc["RNN", 6])
    assert steps.loc["LSTM"].tolist() == [300, 700]
    trials = make_trials()
    both = pd.concat([trials.assign(init="seed"), trials.assign(init="default", steps_to_target=100)])
    steps = steps_to_target_table(summary_table(both, ["model", "init"]))
    assert steps.index.tolist() == [("RNN", "default"), ("RNN", "seed"), ("LSTM", "default"), ("LSTM", "seed")]
    assert steps.loc[("RNN", "default")].tolist() == [100, 100]


def test_exercise_constant():
    assert [EXERCISE["RNN"][t] for t in range(5, 11)] == [1.00, 0.99, 0.98, 0.60, 0.35, 0.34]
    assert set(EXERCISE["LSTM"].values()) == {1.0}


def test_accuracy_vs_length_outside_the_exercise_and_with_an_axis():
    trials = make_trials().assign(length=lambda d: d["length"] + 10, init="seed")
    table = accuracy_vs_length(summary_table(trials, ["model", "init"]))
    assert list(table.index.names) == ["model", "T", "init"]
    assert list(table.columns) == [CI_COLUMN, "solved", "final train"]  # T = 15, 16: no exercise number


def test_the_exercise_applies_to_its_models_lengths_and_settings_only():
    trials = make_trials()
    both = pd.concat([trials.assign(init="seed"), trials.assign(init="default")])
    summary = summary_table(both, ["model", "init"])
    applies = exercise_applies(summary)
    assert summary.loc[applies, "init"].unique().tolist() == ["seed"] and applies.sum() == 4
    table = accuracy_vs_length(summary)
    assert table.loc[("RNN", 6, "seed"), "exercise"] == 0.99
    assert math.isnan(table.loc[("RNN", 6, "default"), "exercise"])
    s = summary_table(trials, ["model"])
    assert exercise_applies(s).all()  # no settings known: nothing held against it
    assert not exercise_applies(s, {"lr": 0.003}).any()  # the study fixed another learning rate
    assert exercise_applies(s, {"lr": 0.001, "max_norm": 10, "hidden": 128.0}).all()
    assert "exercise" not in accuracy_vs_length(s, settings={"steps": 300}).columns
    bias = summary_table(trials.assign(forget_bias=1.0), ["model", "forget_bias"])
    assert exercise_applies(bias).tolist() == [True, True, False, False]  # the RNN has no forget gate
    gru = summary_table(trials.assign(model="GRU"), ["model"])
    assert not exercise_applies(gru).any() and exercise_points(gru).empty
    points = exercise_points(s)
    assert points.columns.tolist() == ["model", "length", "exercise"] and points["exercise"].tolist() == [
        1.0, 0.99, 1.0, 1.0]


def test_a_study_with_one_length_has_no_t_column():
    trials = make_trials()
    one = summary_table(trials[trials["length"] == 5], ["model"])
    assert single_length(one) == 5 and single_length(summary_table(trials, ["model"])) is None
    table = accuracy_vs_length(one)
    assert table.index.name == "model" and table.index.tolist() == ["RNN", "LSTM"]
    h = summary_table(pd.concat([trials.assign(hidden=32), trials.assign(hidden=64)]).query("length == 6"),
                         ["model", "hidden"])
    assert list(accuracy_vs_length(h).index.names) == ["model", "hidden"]


def test_study_settings():
    meta = {"param_space": {"hidden": [32, 64], "lr": 0.003, "max_norm": None, "model": ["RNN"], "steps": [500]}}
    assert study_settings(meta) == {"lr": 0.003, "max_norm": None, "model": "RNN", "steps": 500}
    older = study_settings({}, make_trials())  # no param_space: the trials' single-valued columns
    assert older == {"hidden": 128, "max_norm": 10.0}


# ---- any study's axes ---------------------------------------------------------------------------

def test_models_in_a_stable_order():
    assert MODEL_ORDER == ["RNN", "LSTM", "GRU"]
    assert model_order(["Zeta", "GRU", "LSTM", "Alpha", "RNN", "GRU"]) == ["RNN", "LSTM", "GRU", "Alpha", "Zeta"]
    trials = make_trials()
    many = pd.concat([trials.assign(model="GRU"), trials.assign(model="Alpha"), trials])
    s = summary_table(many, ["model"])
    assert list(dict.fromkeys(s["model"])) == ["RNN", "LSTM", "GRU", "Alpha"]
    steps = steps_to_target_table(s)
    assert steps.index.tolist() == ["RNN", "LSTM", "GRU", "Alpha"]


def test_axis_key():
    assert axis_key(0.003) == axis_key(0.003 * (1 + 1e-13)) == axis_key("0.0030000000000000001") == 0.003
    assert axis_key(64) == axis_key(64.0) == axis_key(np.int64(64)) == axis_key("64")
    assert all(axis_key(v) is None for v in (None, math.nan, np.nan, "", "none", "None", pd.NA))
    assert axis_key("seed") == "seed" and axis_key(0.001) != axis_key(0.0011)


def test_swept_fields_from_axes_and_param_space():
    meta = {"axes": ["model", "hidden"], "param_space": {"hidden": [32, 64], "lr": [0.001, 0.003], "length": [5, 6],
                                                         "seed": [0, 1], "batch_size": 128}}
    assert swept_fields(meta) == ["model", "hidden", "lr"]
    assert summary_axes(meta, ["model", "length", "hidden", "lr"]) == ["hidden", "lr"]
    assert missing_axes(meta, ["model", "length", "hidden"]) == ["lr"]
    assert swept_fields({"param_space": {"max_norm": [None, 1.0]}}) == ["max_norm"]  # no axes written


def user_sweep() -> pd.DataFrame:
    """hidden {32, 64} x lr {0.001, 0.003} x T {5, 6}, RNN, 2 seeds; lr as a CSV round trip may leave it."""
    rows = []
    for i, (t, h, lr) in enumerate(itertools.product([5, 6], [32, 64], [0.001, 0.003])):
        for seed in range(2):
            acc = 0.5 + 0.05 * i + 0.01 * seed
            rows.append({"trial_id": f"t{i}s{seed}", "model": "RNN", "length": t, "hidden": h,
                         "lr": lr * (1 + 1e-13) if seed else lr, "max_norm": math.nan if h == 32 else 1.0,
                         "seed": seed, "eval_accuracy": acc, "train_accuracy": acc, "mean_train_accuracy": acc,
                         "diverged": False, "steps_to_target": None, "stopped_early": False,
                         "status": "TERMINATED", "stopped_by": "steps"})
    return pd.DataFrame(rows)


def test_summary_of_a_user_sweep_one_row_per_config(tmp_path):
    meta = {"kind": "grid", "axes": ["hidden", "lr"], "param_space": {"hidden": [32, 64], "lr": [0.001, 0.003]}}
    trials = user_sweep()
    trials.to_csv(tmp_path / "t.csv", index=False)
    back = pd.read_csv(tmp_path / "t.csv")
    s = summary_table(back, summary_axes(meta, back.columns))
    assert list(s.columns[:4]) == ["model", "length", "hidden", "lr"]
    assert len(s) == 8 and (s["seeds"] == 2).all()
    assert list(zip(s["length"], s["hidden"], s["lr"], strict=True)) == list(
        itertools.product([5, 6], [32, 64], [0.001, 0.003]))
    assert s["eval_accuracy_mean"].tolist() == approx([0.505 + 0.05 * i for i in range(8)])


def test_a_missing_value_is_a_group_of_its_own():
    trials = user_sweep()
    s = summary_table(trials, ["max_norm"])
    assert len(s) == 4 and (s["seeds"] == 4).all()
    assert s["max_norm"].isna().tolist() == [True, False, True, False]  # none first, within each T
    text = trials.assign(max_norm=["none" if math.isnan(v) else v for v in trials["max_norm"]])
    s2 = summary_table(text, ["max_norm"])  # "none" as text is the same group
    assert len(s2) == 4 and s2["eval_accuracy_mean"].tolist() == s["eval_accuracy_mean"].tolist()
    bands = curves_table(trials.assign(step=100), ["max_norm"])
    assert len(bands) == 4 and bands["max_norm"].isna().sum() == 2
    parity = parity_table(pd.concat([trials, trials.assign(length=7)]), ["max_norm"])
    assert parity["max_norm"].isna().tolist() == [True, False]


def test_a_swept_field_missing_from_trials_is_filled_from_curves_or_param_space():
    trials = user_sweep()
    curves = trials.assign(step=100)
    meta = {"axes": ["hidden", "lr", "optimizer"], "param_space": {"hidden": [32, 64], "lr": [0.001, 0.003],
                                                                  "optimizer": ["adam"], "init": ["seed", "xavier"]}}
    t, c = fill_swept_columns(meta, trials.drop(columns=["lr"]), curves.drop(columns=["hidden"]))
    assert t["lr"].tolist() == trials["lr"].tolist() and c["hidden"].tolist() == curves["hidden"].tolist()
    assert (t["optimizer"] == "adam").all() and "init" not in t  # init: swept, found nowhere
    assert missing_axes(meta, t.columns) == ["init"]
    assert len(summary_table(t, summary_axes(meta, t.columns))) == 8


def test_read_study_folder_fills_swept_columns(tmp_path):
    meta = {"name": "x", "kind": "grid", "axes": ["hidden", "lr"]}
    (tmp_path / "study.json").write_text(json.dumps(meta))
    trials = user_sweep()
    trials.drop(columns=["lr"]).to_csv(tmp_path / "trials.csv", index=False)
    trials.assign(step=100).to_csv(tmp_path / "curves.csv", index=False)
    data = read_study_folder(tmp_path)
    assert "lr" in data["trials"] and len(data["summary"]) == 8 and (data["summary"]["seeds"] == 2).all()


# ---- reading a folder ---------------------------------------------------------------------------

def test_read_study_folder(tmp_path):
    (tmp_path / "study.json").write_text(json.dumps({"name": "x", "kind": "grid", "axes": ["model"]}))
    make_trials().to_csv(tmp_path / "trials.csv", index=False)
    make_curves().to_csv(tmp_path / "curves.csv", index=False)
    data = read_study_folder(tmp_path)
    assert set(data) == {"meta", "trials", "curves", "summary", "best"}
    assert data["meta"]["name"] == "x" and len(data["trials"]) == 12 and len(data["curves"]) == 7
    assert len(data["summary"]) == 4 and data["best"] is None


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "no such folder"),
    (lambda p: p.write_text("x"), "not a folder"),
    (lambda p: p.mkdir(), "not a study folder (no study.json)"),
    (lambda p: (p.mkdir(), (p / "study.json").write_text("{}")), "not a study folder (no trials.csv)"),
])
def test_not_a_study(tmp_path, setup, message):
    path = tmp_path / "s"
    setup(path)
    with pytest.raises(NotAStudy, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_study_folder(path)


def test_best_trial_id():
    trials = make_trials()
    assert best_trial_id(trials, {"trial_id": "x"}) == "x"
    assert best_trial_id(trials) == "LSTM5s0"  # accuracy 1.0 (five trials), the first by trial id


def test_top_trials_of_a_search():
    trials = pd.DataFrame({
        "trial_id": ["a", "b", "c", "d", "e"],
        "lr": [0.01, 0.001, 0.002, 0.003, 0.004],
        "eval_accuracy": [0.5, 1.0, 1.0, 0.9, 1.0],
        "steps_to_target": [None, 2000, 1500, None, None],
        "step": [3000, 3500, 3000, 10000, 10000],
        "stopped_by": ["scheduler", "target", "target", "steps", "error"],
        "status": ["TERMINATED"] * 4 + ["ERROR"],
    })
    top = top_trials(trials, ["lr"], n=3)
    # accuracy first, then the trial id (no journal: study.results.search.ID_TIE_BREAK), not the steps to
    # target; an errored trial is not ranked
    assert top["trial_id"].tolist() == ["b", "c", "d"]
    assert top.columns.tolist() == ["trial_id", "lr", "eval_accuracy", "steps_to_target", "step", "stopped_by"]
    assert top["lr"].tolist() == [0.001, 0.002, 0.003]
    assert top_trials(trials, ["lr"], n=3, numbers={"b": 4, "c": 2})["trial_id"].tolist() == ["c", "b", "d"]
    assert ranked_trials(trials.iloc[0:0]).empty


def test_parity_contrast_number_for_number():
    from study.results.summary import parity_table

    rows = []
    acc = {5: [1.0, 0.8], 6: [0.6, 0.4], 7: [0.5, 0.3]}
    for t, values in acc.items():
        for seed, v in enumerate(values):
            rows.append({"model": "RNN", "length": t, "seed": seed, "eval_accuracy": v})
    table = parity_table(pd.DataFrame(rows), ["model"])
    (row,) = table.to_dict("records")
    assert row["length"] == 6 and row["parity"] == "even"
    c = row["contrast"]
    assert c == pytest.approx(0.5 - (0.9 + 0.4) / 2)
    # MOVER from each length's interval: c = m6 - (m5 + m7) / 2
    (m6, l6, u6), (m5, l5, u5), (m7, l7, u7) = ([v.expected for v in interval(acc[t], t)] for t in (6, 5, 7))
    assert row["low"] == pytest.approx(c - math.sqrt((m6 - l6) ** 2 + ((u5 - m5) / 2) ** 2 + ((u7 - m7) / 2) ** 2))
    assert row["high"] == pytest.approx(c + math.sqrt((u6 - m6) ** 2 + ((m5 - l5) / 2) ** 2 + ((m7 - l7) / 2) ** 2))


def test_parity_interval_stays_in_minus_one_one():
    """A difference of accuracies lies in [-1, 1]; so does its interval (the Welch one left it: -2.9 here)."""
    from study.results.summary import parity_table

    acc = {5: [0.1, 0.1, 1.0], 6: [1.0, 1.0, 0.1], 7: [0.1, 0.1, 0.1], 8: [1.0, 1.0, 1.0]}
    trials = pd.DataFrame([{"model": "RNN", "length": t, "seed": s, "eval_accuracy": v, "stopped_by": "steps"}
                           for t, values in acc.items() for s, v in enumerate(values)])
    table = parity_table(trials, ["model"])
    assert len(table) == 2
    assert (table["low"] >= -1).all() and (table["high"] <= 1).all()
    assert (table["low"] <= table["contrast"]).all() and (table["contrast"] <= table["high"]).all()


def test_parity_leaves_out_unfinished_trials():
    from study.results.summary import parity_table

    acc = {5: [1.0, 0.8], 6: [0.6, 0.4], 7: [0.5, 0.3]}
    rows = [{"model": "RNN", "length": t, "seed": s, "eval_accuracy": v, "stopped_by": "steps"}
            for t, values in acc.items() for s, v in enumerate(values)]
    rows.append({"model": "RNN", "length": 6, "seed": 9, "eval_accuracy": 0.0, "stopped_by": "scheduler"})
    assert parity_table(pd.DataFrame(rows), ["model"]).loc[0, "contrast"] == pytest.approx(0.5 - 0.65)


def test_tables_cite_the_exercise_in_docs():
    from study.report import text as report

    for module in (tb, report):
        source = inspect.getsource(module)
        assert "SEED" + ".md" not in source and "docs/exercise.md" in source
