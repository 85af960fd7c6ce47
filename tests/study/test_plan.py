"""Planning, in process and without Ray: sweeps, study files, search spaces, dry runs, the API, and
bad input (one line, exit status 2, nothing written, ray.init never called)."""

import itertools
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import study
from palrnn.config import Config
from study import run
from study.basics.errors import StudyError
from study.driver.finish import study_meta, study_toml
from study.planning.build import plan_from_args
from study.planning.overlay import KEYWORDS
from study.run import main
from study.spec.catalogue import default_space, shipped
from study.spec.fields import EXERCISE
from study.spec.load import load
from study.spec.space import for_model
from study.spec.studyfile import to_toml

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"

# The named grids as study/grids.py defined them in code before they became study files.
OLD_GRIDS = {
    "lengths": ({"model": ["RNN", "LSTM"], "length": [5, 6, 7, 8, 9, 10]}, {}),
    "init": ({"model": ["RNN", "LSTM"], "init": ["seed", "default", "xavier", "orthogonal"],
              "length": [5, 10, 15, 20]}, {}),
    "hidden": ({"model": ["RNN", "LSTM"], "hidden": [32, 64, 128, 256], "length": [5, 10, 15]}, {}),
    "lr": ({"model": ["RNN", "LSTM"], "lr": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], "length": [5, 10, 15]}, {}),
    "clip": ({"model": ["RNN", "LSTM"], "max_norm": [None, 1.0, 10.0], "length": [5, 10, 15]}, {}),
    "optimizer": ({"model": ["RNN", "LSTM"], "optimizer": ["rmsprop", "adam", "sgd"], "length": [5, 10, 15]}, {}),
    "forget": ({"model": ["LSTM"], "init": ["seed", "xavier"], "forget_bias": [0.0, 1.0], "length": [10, 20, 30]},
               {}),
    "smoke": ({"model": ["RNN", "LSTM"], "length": [5, 6]},
              {"init": "default", "hidden": 16, "steps": 300, "eval_every": 100, "lr": 3e-3}),
}
COUNTS = {"lengths": 36, "init": 96, "hidden": 72, "lr": 90, "clip": 54, "optimizer": 54, "forget": 36, "smoke": 12}
# The Optuna space as study/search.py defined it in code.
OLD_SPACE = {"hidden": ("choice", [32, 64, 128, 256]), "lr": ("loguniform", (1e-4, 3e-2)),
             "max_norm": ("choice", [None, 1.0, 10.0, 100.0]),
             "init": ("choice", ["seed", "default", "xavier", "orthogonal"]),
             "optimizer": ("choice", ["rmsprop", "adam", "sgd"])}

SWEEP_ARGV = ["--sweep", "hidden=16,32", "--sweep", "lr=3e-3,1e-2", "--sweep", "length=5,6", "--models", "RNN",
              "--seeds", "2", "--set", "steps=200"]
SWEEP_TOML = """
name = "sweep"
seeds = 2

[fixed]
steps = 200

[axes]
model = ["RNN"]
hidden = [16, 32]
lr = [3e-3, 1e-2]
length = [5, 6]
"""


def _cli_plan(argv, tmp_path=None):
    argv = [*argv, "--results-dir", str(tmp_path)] if tmp_path is not None else list(argv)
    return plan_from_args(run.build_parser().parse_args(argv), argv)


def _same_space(planned, stored):
    """The stored param_space, and the fields palrnn gained since at their defaults (forget_bias)."""
    newer = {k: v for k, v in planned.items() if k not in stored}
    defaults = Config().to_dict()
    return {k: planned[k] for k in stored} == stored and all(defaults[k] == v for k, v in newer.items())


def _listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


# ---- equivalence: the command line, a study file, Python ---------------------------------------


def test_cli_sweep_and_the_same_toml_file_give_identical_dry_runs(tmp_path, capsys, no_ray, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text(SWEEP_TOML)
    assert main(["--dry-run", *SWEEP_ARGV]) == 0
    from_cli = capsys.readouterr().out
    assert main(["--dry-run", "--study", "mine.toml"]) == 0
    from_file = capsys.readouterr().out
    assert from_cli == from_file
    lines = from_cli.splitlines()
    assert lines[0].startswith("study sweep (grid, 16 trials): model {RNN} x hidden {16, 32} x lr {0.003, 0.01}")
    assert "every trial, besides the exercise's settings: steps=200" in lines
    header = next(i for i, line in enumerate(lines) if line.split() == ["trial", "model", "hidden", "lr", "length",
                                                                        "seed"])
    rows = [line.split() for line in lines[header + 1:header + 17]]
    assert rows[0] == ["0", "RNN", "16", "0.003", "5", "0"] and rows[-1] == ["15", "RNN", "32", "0.01", "6", "1"]
    assert {tuple(r[2:]) for r in rows} == {(h, lr, t, s) for h in ("16", "32") for lr in ("0.003", "0.01")
                                            for t in ("5", "6") for s in ("0", "1")}
    assert "16 trials" in lines and all(len(line) <= 100 for line in lines)
    assert _listing(tmp_path) == [Path("mine.toml")]  # nothing written

    cli, file = _cli_plan(SWEEP_ARGV, tmp_path), _cli_plan(["--study", str(tmp_path / "mine.toml")], tmp_path)
    api = study.plan(axes={"hidden": [16, 32], "lr": [3e-3, 1e-2], "length": [5, 6]}, models=["RNN"], seeds=2,
                     fixed={"steps": 200}, results_dir=str(tmp_path))
    for other in (file, api):
        assert other.trials.equals(cli.trials)
        assert other.param_space == cli.param_space and other.grid_axes == cli.grid_axes
        assert other.axes == cli.axes == ["model", "hidden", "lr"]
    assert len(cli.trials) == cli.n_trials == 16 and set(cli.trials["steps"]) == {200}


@pytest.mark.parametrize("name", list(OLD_GRIDS))
def test_every_shipped_grid_plans_exactly_the_trials_of_before(name, tmp_path):
    axes, fixed = OLD_GRIDS[name]
    plan = _cli_plan(["--grid", name], tmp_path)
    assert plan.n_trials == len(plan.trials) == COUNTS[name]
    base = Config.from_dict({**EXERCISE, "patience": 3, **fixed}).to_dict()
    names = [*axes, "seed"]
    before = [{**base, **dict(zip(names, combo, strict=True))}
              for combo in itertools.product(*axes.values(), range(3))]
    assert plan.trials.to_dict("records") == before  # the same trials, in the same order
    assert plan.grid_axes == names and plan.axes == [k for k in axes if k != "length"] and plan.grid == name
    assert {**EXERCISE, **shipped()[name].fixed} == {**EXERCISE, **fixed}


def test_the_default_search_is_the_one_of_before_and_replans_the_reference_search(tmp_path):
    assert for_model(default_space(), "RNN") == OLD_SPACE
    assert for_model(default_space(), "LSTM") == {**OLD_SPACE, "forget_bias": ("choice", [0.0, 1.0, 2.0])}
    assert list(for_model(default_space(), "GRU")) == list(OLD_SPACE)
    meta = json.loads((RESULTS / "reference-search-rnn20" / "study.json").read_text())
    plan = _cli_plan(["--search", "optuna", "--model", "RNN", "--length", "20", "--num-samples", "40"], tmp_path)
    assert _same_space(plan.param_space, meta["param_space"]) and plan.axes == meta["axes"] and plan.kind == "optuna"
    # The reference was planned before schedulers had names (true: ASHA) and samplers a choice (TPE).
    old = meta["search"]["scheduler"]
    expected = {**meta["search"], "scheduler": "asha" if old is True else old}
    search = plan.search.to_meta()
    assert {k: search[k] for k in expected} == expected and search["sampler"] == "tpe"
    assert plan.cells == [{"model": "RNN", "length": 20, "study_name": "palrnn", "experiment": None}]


def test_a_search_over_several_cells_plans_one_optuna_study_per_cell(tmp_path):
    plan = _cli_plan(["--search", "optuna", "--models", "RNN", "LSTM", "--lengths", "5", "10", "--num-samples", "3",
                      "--space", "lr=loguniform:1e-3:1e-2", "--space", "forget_bias=choice:0,1"], tmp_path)
    assert plan.n_trials == len(plan.trials) == 12
    assert [(c["model"], c["length"], c["study_name"], c["experiment"]) for c in plan.cells] == [
        ("RNN", 5, "palrnn-RNN-T5", "cells/RNN-T5"), ("RNN", 10, "palrnn-RNN-T10", "cells/RNN-T10"),
        ("LSTM", 5, "palrnn-LSTM-T5", "cells/LSTM-T5"), ("LSTM", 10, "palrnn-LSTM-T10", "cells/LSTM-T10")]
    assert list(plan.space("RNN")) == ["lr"] and list(plan.space("LSTM")) == ["lr", "forget_bias"]
    assert plan.axes == ["lr", "forget_bias"] and plan.param_space["model"] == ["RNN", "LSTM"]
    rnn = plan.trials[plan.trials["model"] == "RNN"]
    assert set(rnn["lr"]) == {"loguniform:0.001:0.01"} and set(rnn["forget_bias"]) == {0.0}


def test_a_sweep_adds_or_replaces_an_axis_of_a_grid_and_set_removes_one(tmp_path):
    plan = _cli_plan(["--grid", "hidden", "--sweep", "hidden=16,32", "--sweep", "lr=1e-3,3e-3"], tmp_path)
    assert plan.grid_axes == ["model", "hidden", "lr", "length", "seed"] and plan.param_space["hidden"] == [16, 32]
    assert plan.n_trials == 2 * 2 * 2 * 3 * 3
    fixed = _cli_plan(["--grid", "hidden", "--set", "hidden=64"], tmp_path)
    assert "hidden" not in fixed.grid_axes and fixed.param_space["hidden"] == 64 and fixed.n_trials == 18
    none = _cli_plan(["--sweep", "max_norm=none,1", "--sweep", "model=GRU", "--lengths", "5"], tmp_path)
    assert none.param_space["max_norm"] == [None, 1.0] and none.param_space["model"] == ["GRU"]
    assert none.grid == "sweep" and none.n_trials == 6


def test_the_resolved_study_file_replans_the_identical_trials(tmp_path):
    plans = [_cli_plan(["--grid", g], tmp_path) for g in OLD_GRIDS]
    plans += [_cli_plan(SWEEP_ARGV, tmp_path), _cli_plan(["--grid", "clip", "--smoke-test"], tmp_path),
              _cli_plan(["--search", "optuna", "--models", "RNN", "GRU", "--set", "steps=500", "--full",
                         "--space", "hidden=int:8:64", "--space", "momentum=uniform:0.5:0.95", "--scheduler",
                         "off", "--metric", "eval_loss"], tmp_path)]
    for i, plan in enumerate(plans):
        path = tmp_path / f"s{i}" / "study.toml"
        path.parent.mkdir()
        path.write_text(study_toml(plan))
        again = _cli_plan(["--study", str(path.parent)], tmp_path)  # a study folder: its study.toml
        assert again.trials.equals(plan.trials), plan.command
        for key in ("kind", "grid", "axes", "param_space", "grid_axes", "search", "target"):
            assert again.to_meta()[key] == plan.to_meta()[key], (plan.command, key)
    search = load(tmp_path / f"s{len(plans) - 1}" / "study.toml")
    assert search.search.metric == "eval_loss" and search.search.mode == "min" and search.search.scheduler == "none"
    assert search.search.space["hidden"] == ("int", (8, 64))


@pytest.mark.parametrize("name,count", [("reference-init", 96), ("reference-lengths", 60), ("reference-forget", 36)])
def test_a_study_folder_from_before_study_files_replans_its_trials(name, count, tmp_path):
    # The study.json the three references had when they were made, before study files (kept as
    # fixtures: the references themselves have been run again since).
    folder = Path(__file__).resolve().parents[1] / "fixtures" / "before-study-files" / name
    meta = json.loads((folder / "study.json").read_text())
    assert "provenance" not in meta and "study.toml" not in {p.name for p in folder.iterdir()}
    plan = _cli_plan(["--study", str(folder)], tmp_path)
    assert plan.n_trials == meta["trials"] == count and _same_space(plan.param_space, meta["param_space"])
    assert plan.grid_axes == meta["grid_axes"] and plan.axes == meta["axes"]


def test_dry_run_of_a_search_writes_nothing_and_starts_no_ray(tmp_path, capsys, no_ray):
    before = _listing(tmp_path)
    assert main(["--dry-run", "--search", "optuna", "--models", "RNN", "LSTM", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "study optuna (Optuna search, 80 trials): 2 cells x 40 samples" in out
    assert "forget_bias in {0, 1, 2} (LSTM only)" in out and out.rstrip().endswith("nothing written")
    rows = [line.split(None, 4) for line in out.splitlines() if line.strip().startswith(("0  ", "1  "))]
    assert rows == [["0", "RNN", "20", "40", "hidden, lr, max_norm, init, optimizer"],
                    ["1", "LSTM", "20", "40", "hidden, lr, max_norm, init, optimizer, forget_bias"]]
    assert all(len(line) <= 100 for line in out.splitlines())
    assert _listing(tmp_path) == before


def test_list_describes_a_users_file_as_the_shipped_ones(tmp_path, capsys):
    (tmp_path / "mine.toml").write_text(SWEEP_TOML.replace('name = "sweep"', 'name = "mine"\ndescription = "mine"'))
    assert main(["--list", str(tmp_path / "mine.toml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "mine         16 trials (2 seeds)  mine"
    assert " ".join(out[1:-1]).split() == ["axes:", "model", "{RNN}", "x", "hidden", "{16,", "32}", "x", "lr",
                                           "{0.003,", "0.01}", "x", "length", "{5,", "6}", "x", "seed", "0..N-1"]
    assert out[-1].split() == ["fixed:", "steps=200"] and all(len(line) <= 100 for line in out)
    assert main(["--list"]) == 0
    shipped = capsys.readouterr().out
    assert "optuna       40 trials (RNN T=20: 40 samples)" in shipped and "smoke        12 trials" in shipped


def test_smoke_test_keeps_a_grids_axes_and_an_explicit_seeds(tmp_path):
    plan = _cli_plan(["--grid", "hidden", "--smoke-test"], tmp_path)
    assert plan.param_space["hidden"] == [32, 64, 128, 256] and plan.param_space["steps"] == 200
    assert plan.param_space["seed"] == [0]
    assert _cli_plan(["--smoke-test", "--seeds", "2"], tmp_path).param_space["seed"] == [0, 1]
    search = _cli_plan(["--search", "optuna", "--smoke-test"], tmp_path)
    assert search.param_space["steps"] == 200 and search.param_space["hidden"] == 128  # hidden is searched


def test_resume_accepts_the_options_of_its_study_and_refuses_others(tmp_path, capsys, no_ray):
    argv = ["--grid", "smoke", "--seeds", "2", "--set", "steps=300", "--name", "r", "--full"]
    plan = _cli_plan(argv, tmp_path)
    plan.folder.mkdir(parents=True)
    (plan.folder / "study.json").write_text(json.dumps(study_meta(plan)))
    again = _cli_plan([*argv, "--resume", "--num-cpus", "2"], tmp_path)
    assert again.resume and again.param_space == plan.param_space and again.options.num_cpus == 2
    alone = _cli_plan(["--resume", "--name", "r"], tmp_path)
    assert alone.param_space == plan.param_space
    with pytest.raises(StudyError, match=r"--resume: these options plan another study than 'r' \(steps: 400 here, "
                                         r"300 in its study.json\)"):
        _cli_plan(["--grid", "smoke", "--seeds", "2", "--set", "steps=400", "--name", "r", "--full", "--resume"],
                  tmp_path)
    with pytest.raises(StudyError, match=r"\(--max-failures: 5 here, 2 in its study.json\)"):
        _cli_plan(["--resume", "--name", "r", "--max-failures", "5"], tmp_path)


# ---- bad input: one line, exit 2, nothing written, no Ray ----------------------------------------

GRID_FILE = 'name = "g"\n[axes]\nhidden = [16, 32]\n'
FILES = {
    "malformed.toml": 'name = "x"\n[axes\nhidden = [1]\n',
    "unknown.toml": 'name = "x"\naxis = {hidden = [16]}\n',
    "unknown_search.toml": '[search]\nsamples = 3\n[search.space]\nlr = "loguniform:1e-4:1e-2"\n',
    "seeds_type.toml": 'seeds = "3"\n',
    "axis_not_list.toml": "[axes]\nhidden = 64\n",
    "axis_text.toml": '[axes]\nhidden = ["64"]\n',
    "axis_float.toml": "[axes]\nhidden = [64.0]\n",
    "axis_empty.toml": "[axes]\nhidden = []\n",
    "lr_zero.toml": "[axes]\nlr = [0.0, 1e-3]\n",
    "momentum.toml": "[fixed]\nmomentum = 1.0\n",
    "bad_dist.toml": '[search]\n[search.space]\nlr = "loguniform:0:1"\n',
    "fixed_field.toml": "[fixed]\nnosuch = 1\n",
    "both.toml": "[fixed]\nhidden = 64\n[axes]\nhidden = [16, 32]\n",
    "search_seeds.toml": 'seeds = 2\n[search]\n[search.space]\nlr = "loguniform:1e-4:1e-2"\n',
    "search_axes.toml": '[axes]\nhidden = [16, 32]\n[search]\n[search.space]\nlr = "loguniform:1e-4:1e-2"\n',
    "num_samples.toml": '[search]\nnum_samples = 0\n[search.space]\nlr = "loguniform:1e-4:1e-2"\n',
    "scheduler.toml": '[search]\nscheduler = "yes"\n[search.space]\nlr = "loguniform:1e-4:1e-2"\n',
    "metric.toml": '[search]\nmetric = "accuracy"\n[search.space]\nlr = "loguniform:1e-4:1e-2"\n',
    "name.toml": 'name = "../x"\n',
    "chrono.toml": '[fixed]\ninit = "chrono"\n[axes]\nmodel = ["RNN", "LSTM"]\n',
    "grid.toml": GRID_FILE,
    "frontier.toml": '[axes]\nmodel = ["LSTM"]\n[frontier]\nsolve_rule = "2/3"\n',
    "frontier_rule.toml": '[frontier]\nsolve_rule = "5/4"\n',
    "frontier_key.toml": '[frontier]\nrule = "4/5"\n',
    "frontier_max.toml": "[frontier]\nstart_length = 10\nmax_length = 8\n",
    "frontier_seeds.toml": "seeds = 3\n[frontier]\n",
    "frontier_length.toml": "[axes]\nlength = [5, 6]\n[frontier]\n",
    "frontier_search.toml": '[frontier]\n[search]\n[search.space]\nlr = "loguniform:1e-4:1e-2"\n',
    "mlflow_empty.toml": 'mlflow = ""\n',
}


def _file_cases():
    return [
        (["--study", "malformed.toml"], "--study malformed.toml: not valid TOML: "),
        (["--study", "unknown.toml"], "--study unknown.toml: unknown key 'axis'; allowed: name, description, seeds, "
                                      "fixed, axes, search"),
        (["--study", "unknown_search.toml"], "[search] unknown key 'samples'; allowed: space, metric, mode, "
                                             "num_samples, scheduler, seed"),
        (["--study", "seeds_type.toml"], "--study seeds_type.toml: seeds: must be an integer >= 1, got '3'"),
        (["--study", "axis_not_list.toml"], "[axes] hidden: give a list of values, e.g. hidden = [128]"),
        (["--study", "axis_text.toml"], "[axes] hidden: must be an integer >= 1, got '64'"),
        (["--study", "axis_float.toml"], "[axes] hidden: must be an integer >= 1, got 64.0"),
        (["--study", "axis_empty.toml"], "[axes] hidden: no values; give at least one"),
        (["--study", "lr_zero.toml"], "[axes] lr: must be a finite number > 0, got 0.0"),
        (["--study", "momentum.toml"], "[fixed] momentum: must be in [0, 1), got 1.0"),
        (["--study", "bad_dist.toml"], "[search.space] lr=loguniform:0:1: loguniform needs 0 < LOW < HIGH"),
        (["--study", "fixed_field.toml"], "[fixed] nosuch: unknown config field; allowed: "),
        (["--study", "both.toml"], "hidden: in both [fixed] and [axes]; give one"),
        (["--study", "search_seeds.toml"], "seeds: a search trains each config on seed 0"),
        (["--study", "search_axes.toml"], "[axes] hidden: a search sweeps only model and length"),
        (["--study", "num_samples.toml"], "[search] num_samples: must be an integer >= 1, got 0"),
        (["--study", "scheduler.toml"], "[search] scheduler: must be one of asha, hyperband, median, pbt, none "
                                        "(or true for asha, false for none), got 'yes'"),
        (["--study", "metric.toml"], "[search] metric: must be one of eval_accuracy, eval_loss"),
        (["--study", "name.toml"], "name: '../x' is not allowed"),
        (["--study", "chrono.toml"], "--study chrono.toml: init: chrono needs a gated model (LSTM, GRU), got RNN"),
        (["--study", "nosuch.toml"], "--study nosuch.toml: no such file"),
        (["--list", "axis_empty.toml"], "--list axis_empty.toml: [axes] hidden: no values"),
        (["--study", "grid.toml", "--grid", "smoke"], "--study: not with --grid"),
        (["--study", "grid.toml", "--search", "optuna"], "--search: grid.toml is a grid (it has no [search] table)"),
        (["--study", "grid.toml", "--num-samples", "5"], "--num-samples: only with --search optuna; grid.toml is a "
                                                         "grid (no [search] table)"),
        (["--study", "frontier_rule.toml"], "--study frontier_rule.toml: [frontier] solve_rule: must be K/N with "
                                            "1 <= K <= N, got '5/4'"),
        (["--study", "frontier_key.toml"], "[frontier] unknown key 'rule'; allowed: solve_rule, start_length, "
                                           "max_length, speculate"),
        (["--study", "frontier_max.toml"], "[frontier] max_length: must be >= start_length (10), got 8"),
        (["--study", "frontier_seeds.toml"], "seeds: a frontier runs seeds 0 .. N-1 of its solve rule K/N"),
        (["--study", "frontier_length.toml"], "[axes] length: a frontier searches the lengths"),
        (["--study", "frontier_search.toml"], "frontier: not with [search]"),
        (["--study", "mlflow_empty.toml"], "mlflow: must be true (a SQLite store in the study folder), false or a "
                                           "tracking URI"),
        (["--study", "grid.toml", "--frontier"], "--frontier: grid.toml is a grid (it has no [frontier] table)"),
        (["--study", "frontier.toml", "--search", "optuna"], "--search: frontier.toml is a frontier (it has a "
                                                             "[frontier] table)"),
        (["--study", "grid.toml", "--max-length", "9"], "--max-length: only with --frontier; grid.toml is a grid "
                                                        "(no [frontier] table)"),
        (["--study", "frontier.toml", "--lengths", "5"], "--lengths: not with --frontier, which searches the lengths"),
        (["--study", "frontier.toml", "--solve-rule", "4/3"], "--solve-rule: must be K/N with 1 <= K <= N, got "
                                                               "'4/3'"),
    ]


def _option_cases():
    return [
        (["--seed", "7"], "unrecognized arguments: --seed 7; did you mean --seeds?"),
        (["--sweep", "hidden=64,128", "--set", "hidden=32"], "--sweep: hidden is also fixed by --set; give one"),
        (["--search", "optuna", "--grid", "init"], "--grid: not with --search optuna"),
        (["--search", "optuna", "--seeds", "5"], "--seeds: not for a search, which trains each config on seed 0"),
        (["--search", "optuna", "--space", "lr=loguniform:0:1"], "--space: lr=loguniform:0:1: loguniform needs "
                                                                 "0 < LOW < HIGH"),
        (["--search", "optuna", "--space", "lr=normal:0:1"], "--space: lr=normal:0:1: unknown distribution 'normal'"),
        (["--search", "optuna", "--space", "lr=uniform:1e-3"], "--space: lr=uniform:1e-3: uniform takes "
                                                               "uniform:LOW:HIGH"),
        (["--search", "optuna", "--space", "hidden=uniform:1:2"], "--space: hidden=uniform:1:2: hidden takes integers; "
                                                                  "use int:LOW:HIGH or choice"),
        (["--search", "optuna", "--space", "lr=choice:0.1"], "choice needs two values or more"),
        (["--search", "optuna", "--space", "max_norm=choice:none,-1"], "--space: max_norm=choice:none,-1: max_norm: "
                                                                      "must be a finite number > 0 or none"),
        (["--search", "optuna", "--space", "model=choice:RNN,LSTM"], "--space: model: not searched; a search runs one "
                                                                    "Optuna study per model x length cell"),
        (["--search", "optuna", "--space", "init=choice:seed,chrono"], "--space: init: chrono needs a gated model"),
        (["--search", "optuna", "--space", "forget_bias=choice:0,1"], "--space: nothing to search for RNN, which "
                                                                     "ignores forget_bias (LSTM only)"),
        (["--search", "optuna", "--space", "lr"], "--space: expected FIELD=DIST"),
        (["--search", "optuna", "--sweep", "hidden=16,32"], "--sweep: hidden: a search sweeps only model and length"),
        (["--search", "optuna", "--set", "seed=3"], "--set: seed: a search trains each config on seed 0"),
        (["--search", "optuna", "--metric", "accuracy"], "--metric: must be one of eval_accuracy"),
        (["--search", "optuna", "--model", "LSTM", "--models", "RNN"], "--model: not with --models"),
        (["--space", "lr=loguniform:1e-4:1e-2"], "--space: only with --search optuna"),
        (["--grid", "init", "--metric", "eval_loss"], "--metric: only with --search optuna"),
        (["--grid", "init", "--scheduler", "off"], "--scheduler: only with --search optuna"),
        (["--sweep", "hidden="], "--sweep: hidden: no values; give at least one"),
        (["--sweep", "hidden"], "--sweep: expected FIELD=V1,V2,..., got 'hidden'"),
        (["--sweep", "hidden=64,64"], "--sweep: hidden: 64 is given twice"),
        (["--sweep", "hidden=0,64"], "--sweep: hidden: must be an integer >= 1, got 0"),
        (["--sweep", "lr=1e-3,fast"], "--sweep: lr: must be a number, got 'fast'"),
        (["--sweep", "max_norm=none,0"], "--sweep: max_norm: must be a finite number > 0 or none, got 0.0"),
        (["--sweep", "nosuch=1,2"], "--sweep: unknown config field 'nosuch'"),
        (["--sweep", "seed=1,2"], "--sweep: seed is swept by --seeds N"),
        (["--sweep", "init=chrono"], "--sweep: init: chrono needs a gated model (LSTM, GRU), got RNN"),
        (["--sweep", "model=RNN,LSTM", "--models", "GRU"], "--models: model is also swept by --sweep"),
        (["--sweep", "hidden=16", "--sweep", "hidden=32"], "--sweep: hidden is given twice"),
        (["--set", "lr=1e-3", "--set", "lr=2e-3"], "--set: lr is given twice"),
        (["--full", "--patience", "4"], "--patience: not with --full"),
        (["--full", "--set", "patience=2"], "--full: patience is also given by --set; give one of them"),
        (["--list", "--grid", "smoke"], "--grid: not with --list, which only prints"),
        (["--seeds", "2.5"], "--seeds: must be an integer >= 1, got '2.5'"),
        (["--set", "device=cuda"], "--set: device: cuda asked for, but this machine has no CUDA GPU; use cpu"),
        (["--resume", "--name", "busy", "--grid", "smoke", "--set", "steps=999"],
         "--resume: these options plan another study than 'busy' (steps: 999 here, 300 in its study.json)"),
    ]


def _frontier_cases():
    """A memory frontier's options (docs/frontier.md): one line naming the option."""
    rule = "must be K/N with 1 <= K <= N, got"
    return [
        (["--frontier", "--solve-rule", "5/4"], f"--solve-rule: {rule} '5/4'"),
        (["--frontier", "--solve-rule", "0/5"], f"--solve-rule: {rule} '0/5'"),
        (["--frontier", "--solve-rule", "x"], f"--solve-rule: {rule} 'x'"),
        (["--frontier", "--max-length", "4"], "--max-length: must be >= --start-length (5), got 4"),
        (["--frontier", "--start-length", "20", "--max-length", "10"],
         "--max-length: must be >= --start-length (20), got 10"),
        (["--frontier", "--start-length", "1"], "--start-length: must be an integer >= 2, got 1"),
        (["--frontier", "--speculate", "-1"], "--speculate: must be an integer >= 0, got -1"),
        (["--frontier", "--max-length", "x"], "--max-length: must be an integer >= 2, got 'x'"),
        (["--frontier", "--grid", "lengths"], "--frontier: not with --grid; a frontier's cells are --models and "
                                              "--sweep, its lengths and seeds are searched"),
        (["--frontier", "--search", "optuna"], "--frontier: not with --search optuna"),
        (["--frontier", "--lengths", "5", "6"], "--lengths: not with --frontier, which searches the lengths "
                                                "(--start-length, --max-length)"),
        (["--frontier", "--seeds", "3"], "--seeds: not with --frontier, which runs seeds 0 .. N-1 of its solve rule "
                                         "K/N (--solve-rule)"),
        (["--frontier", "--length", "5"], "--length: not with --frontier, which searches the lengths"),
        (["--frontier", "--model", "RNN"], "--model: only with --search optuna; a frontier takes --models"),
        (["--frontier", "--num-samples", "3"], "--num-samples: only with --search optuna"),
        (["--frontier", "--set", "length=20"], "--set: length: a frontier searches the lengths"),
        (["--frontier", "--sweep", "seed=0,1"], "--sweep: seed: a frontier runs seeds 0 .. N-1 of its solve rule"),
        (["--frontier", "--sweep", "init=chrono"], "--sweep: init: chrono needs a gated model (LSTM, GRU), got RNN"),
        (["--solve-rule", "4/5"], "--solve-rule: only with --frontier"),
        (["--search", "optuna", "--speculate", "0"], "--speculate: only with --frontier"),
    ]


CASES = _file_cases() + _option_cases() + _frontier_cases()


def _prepare(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    busy = _cli_plan(["--grid", "smoke", "--name", "busy"], tmp_path)
    busy.folder.mkdir(parents=True)
    (busy.folder / "study.json").write_text(json.dumps(study_meta(busy)))


@pytest.mark.parametrize("argv,expected", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_one_line_exit_2_nothing_written_no_ray(argv, expected, tmp_path, monkeypatch, capsys, no_ray,
                                                          fault):
    if "device=cuda" in argv and __import__("torch").cuda.is_available():
        pytest.skip("this machine has a GPU")
    _prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--results-dir", str(tmp_path)] if "--list" not in argv else argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1, err
    assert lines[0].startswith("python -m study.run: error: ") and expected in lines[0], lines[0]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    fault("a bad value to `python -m study.run`", 1,
          "one line naming the option and what is allowed, exit 2, no traceback, nothing written, Ray not started")


def test_there_are_at_least_twenty_new_bad_inputs():
    assert len(CASES) >= 20 and len({tuple(a) for a, _ in CASES}) == len(CASES)


# ---- the API -----------------------------------------------------------------------------------

API_CASES = [
    ({"fixed": {"lr": -1}}, ["--set", "lr=-1"]),
    ({"axes": {"hidden": [0, 64]}}, ["--sweep", "hidden=0,64"]),
    ({"axes": {"hidden": [64]}, "fixed": {"hidden": 32}}, ["--sweep", "hidden=64", "--set", "hidden=32"]),
    ({"search": "optuna", "seeds": 5}, ["--search", "optuna", "--seeds", "5"]),
    ({"search": "optuna", "grid": "init"}, ["--search", "optuna", "--grid", "init"]),
    ({"search": "optuna", "space": {"lr": "loguniform:0:1"}}, ["--search", "optuna", "--space", "lr=loguniform:0:1"]),
    ({"search": "optuna", "space": {"init": ("choice", ["seed", "chrono"])}},
     ["--search", "optuna", "--space", "init=choice:seed,chrono"]),
    ({"grid": "nosuch"}, ["--grid", "nosuch"]),
    ({"grid": "init", "num_samples": 5}, ["--grid", "init", "--num-samples", "5"]),
    ({"seeds": 0}, ["--seeds", "0"]),
    ({"models": ["TRANSFORMER"]}, ["--models", "TRANSFORMER"]),
    ({"name": "../x"}, ["--name", "../x"]),
    ({"full": True, "patience": 2}, ["--full", "--patience", "2"]),
    ({"study": "nosuch.toml"}, ["--study", "nosuch.toml"]),
    ({"study": "axis_empty.toml"}, ["--study", "axis_empty.toml"]),
    ({"fixed": {"device": "cuda"}}, ["--set", "device=cuda"]),
    ({"frontier": True, "solve_rule": "5/4"}, ["--frontier", "--solve-rule", "5/4"]),
    ({"frontier": True, "max_length": 4}, ["--frontier", "--max-length", "4"]),
    ({"frontier": True, "grid": "lengths"}, ["--frontier", "--grid", "lengths"]),
    ({"frontier": True, "search": "optuna"}, ["--frontier", "--search", "optuna"]),
    ({"frontier": True, "lengths": [5, 6]}, ["--frontier", "--lengths", "5", "6"]),
    ({"frontier": True, "seeds": 3}, ["--frontier", "--seeds", "3"]),
    ({"max_length": 9}, ["--max-length", "9"]),
]


@pytest.mark.parametrize("kwargs,argv", API_CASES, ids=[" ".join(a) for _, a in API_CASES])
def test_api_raises_study_error_with_the_commands_line(kwargs, argv, tmp_path, monkeypatch, capsys, no_ray):
    if "device=cuda" in argv and __import__("torch").cuda.is_available():
        pytest.skip("this machine has a GPU")
    _prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    with pytest.raises(SystemExit):
        main([*argv, "--results-dir", str(tmp_path)])
    line = capsys.readouterr().err.strip()
    kwargs = dict(kwargs)
    target = kwargs.pop("study", None)
    for call in (study.plan, study.run_study):
        with pytest.raises(StudyError) as exc:  # never SystemExit
            call(target, results_dir=str(tmp_path), **kwargs)
        assert isinstance(exc.value, ValueError)
        assert line == f"python -m study.run: error: {exc.value}"
    assert _listing(tmp_path) == before


def test_one_table_maps_every_option_to_its_key_path_and_the_lists_derive_from_it():
    from study.planning.overlay import OPTIONS, RUN_OPTIONS, SEARCH_ONLY

    dests = {a.dest for a in run.build_parser()._actions if a.dest != "help"}
    assert dests - set(OPTIONS) == {"list", "set", "sweep"}  # --set, --sweep: the keywords fixed, axes
    assert {"--resume", "--storage", "--dry-run"} <= set(RUN_OPTIONS) and "--seeds" not in RUN_OPTIONS
    assert SEARCH_ONLY[:3] == ("--model", "--length", "--space")
    assert all(OPTIONS[k][0].startswith("search.") for k in ("metric", "num_samples", "search_seed"))


def test_a_value_the_document_refuses_is_named_by_the_option_that_gave_it(tmp_path, capsys):
    """The overlay is laid onto the study's document and parsed once: the parse's error (by key path,
    search.mode) is said as the option or keyword that gave the value; a study file's as the file says it."""
    with pytest.raises(StudyError) as exc:
        study.plan(search="optuna", mode="sideways")
    assert str(exc.value) == "--mode: must be max or min, got 'sideways'"
    with pytest.raises(SystemExit):
        main(["--search", "optuna", "--scheduler", "pbt", "--perturbation-interval", "x", "--dry-run"])
    assert capsys.readouterr().err.strip().endswith(
        "error: --perturbation-interval: must be a positive integer (training steps), got 'x'")
    path = tmp_path / "s.toml"
    path.write_text('[search]\nscheduler = "pbt"\nperturbation_interval = 0\n'
                    '[search.space]\nlr = "loguniform:1e-4:1e-2"\n')
    with pytest.raises(StudyError) as exc:
        study.plan(path)
    assert str(exc.value) == (f"--study {path}: [search] perturbation_interval: must be a positive integer "
                              "(training steps), got 0")


def test_api_plan_runs_nothing_until_asked_and_documents_its_keywords():
    p = study.plan(grid="smoke", seeds=1, models=["RNN"], lengths=[5])
    assert p.n_trials == 1 and p.trials.iloc[0]["hidden"] == 16 and callable(p.run)
    assert "docs/commands.md" in study.__doc__
    doc = (ROOT / "docs" / "commands.md").read_text().split("## From Python", 1)[1].split("\n## ", 1)[0]
    for key in KEYWORDS:
        assert f"`{key}`" in doc, key
    with pytest.raises(TypeError, match="unknown keyword 'sweeps'"):
        study.plan(sweeps={"hidden": [1]})


# ---- strictness beyond study.run -------------------------------------------------------------


def test_no_parser_takes_an_abbreviation(tmp_path):
    from palrnn.__main__ import main as palrnn_main

    with pytest.raises(SystemExit) as exc:
        palrnn_main(["--len", "5"])
    assert exc.value.code == 2
    cases = [("palrnn.bench", ["--len", "5"], "--len"), ("palrnn.analysis", ["--len", "5"], "--len"),
             ("study.bench", ["--len", "5"], "--len"), ("study.gradients", ["--len", "5"], "--len"),
             ("study.report", [".", "--qui"], "--qui")]

    def ran(case):
        module, argv, _ = case
        return subprocess.run([sys.executable, "-m", module, *argv], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})

    with ThreadPoolExecutor(2) as pool:  # two commands at a time, one per core
        done = list(pool.map(ran, cases))
    for (module, _, word), p in zip(cases, done, strict=True):
        assert p.returncode == 2 and f"unrecognized arguments: {word}" in p.stderr, (module, p.stderr[-500:])


def test_study_bench_plans_through_the_same_path(tmp_path, capsys, no_ray):
    from study.bench import main as bench_main

    assert bench_main(["--dry-run", *SWEEP_ARGV, "--results-dir", str(tmp_path)]) == 0
    assert "study sweep (grid, 16 trials)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        bench_main(["--search", "optuna", "--seeds", "5"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("python -m study.bench: error: --seeds: not for a search")


def test_a_wheel_ships_the_study_files(tmp_path):
    """A non-editable install has the shipped studies: build a wheel from a copy of the project."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("palrnn", "study"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path / "wheel")], cwd=src, capture_output=True, text=True, timeout=300)
    if p.returncode != 0 and "No module named pip" in p.stderr:
        pytest.skip("pip is not installed")
    assert p.returncode == 0, p.stderr[-2000:]
    import zipfile

    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"study/studies/{f.name}" for f in (ROOT / "study" / "studies").glob("*.toml")}
    assert len(shipped) == 9 and shipped <= names


def test_every_shipped_file_is_a_valid_study_and_round_trips():
    for name, s in shipped().items():
        assert s.name == name
        again = load_text(to_toml(s))
        assert again == s, name


def load_text(text):
    import tomllib

    from study.spec.studyfile import from_dict

    return from_dict(tomllib.loads(text), "text")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_machine_a_cuda_device_needs_a_gpu_per_trial(tmp_path):
    with pytest.raises(StudyError, match="--set: device: cuda needs a GPU from Ray for each trial"):
        _cli_plan(["--set", "device=cuda"], tmp_path)
    plan = _cli_plan(["--set", "device=cuda", "--gpus-per-trial", "0.5"], tmp_path)
    assert plan.param_space["device"] == "cuda" and plan.gpus_per_trial == 0.5
    with pytest.raises(StudyError, match="--sweep: device: cuda:99 does not exist"):
        _cli_plan(["--sweep", "device=cpu,cuda:99", "--gpus-per-trial", "0.5"], tmp_path)
