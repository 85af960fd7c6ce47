"""A study's final status says what really happened: a search that ran fewer trials than it
planned, or a grid whose trials Ray ended short of their steps, is interrupted, not complete."""

import json

import pandas as pd

import study
from study.driver.finish import finish, study_meta
from study.results.trials import trial_tables


def _row(trial_id, step, stopped_by, steps=100, status="TERMINATED"):
    return {"trial_id": trial_id, "model": "RNN", "length": 5, "seed": 0, "steps": steps, "step": step,
            "status": status, "stopped_by": stopped_by, "diverged": False, "eval_accuracy": 0.5,
            "steps_to_target": None}


def _finish(plan, rows):
    plan.folder.mkdir(parents=True)
    (plan.folder / "study.json").write_text(json.dumps(study_meta(plan)))
    trials = pd.DataFrame(rows)
    tables = finish(plan, trials, pd.DataFrame(columns=["trial_id", "step"]), 1.0, report=False, echo=False)
    return tables, json.loads((plan.folder / "study.json").read_text())


def test_a_search_that_ran_fewer_trials_than_planned_is_interrupted(tmp_path):
    plan = study.plan(search="optuna", models=["RNN"], lengths=[5], num_samples=5, set={"steps": 100},
                      results_dir=str(tmp_path), name="s")
    tables, meta = _finish(plan, [_row("a", 100, "steps"), _row("b", 30, "scheduler"), _row("c", 100, "steps")])
    assert meta["status"] == tables["status"] == "interrupted"  # 3 of 5 samples: not complete
    assert tables["unfinished"] == 2


def test_a_search_that_ran_every_trial_is_complete_even_with_trials_cut_by_asha(tmp_path):
    plan = study.plan(search="optuna", models=["RNN"], lengths=[5], num_samples=2, set={"steps": 100},
                      results_dir=str(tmp_path), name="s")
    tables, meta = _finish(plan, [_row("a", 100, "steps"), _row("b", 30, "scheduler")])
    assert meta["status"] == "complete" and tables["unfinished"] == 0


def _ray_tables(scheduled):
    """Two trials as Ray ends them (both TERMINATED, one short of its steps), tabulated by the adapter."""

    config = {"model": "RNN", "length": 5, "seed": 0, "steps": 100}
    entries = [(tid, config, {"step": step, "diverged": False, "stopped_early": False}, None, "TERMINATED", None)
               for tid, step in (("a", 100), ("b", 40))]
    return trial_tables(entries, list(config), scheduled)[0]


def test_a_grid_trial_ended_short_of_its_steps_is_unfinished_not_cut(tmp_path):
    plan = study.plan(grid="smoke", models=["RNN"], lengths=[5], seeds=2, set={"steps": 100},
                      results_dir=str(tmp_path), name="g")
    trials = _ray_tables(scheduled=False)  # what collect() gives a grid: no scheduler cuts its trials
    assert list(trials["stopped_by"]) == ["steps", "unfinished"]
    assert list(_ray_tables(scheduled=True)["stopped_by"]) == ["steps", "scheduler"]  # a search's: ASHA cut it
    tables, meta = _finish(plan, trials.to_dict("records"))
    assert meta["status"] == "interrupted"  # nothing cuts a grid's trials: Ray stopped it, --resume goes on
    assert list(tables["trials"]["stopped_by"]) == ["steps", "unfinished"]


def test_a_study_with_an_errored_trial_is_failed_not_complete(tmp_path):
    plan = study.plan(grid="smoke", models=["RNN"], lengths=[5], seeds=2, set={"steps": 100},
                      results_dir=str(tmp_path), name="e")
    tables, meta = _finish(plan, [_row("a", 100, "steps"), _row("b", 40, "error", status="ERROR")])
    assert meta["status"] == "failed" and tables["errors"] == 1
