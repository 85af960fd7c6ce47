"""Studies the user defines, run for real on Ray (tiny budgets, one Ray for the module): a sweep of
two axes, a search space of one's own, a search over several cells, and the Python API."""

import json

import pandas as pd
import pytest

import study
from study.run import main

pytestmark = pytest.mark.ray


def _journal(folder):
    import optuna

    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "optuna.journal")))


def test_a_two_axis_sweep_runs_and_summarises_per_config(ray_session, tmp_path, capsys):
    argv = ["--sweep", "hidden=16,32", "--sweep", "lr=3e-3,1e-2", "--sweep", "length=5,6", "--models", "RNN",
            "--seeds", "2", "--set", "steps=200", "--set", "eval_every=100", "--name", "sweep",
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    folder = tmp_path / "sweep"
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 16 and set(trials["status"]) == {"TERMINATED"}
    assert set(zip(trials["hidden"], trials["lr"], trials["length"], trials["seed"], strict=True)) == {
        (h, lr, t, s) for h in (16, 32) for lr in (3e-3, 1e-2) for t in (5, 6) for s in (0, 1)}
    meta = json.loads((folder / "study.json").read_text())
    assert meta["kind"] == "grid" and meta["axes"] == ["model", "hidden", "lr"] and meta["grid"] == "sweep"
    assert meta["status"] == "complete" and meta["trials"] == 16
    summary = pd.read_csv(folder / "summary.csv")
    keys = ["model", "length", "hidden", "lr"]
    assert len(summary) == 8 and not summary.duplicated(keys).any()
    assert set(map(tuple, summary[keys].itertuples(index=False))) == {
        ("RNN", t, h, lr) for t in (5, 6) for h in (16, 32) for lr in (3e-3, 1e-2)}
    assert (summary["seeds"] == 2).all()
    # The resolved study is in the folder, and plans the identical trials again.
    assert (folder / "study.toml").is_file()
    capsys.readouterr()
    again = study.plan(str(folder), results_dir=str(tmp_path))
    planned = again.trials[["model", "hidden", "lr", "length", "seed", "steps", "eval_every"]]
    assert again.n_trials == 16 and planned.equals(
        study.plan(axes={"hidden": [16, 32], "lr": [3e-3, 1e-2], "length": [5, 6]}, models=["RNN"], seeds=2,
                   fixed={"steps": 200, "eval_every": 100}).trials[list(planned.columns)])
    assert main(["--dry-run", "--study", str(folder / "study.toml")]) == 0
    assert "study sweep (grid, 16 trials)" in capsys.readouterr().out


def test_a_users_search_space_is_exactly_what_optuna_searches(ray_session, tmp_path):
    import optuna

    argv = ["--search", "optuna", "--model", "RNN", "--length", "5", "--space", "lr=loguniform:1e-3:1e-2",
            "--space", "hidden=choice:8,16", "--num-samples", "3", "--set", "steps=150", "--set", "eval_every=50",
            "--name", "space", "--results-dir", str(tmp_path), "--no-report"]
    assert main(argv) == 0
    folder = tmp_path / "space"
    loaded = optuna.load_study(study_name="palrnn", storage=_journal(folder))
    assert len(loaded.trials) == 3
    for t in loaded.trials:
        assert set(t.params) == {"lr", "hidden"}, t.params
        assert 1e-3 <= t.params["lr"] <= 1e-2 and t.params["hidden"] in (8, 16)
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 3 and set(trials["init"]) == {"seed"} and set(trials["optimizer"]) == {"rmsprop"}
    meta = json.loads((folder / "study.json").read_text())
    assert meta["axes"] == ["lr", "hidden"] and meta["search"]["space"] == {"lr": "loguniform:0.001:0.01",
                                                                           "hidden": "choice:8,16"}
    best = json.loads((folder / "best.json").read_text())
    assert best["confirm"].startswith("python -m study.run --grid lengths --models RNN --lengths 5 --seeds 5 ")
    assert f"--set hidden={best['hidden']}" in best["confirm"]


def test_a_search_over_two_cells_runs_one_optuna_study_per_cell_and_resumes(ray_session, tmp_path):
    import optuna

    common = ["--search", "optuna", "--models", "RNN", "LSTM", "--lengths", "5", "--space",
              "lr=loguniform:1e-3:1e-2", "--space", "forget_bias=choice:0,1", "--num-samples", "2",
              "--set", "steps=100", "--set", "eval_every=50", "--set", "hidden=8", "--name", "cells",
              "--results-dir", str(tmp_path), "--no-report", "--scheduler", "off"]
    assert main(common) == 0
    folder = tmp_path / "cells"
    storage = _journal(folder)
    assert sorted(optuna.get_all_study_names(storage)) == ["palrnn-LSTM-T5", "palrnn-RNN-T5"]
    rnn = optuna.load_study(study_name="palrnn-RNN-T5", storage=storage).trials
    lstm = optuna.load_study(study_name="palrnn-LSTM-T5", storage=storage).trials
    assert len(rnn) == len(lstm) == 2
    assert all(set(t.params) == {"lr"} for t in rnn) and all(set(t.params) == {"lr", "forget_bias"} for t in lstm)
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 4 and sorted(trials["model"]) == ["LSTM", "LSTM", "RNN", "RNN"]
    assert (trials["step"] == 100).all()  # no scheduler: every trial all its steps
    assert set(trials[trials["model"] == "RNN"]["forget_bias"]) == {0.0}
    meta = json.loads((folder / "study.json").read_text())
    assert meta["status"] == "complete" and meta["trials"] == 4
    best = json.loads((folder / "best.json").read_text())
    assert set(best["cells"]) == {"RNN-T5", "LSTM-T5"}
    assert best["cells"]["LSTM-T5"]["confirm"].endswith("--name cells-confirm-LSTM-T5")
    assert "--set forget_bias=" not in best["cells"]["RNN-T5"]["confirm"]
    results = {p: p.read_text() for p in folder.glob("cells/*/trial_*/result.json")}
    assert len(results) == 4
    # --resume of the finished study restores both cells and reruns nothing.
    assert main([*common, "--resume"]) == 0
    assert {p: p.read_text() for p in folder.glob("cells/*/trial_*/result.json")} == results
    assert len(pd.read_csv(folder / "trials.csv")) == 4
    assert json.loads((folder / "study.json").read_text())["status"] == "complete"


def test_run_study_takes_the_files_keys(ray_session, tmp_path):
    tables = study.run_study(axes={"hidden": [8, 16]}, models=["RNN"], lengths=[5], seeds=1,
                             fixed={"steps": 100, "eval_every": 50}, name="api", results_dir=str(tmp_path),
                             echo=False, report=False)
    trials = tables["trials"]
    assert len(trials) == 2 and sorted(trials["hidden"]) == [8, 16] and tables["status"] == "complete"
    assert (trials["step"] == 100).all() or (trials["stopped_by"] == "target").any()
    meta = json.loads((tmp_path / "api" / "study.json").read_text())
    assert meta["command"].startswith("study.plan(axes={'hidden': [8, 16]}") and meta["axes"] == ["model", "hidden"]
    again = study.plan(str(tmp_path / "api"), results_dir=str(tmp_path))
    assert again.param_space == meta["param_space"]
    with pytest.raises(study.StudyError, match="--name: .* already exists"):
        study.run_study(axes={"hidden": [8, 16]}, name="api", results_dir=str(tmp_path))
