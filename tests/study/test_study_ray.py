"""Real Ray, no mocks: a small grid end to end, and an Optuna search (one Ray for the module)."""

import json

import pandas as pd
import pytest

import study
from palrnn.config import field_names

pytestmark = pytest.mark.ray


def test_small_grid_runs_every_trial_and_writes_complete_tables(ray_session, tmp_path):
    tables = study.run_study(grid="smoke", seeds=2, name="grid", results_dir=str(tmp_path), echo=False,
                             set={"steps": 400, "eval_every": 50, "target": 0.5, "patience": 2})
    trials, curves = tables["trials"], tables["curves"]
    folder = tmp_path / "grid"
    assert len(trials) == 8 and set(trials["status"]) == {"TERMINATED"}
    assert set(trials["model"]) == {"RNN", "LSTM"} and set(trials["length"]) == {5, 6}
    assert set(trials["seed"]) == {0, 1}
    for col in [*field_names(), "trial_id", "step", "eval_accuracy", "train_accuracy", "eval_loss", "train_loss",
                "examples_per_second", "grad_norm", "diverged", "steps_to_target", "stopped_early", "status",
                "stopped_by", "node", "wall_seconds"]:
        assert col in trials.columns, col
    assert trials["wall_seconds"].gt(0).all() and trials["node"].notna().all()
    # Early stopping at the target is on by default and visible in the table.
    early = trials[trials["stopped_by"] == "target"]
    assert (early["step"] < 400).any() and early["steps_to_target"].notna().all()
    full = trials[trials["stopped_by"] == "steps"]
    assert (full["step"] == 400).all()
    # One curve row per trial per evaluation, none twice, up to the trial's last step.
    assert not curves.duplicated(["trial_id", "step"]).any()
    for _, t in trials.iterrows():
        steps = curves.loc[curves["trial_id"] == t["trial_id"], "step"].tolist()
        assert steps == list(range(50, int(t["step"]) + 1, 50))
        curve = curves.loc[curves["trial_id"] == t["trial_id"], "eval_accuracy"]
        assert t["best_eval_accuracy"] == curve.max() >= t["eval_accuracy"]
    # The files on disk, and Ray's own.
    on_disk = pd.read_csv(folder / "trials.csv")
    assert list(on_disk.columns) == list(trials.columns) and len(on_disk) == 8
    assert len(pd.read_csv(folder / "curves.csv")) == len(curves)
    meta = json.loads((folder / "study.json").read_text())
    assert meta["status"] == "complete" and meta["grid"] == "smoke" and meta["axes"] == ["model"]
    assert list(folder.glob("experiment_state-*.json"))
    assert len(list(folder.glob("trial_*"))) == 8
    # The report ran at the end: summary and figures, and the notebook API reads it all back.
    assert (folder / "summary.csv").is_file() and (folder / "figures" / "accuracy_vs_length.png").is_file()
    loaded = study.load_study(folder)
    assert len(loaded["trials"]) == 8 and len(loaded["summary"]) == 4
    assert set(loaded["summary"]["seeds"]) == {2}


def test_full_trains_every_trial_for_all_steps(ray_session, tmp_path):
    tables = study.run_study(grid="smoke", seeds=1, models=["RNN"], lengths=[5], name="full", full=True,
                             results_dir=str(tmp_path), echo=False, report=False,
                             set={"steps": 200, "eval_every": 50, "target": 0.2})
    (row,) = tables["trials"].to_dict("records")
    assert row["step"] == 200 and row["stopped_by"] == "steps" and row["patience"] == 0


def test_optuna_search_runs_and_stores_its_study(ray_session, tmp_path):
    import optuna

    tables = study.run_study(search="optuna", name="opt", results_dir=str(tmp_path), echo=False,
                             model="RNN", length=5, num_samples=4, set={"steps": 150, "eval_every": 50})
    trials = tables["trials"]
    assert len(trials) == 4 and set(trials["model"]) == {"RNN"} and set(trials["length"]) == {5}
    assert trials["hidden"].nunique() > 1 or trials["lr"].nunique() > 1  # Optuna really chose
    folder = tmp_path / "opt"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "optuna.journal")))
    loaded = optuna.load_study(study_name="palrnn", storage=storage)
    assert len(loaded.trials) == 4
    assert {"hidden", "lr", "max_norm", "init", "optimizer"} <= set(loaded.trials[0].params)
    best = json.loads((folder / "best.json").read_text())
    assert best["eval_accuracy"] == trials["eval_accuracy"].max()
    # A trial ends at all its steps, at the target, or cut by ASHA at a rung (Ray marks such a
    # last result done=True as well: "steps" must come from the step reached).
    for row in trials.itertuples():
        assert row.stopped_by in {"steps", "target", "scheduler"}, row
        assert (row.stopped_by == "steps") == (row.step == 150), row
        assert row.stopped_by != "scheduler" or row.step < 150
    assert best["confirm"].startswith("python -m study.run --grid lengths --models RNN --lengths 5 --seeds 5 ")
    for figure in ("optuna_history.png", "best_curve.png"):
        assert (folder / "figures" / figure).is_file(), figure


def test_a_search_with_another_sampler_runs_and_the_journal_names_it(ray_session, tmp_path):
    """CMA-ES over a mixed space (its numbers; the choice sampled at random, seeded), with the
    median stopping rule, for real."""
    import optuna

    tables = study.run_study(search="optuna", name="cma", results_dir=str(tmp_path), echo=False, report=False,
                             model="RNN", length=5, num_samples=4, sampler="cmaes", search_seed=3, scheduler="median",
                             space={"lr": "loguniform:1e-3:3e-2", "hidden": "int:8:32",
                                    "init": "choice:default,xavier"},
                             set={"steps": 100, "eval_every": 50})
    assert len(tables["trials"]) == 4 and tables["trials"]["lr"].nunique() == 4
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "cma" / "optuna.journal")))
    loaded = optuna.load_study(study_name="palrnn", storage=storage)
    assert loaded.user_attrs == {"sampler": "cmaes", "sampler_seed": 3}
    assert len(loaded.trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in loaded.trials)
    assert json.loads((tmp_path / "cma" / "study.json").read_text())["search"]["sampler"] == "cmaes"


@pytest.mark.parametrize("sampler, scheduler", [("random", "hyperband"), ("gp", "none"), ("qmc", "asha")])
def test_every_other_sampler_and_scheduler_runs_a_tiny_search(sampler, scheduler, ray_session, tmp_path):
    """With the test above (CMA-ES, median), the default (TPE, ASHA) and NSGA-II below: every
    sampler and every scheduler runs a real search, and the journal holds its trials."""
    import optuna

    tables = study.run_study(search="optuna", name="s", results_dir=str(tmp_path), echo=False, report=False,
                             model="RNN", length=5, num_samples=3, sampler=sampler, search_seed=1, scheduler=scheduler,
                             space={"lr": "loguniform:1e-3:3e-2", "hidden": "int:8:32"},
                             set={"steps": 100, "eval_every": 50})
    trials = tables["trials"]
    assert len(trials) == 3 and set(trials["status"]) == {"TERMINATED"} and trials["lr"].nunique() == 3
    meta = json.loads((tmp_path / "s" / "study.json").read_text())
    assert (meta["search"]["sampler"], meta["search"]["scheduler"], meta["status"]) == (sampler, scheduler, "complete")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "s" / "optuna.journal")))
    loaded = optuna.load_study(study_name="palrnn", storage=storage)
    assert loaded.user_attrs["sampler"] == sampler
    assert [t.state for t in loaded.trials] == [optuna.trial.TrialState.COMPLETE] * 3


def test_a_two_objective_search_writes_its_pareto_front(ray_session, tmp_path):
    """NSGA-II over held-out accuracy (max) and steps to the target (min), for real: Optuna gets both
    values of every trial (a trial that never reached the target: infinitely many steps), and
    pareto.csv is the non-dominated trials of trials.csv."""
    import math

    import optuna

    from tests.study.test_objectives import brute_front

    tables = study.run_study(search="optuna", name="mo", results_dir=str(tmp_path), echo=False, report=True,
                             model="RNN", length=5, num_samples=6, sampler="nsga2", scheduler="none",
                             metric=["eval_accuracy:max", "steps_to_target:min"],
                             space={"lr": "loguniform:1e-3:3e-2", "hidden": "int:8:32"},
                             set={"steps": 200, "eval_every": 50, "target": 0.5, "patience": 0})
    folder = tmp_path / "mo"
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    assert len(trials) == len(tables["trials"]) == 6 and set(trials["status"]) == {"TERMINATED"}
    assert trials["params"].notna().all() and (trials["params"] > 0).all()
    # Both kinds of trial: some reached the target, some never did.
    assert trials["steps_to_target"].isna().any() and trials["steps_to_target"].notna().any()
    pareto = pd.read_csv(folder / "pareto.csv", dtype={"trial_id": str})
    objectives = [("eval_accuracy", "max"), ("steps_to_target", "min")]
    assert set(pareto["trial_id"]) == brute_front(trials, objectives) and len(pareto) >= 1
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(folder / "optuna.journal")))
    loaded = optuna.load_study(study_name="palrnn", storage=storage)
    assert [d.name for d in loaded.directions] == ["MAXIMIZE", "MINIMIZE"]
    complete = [t for t in loaded.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 6
    by_id = {t.user_attrs["ray_trial_id"]: t.values for t in complete}
    for row in trials.itertuples():
        acc, steps = by_id[row.trial_id]
        assert acc == pytest.approx(row.eval_accuracy)
        assert steps == (math.inf if pd.isna(row.steps_to_target) else row.steps_to_target)
    assert (folder / "figures" / "pareto.png").is_file()
    html = (folder / "report.html").read_text()
    assert "<h2>Pareto front</h2>" in html and 'id="pareto"' in html


@pytest.mark.fault
def test_diverging_trials_are_recorded_and_the_study_ends_well(ray_session, tmp_path, capsys, fault):
    from study.run import main

    code = main(["--grid", "smoke", "--seeds", "2", "--lengths", "5", "--name", "div", "--results-dir", str(tmp_path),
                 "--set", "lr=10", "--set", "max_norm=none", "--set", "steps=300", "--set", "eval_every=100"])
    assert code == 0
    out = capsys.readouterr().out
    assert "4 trials" in out and "4 diverged" in out
    trials = pd.read_csv(tmp_path / "div" / "trials.csv")
    assert trials["diverged"].all() and set(trials["status"]) == {"TERMINATED"}
    assert set(trials["stopped_by"]) == {"diverged"} and (trials["step"] < 300).all()
    summary = pd.read_csv(tmp_path / "div" / "summary.csv")
    assert summary["diverged"].tolist() == [2, 2]  # per model: both seeds
    fault("a diverging trial (lr 10, no clipping)", len(trials),
          "`diverged=True`, `stopped_by=diverged`, the study goes on and exits 0; summary.csv counts it")


TOY = "tests.toy_arch:ToyRNN"  # tests/toy_arch.py: an architecture defined outside palrnn (docs/extending.md)


def test_a_model_defined_outside_palrnn_trains_in_a_one_trial_study(ray_session, tmp_path):
    """A new architecture is one file: named by its import path, it is planned, trained on Ray's
    workers (which import it from the working directory, as palrnn does) and reported like a built-in."""
    tables = study.run_study(models=[TOY], lengths=[4], seeds=1, name="toy", results_dir=str(tmp_path), echo=False,
                             fixed={"hidden": 16, "input": "onehot", "init": "default", "lr": 1e-2, "batch_size": 64,
                                    "steps": 300, "eval_every": 100, "patience": 0})
    trials, summary = tables["trials"], tables["summary"]
    assert trials["model"].tolist() == [TOY] and trials["status"].tolist() == ["TERMINATED"]
    assert trials["step"].tolist() == [300] and trials["eval_accuracy"].iloc[0] >= 0.9  # chance: 0.1
    assert summary["model"].tolist() == [TOY] and summary["seeds"].tolist() == [1]
    assert (tmp_path / "toy" / "report.html").is_file()
    with pytest.raises(study.StudyError, match=r"^--models: model: cannot import 'tests.toy_arch:Nope'"):
        study.plan(models=["tests.toy_arch:Nope"], results_dir=str(tmp_path))
