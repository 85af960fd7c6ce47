"""Several objectives: --metric NAME[:max|min], repeatable, in study files and the API; the Pareto
front computed from trials.csv; bad input refused in one line. Planning and tables only (no Ray);
a real search of two objectives: tests/study/test_study_ray.py."""

import itertools
import json
import math

import pandas as pd
import pytest

import study
from study.results.pareto import objective_values, pareto_front, study_objectives
from study.spec.objectives import parse_objectives

SPACE = {"lr": "loguniform:1e-4:3e-2", "hidden": "int:16:64"}
TWO = ["eval_accuracy:max", "steps_to_target:min"]


def brute_front(trials, objectives):
    """The non-dominated finished trials of each model x length cell, by the definition, pair by pair."""
    def value(row, metric, mode):
        v = row[metric]
        if metric == "steps_to_target" and (v is None or v != v):
            v = math.inf
        return v if mode == "min" else -v

    rows = [r for _, r in trials.iterrows() if r["status"] == "TERMINATED"]
    keep = []
    for a in rows:
        va = [value(a, m, d) for m, d in objectives]
        beaten = False
        for b in rows:
            if b is a or (b["model"], b["length"]) != (a["model"], a["length"]):
                continue
            vb = [value(b, m, d) for m, d in objectives]
            if all(x <= y for x, y in zip(vb, va, strict=True)) and any(x < y for x, y in zip(vb, va, strict=True)):
                beaten = True
        if not beaten:
            keep.append(a["trial_id"])
    return set(keep)


def test_objectives_parse_with_their_directions():
    assert parse_objectives("eval_accuracy") == [("eval_accuracy", "max")]
    assert parse_objectives(TWO) == [("eval_accuracy", "max"), ("steps_to_target", "min")]
    assert parse_objectives(["eval_loss", "params", "wall_seconds"]) == [
        ("eval_loss", "min"), ("params", "min"), ("wall_seconds", "min")]
    assert parse_objectives(["examples_per_second:max"]) == [("examples_per_second", "max")]


def test_a_two_objective_search_plans_and_round_trips(tmp_path, no_ray):
    from study.planning.kinds.search import SearchPlan

    p = study.plan(search="optuna", model="RNN", length=5, num_samples=3, metric=TWO, scheduler="none", space=SPACE,
                   sampler="nsga2", results_dir=str(tmp_path))
    s = p.search.settings
    assert s.objectives == [("eval_accuracy", "max"), ("steps_to_target", "min")]
    meta = p.search.to_meta()
    assert meta["objectives"] == [["eval_accuracy", "max"], ["steps_to_target", "min"]]
    assert SearchPlan.from_meta(meta, p.param_space).settings.objectives == s.objectives  # --resume
    text = p.text()
    assert "objectives eval_accuracy (max), steps_to_target (min) (a Pareto front)" in text.replace("\n  ", " ")
    # The resolved study file plans the same search again.
    from study.spec.studyfile import from_dict, to_dict

    assert from_dict(to_dict(p.study), "x").search.objectives == s.objectives
    assert study_objectives({"kind": "optuna", "search": meta}) == s.objectives


def test_a_scheduler_ranks_by_the_first_objective_and_says_so(tmp_path, no_ray):
    from study.engine.schedulers import scheduler
    from study.engine.spec import TunerSpec

    p = study.plan(search="optuna", model="RNN", length=5, num_samples=3, metric=["eval_loss", "params"],
                   scheduler="asha", space=SPACE, results_dir=str(tmp_path), set={"steps": 900, "eval_every": 100})
    built = scheduler(TunerSpec(p))
    assert (built._metric, built._mode) == ("eval_loss", "min")
    assert "ASHA cutting poor trials by eval_loss, the first objective" in p.text().replace("\n  ", " ")


def test_a_study_file_takes_a_list_of_metrics(tmp_path, no_ray):
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[fixed]\nmodel = "RNN"\nlength = 5\n[search]\nnum_samples = 2\nscheduler = "none"\n'
                    'metric = ["eval_accuracy:max", "params:min"]\n[search.space]\nlr = "loguniform:1e-4:3e-2"\n')
    assert study.plan(path).search.settings.objectives == [("eval_accuracy", "max"), ("params", "min")]


def _trials():
    rows = []
    for i, (acc, steps, model) in enumerate([(1.0, 900, "RNN"), (1.0, 1200, "RNN"), (0.9, 400, "RNN"),
                                             (0.5, None, "RNN"), (0.95, None, "RNN"), (0.9, 400, "RNN"),
                                             (0.2, None, "LSTM"), (0.3, None, "LSTM"), (1.0, 300, "RNN")]):
        rows.append({"trial_id": f"t{i}", "model": model, "length": 5, "eval_accuracy": acc,
                     "steps_to_target": steps, "steps": 2000, "status": "TERMINATED"})
    rows.append({"trial_id": "err", "model": "RNN", "length": 5, "eval_accuracy": 1.0, "steps_to_target": 100,
                 "steps": 2000, "status": "ERROR"})
    return pd.DataFrame(rows)


def test_the_front_is_the_non_dominated_finished_trials_of_each_cell():
    trials = _trials()
    objectives = [("eval_accuracy", "max"), ("steps_to_target", "min")]
    front = pareto_front(trials, objectives)
    ids = set(front["trial_id"])
    assert ids == brute_front(trials, objectives)
    # t8 (1.0 at 300 steps) beats every other RNN trial but t2/t5 (0.9 at 400: beaten too);
    # the errored trial is not a finished one; the LSTM cell has a front of its own.
    assert ids == {"t8", "t7"}
    assert list(front.columns) == list(trials.columns)  # rows of trials.csv, whole
    # A trial that never reached the target is infinitely slow, not missing.
    assert objective_values(trials, objectives).loc[3, "steps_to_target"] == math.inf


def test_ties_dominate_only_when_one_objective_is_strictly_better():
    """Equal on one objective and better on the other dominates; equal on both does not (either way)."""
    rows = [("a", 0.8, 500), ("b", 0.8, 700),  # b: a's accuracy, slower: dominated by a
            ("c", 0.9, 900), ("d", 0.9, 900),  # c and d: equal on both, neither dominates the other
            ("e", 0.7, 500),                   # e: a's steps, less accurate: dominated by a
            ("f", 0.9, None)]                  # f: c's accuracy, never reached the target: dominated by c
    trials = pd.DataFrame([{"trial_id": t, "model": "RNN", "length": 10, "eval_accuracy": acc,
                            "steps_to_target": steps, "status": "TERMINATED"} for t, acc, steps in rows])
    objectives = [("eval_accuracy", "max"), ("steps_to_target", "min")]
    front = pareto_front(trials, objectives)
    # Best first by the first objective, ties by trial id.
    assert list(front["trial_id"]) == ["c", "d", "a"]
    assert set(front["trial_id"]) == brute_front(trials, objectives)


@pytest.mark.parametrize("seed", range(5))
def test_the_front_matches_the_definition_on_random_trials(seed):
    import random

    rng = random.Random(seed)
    trials = pd.DataFrame([{"trial_id": f"t{i}", "model": rng.choice(["RNN", "LSTM"]), "length": 5,
                            "eval_accuracy": rng.choice([0.1, 0.5, 0.9, 1.0]),
                            "steps_to_target": rng.choice([None, 500, 1000, 1500]),
                            "params": rng.choice([100, 200, 300]), "status": "TERMINATED"} for i in range(30)])
    for objectives in itertools.islice(itertools.permutations(
            [("eval_accuracy", "max"), ("steps_to_target", "min"), ("params", "min")], 2), 3):
        assert set(pareto_front(trials, list(objectives))["trial_id"]) == brute_front(trials, list(objectives))


@pytest.mark.parametrize("argv, words", [
    (["--metric", "eval_accuracy:up"], "--metric: eval_accuracy: the direction must be max or min, got 'up'"),
    (["--metric", "accuracy"], "--metric: must be one of eval_accuracy, eval_loss"),
    (["--metric", "eval_accuracy", "--metric", "eval_accuracy:min"], "--metric: eval_accuracy is given twice"),
    (["--metric", "steps_to_target:min"], "--metric: asha ranks trials by the first metric as they train, and "
                                          "steps_to_target is known only once a trial reaches the target"),
    (["--metric", "steps_to_target", "--scheduler", "median"], "--scheduler: median ranks trials by the first"),
    (["--metric", "eval_accuracy", "--metric", "params", "--sampler", "cmaes", "--space", "lr=loguniform:1e-4:1e-2"],
     "--sampler: cmaes searches one objective only, and 2 metrics are given; use tpe, nsga2, gp, qmc or random"),
    (["--metric", "eval_accuracy", "--metric", "params", "--mode", "max"],
     "--mode: not with several metrics or NAME:max|min; give each --metric its direction"),
    (["--metric", "eval_accuracy", "--grid", "smoke"], "--metric: only with --search"),
])
def test_bad_objectives_are_one_line_exit_2_nothing_written(argv, words, refused_by_run):
    refused_by_run([*([] if "--grid" in argv else ["--search", "optuna"]), *argv], words)


def test_a_study_files_bad_metrics_name_the_key(tmp_path, no_ray):
    path = tmp_path / "s.toml"
    for metric, words in [('["eval_accuracy", "nope"]', "[search] metric: must be one of"),
                          ('["eval_accuracy:max", "params:min"]\nmode = "max"', "[search] mode: give each metric"),
                          ('"steps_to_target"', "[search] scheduler: asha ranks trials by the first metric")]:
        path.write_text(f'name = "s"\n[search]\nmetric = {metric}\n[search.space]\nlr = "loguniform:1e-4:3e-2"\n')
        with pytest.raises(study.StudyError) as exc:
            study.plan(path)
        assert words in str(exc.value), str(exc.value)


def test_study_json_of_a_single_objective_search_reads_as_one_objective():
    meta = json.loads(open("results/reference-search-rnn20/study.json").read())
    assert study_objectives(meta) == [("eval_accuracy", "max")]
    assert study_objectives({"kind": "grid", "search": {}}) == []


def test_the_pareto_figure_draws_every_cell_with_its_front_by_labels():
    from study.report.plots import plot_pareto

    trials = _trials()
    objectives = [("eval_accuracy", "max"), ("steps_to_target", "min")]
    fig = plot_pareto(trials, pareto_front(trials, objectives), objectives)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["model=RNN, length=5", "model=LSTM, length=5"]
    assert all(ax.get_xlabel() == "eval_accuracy (max)" and ax.get_ylabel() == "steps_to_target (min)" for ax in axes)
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in axes]
    assert "Pareto front (1 trial)" in legends[0] and "Pareto front (1 trial)" in legends[1]
    # The LSTM trials never reached the target: drawn at their step budget, and said so.
    assert any("never reached the target" in t for t in legends[1])
    front_line = [ln for ln in axes[0].get_lines() if ln.get_label().startswith("Pareto front")][0]
    assert list(front_line.get_xdata()) == [1.0] and list(front_line.get_ydata()) == [300]
