"""study.results.pareto case by case: the mutants that the Pareto tests of test_objectives.py let
through (docs/testing.md, python scripts/mutation.py) each change one of these answers."""

import math

import pandas as pd

from study.results.pareto import (
    front_table,
    non_dominated,
    objective_values,
    pareto_front,
    study_objectives,
    write_pareto,
)

TWO = [("eval_accuracy", "max"), ("steps_to_target", "min")]


def _trials(rows, **more):
    cols = ["trial_id", "model", "length", "status", "eval_accuracy", "steps_to_target", "lr"]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) | more for r in rows])


def test_study_objectives_defaults_and_non_searches():
    assert study_objectives({"kind": "optuna", "search": {"num_samples": 3}}) == [("eval_accuracy", "max")]
    assert study_objectives({"kind": "optuna", "search": {"metric": "eval_loss"}}) == [("eval_loss", "min")]
    assert study_objectives({"kind": "optuna", "search": {"metric": "eval_loss", "mode": "max"}}) == \
        [("eval_loss", "max")]
    assert study_objectives({"kind": "grid", "search": {"metric": "eval_loss"}}) == []
    assert study_objectives({"kind": "optuna"}) == []


def test_objective_values_keep_finished_trials_and_fill_never_reached_as_worst():
    t = _trials([("a", "RNN", 5, "TERMINATED", 0.9, None, 0.1), ("b", "RNN", 5, "ERROR", 1.0, 10, 0.1),
                 ("c", "RNN", 5, "TERMINATED", "x", 20, 0.1)], ).set_index(pd.Index([10, 11, 12]))
    v = objective_values(t, TWO)
    assert list(v.index) == [10] and v.loc[10, "eval_accuracy"] == -0.9 and v.loc[10, "steps_to_target"] == math.inf
    best_late = objective_values(t, [("steps_to_target", "max")])  # never reached is the worst either way
    assert best_late.loc[10, "steps_to_target"] == math.inf and best_late.loc[12, "steps_to_target"] == -20
    no_status = objective_values(t.drop(columns="status"), [("eval_accuracy", "max")])
    assert list(no_status.index) == [10, 11]
    missing = objective_values(t, [("eval_accuracy", "max"), ("grad_norm", "max")])  # a metric not recorded
    assert missing.empty and list(missing.columns) == ["eval_accuracy", "grad_norm"]


def test_non_dominated_keeps_a_lone_row_and_ties():
    assert list(non_dominated(pd.DataFrame({"x": [1.0]}, index=[7]))) == [7]
    assert list(non_dominated(pd.DataFrame({"x": [1.0, 1.0, 2.0], "y": [1.0, 1.0, 0.5]}, index=[1, 2, 3]))) == \
        [1, 2, 3]


def test_pareto_front_edges_and_order():
    t = _trials([("b", "RNN", 5, "TERMINATED", 0.9, 100, 0.1), ("a", "RNN", 5, "TERMINATED", 0.9, 100, 0.2),
                 ("c", "LSTM", 5, "TERMINATED", 0.5, None, 0.1)])
    assert pareto_front(t, []).empty and pareto_front(t.iloc[0:0], TWO).empty
    assert list(pareto_front(t, TWO)["trial_id"]) == ["c", "a", "b"]  # cells in order, ties by trial_id
    assert list(pareto_front(t.drop(columns=["model", "length"]), TWO)["trial_id"]) == ["a", "b"]


def test_write_pareto_and_front_table(tmp_path):
    t = _trials([("a", "RNN", 5, "TERMINATED", 0.9, 100, 0.1), ("b", "RNN", 5, "TERMINATED", 0.8, 50, 0.2)],
                hidden=64)
    front = write_pareto(tmp_path, t, TWO)
    assert list(pd.read_csv(tmp_path / "pareto.csv")["trial_id"]) == list(front["trial_id"]) == ["a", "b"]
    meta = {"kind": "optuna", "axes": ["model", "length", "lr", "momentum"],
            "search": {"objectives": [list(o) for o in TWO]}}
    shown = front_table(meta, t)
    assert list(shown.columns) == ["trial_id", "model", "length", "lr", "eval_accuracy", "steps_to_target"]
    assert list(shown["trial_id"]) == ["a", "b"]  # best first by the first objective
    assert front_table({"kind": "optuna", "search": {"metric": "eval_accuracy"}}, t) is None
