"""Names as people type them (palrnn/names.py): any case taken, one spelling kept, near misses named.

Model, init, optimizer, sampler, scheduler and grid names in any case, on study.run's command line,
in a study file and through study.plan; a near miss gets "did you mean X?", a far one the list of
what is allowed, in one line, exit 2, nothing written. The output folder is --out in every
command that writes one; no --help prints "%%"; study.report re-reports a study.methods folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import study
from study.basics.errors import StudyError
from study.run import main

ROOT = Path(__file__).resolve().parents[2]

# ---- any case taken, one spelling kept -------------------------------------------------------------


@pytest.mark.parametrize(("argv", "shown"), [
    (["--models", "lstm", "Gru", "--lengths", "5"], "model {LSTM, GRU}"),
    (["--grid", "Lengths"], "study lengths (grid,"),
    (["--grid", "INIT", "--set", "optimizer=Adam", "--set", "init=Xavier"], "init=xavier optimizer=adam"),
    (["--sweep", "init=XAVIER,default"], "init {xavier, default}"),
    (["--set", "max-norm=1"], "max_norm=1"),  # the option's spelling of the field
    (["--search", "Optuna", "--model", "gru", "--sampler", "Random", "--scheduler", "Median", "--mode", "MAX",
      "--num-samples", "2"], "2 samples, random sampling seed 0,\n  eval_accuracy (max), the median stopping rule"),
    (["--search", "optuna", "--space", "init=choice:Xavier,Default", "--space", "optimizer=choice:ADAM,sgd",
      "--num-samples", "2"], "init in {xavier, default}; optimizer in {adam, sgd}"),
])
def test_the_command_line_takes_names_in_any_case_and_prints_one_spelling(argv, shown, capsys):
    assert main([*argv, "--seeds", "1", "--dry-run"] if "--search" not in argv else [*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert shown in out, out


def test_the_tables_keep_one_spelling():
    p = study.plan(grid="Lengths", models=["lstm", "GRU"], lengths=[5], seeds=1,
                   fixed={"init": "Xavier", "optimizer": "ADAM", "max-norm": 5})
    assert sorted(p.trials["model"]) == ["GRU", "LSTM"]
    assert set(p.trials["init"]) == {"xavier"} and set(p.trials["optimizer"]) == {"adam"}
    assert set(p.trials["max_norm"]) == {5.0}
    assert p.grid == "lengths"
    meta = study.plan(search="optuna", model="lstm", sampler="TPE", scheduler="ASHA", num_samples=2).to_meta()
    assert (meta["search"]["sampler"], meta["search"]["scheduler"], meta["param_space"]["model"]) == \
        ("tpe", "asha", "LSTM")


def test_a_study_file_takes_names_in_any_case(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('name = "g"\nseeds = 1\n[fixed]\ninit = "Orthogonal"\noptimizer = "SGD"\n'
                    '[axes]\nmodel = ["rnn", "Lstm"]\nlength = [5]\n')
    p = study.plan(str(grid))
    assert sorted(p.trials["model"]) == ["LSTM", "RNN"]
    assert set(p.trials["init"]) == {"orthogonal"} and set(p.trials["optimizer"]) == {"sgd"}
    search = tmp_path / "search.toml"
    search.write_text('name = "s"\n[axes]\nmodel = ["gru"]\nlength = [5]\n[search]\nsampler = "GP"\nscheduler = '
                      '"HyperBand"\nnum_samples = 2\n[search.space]\ninit = "choice:Xavier,CHRONO"\n')
    meta = study.plan(str(search)).to_meta()
    assert (meta["search"]["sampler"], meta["search"]["scheduler"], meta["param_space"]["model"]) == \
        ("gp", "hyperband", "GRU")
    assert meta["search"]["space"]["init"] == "choice:xavier,chrono"


def test_the_same_name_twice_in_two_cases_is_given_twice(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--sweep", "init=xavier,XAVIER", "--dry-run"])
    assert exc.value.code == 2
    assert "--sweep: init: xavier is given twice" in capsys.readouterr().err


# ---- near misses and far misses: one line, exit 2, nothing written ---------------------------------

BAD = [
    (["--models", "lstmm"], "--models: unknown model 'lstmm'; allowed: RNN, LSTM, GRU; did you mean LSTM?"),
    (["--search", "optuna", "--model", "grru"], "--model: unknown model 'grru'; allowed: RNN, LSTM, GRU; "
                                                 "did you mean GRU?"),
    (["--grid", "lenghts"], "--grid: unknown grid 'lenghts'; allowed: lengths, init, hidden, lr, clip, optimizer, "
                            "forget, smoke; did you mean lengths?"),
    (["--set", "init=xavir"], "--set: init: must be one of seed, default, xavier, orthogonal, chrono, got 'xavir'; "
                              "did you mean xavier?"),
    (["--set", "optimizer=Adamm"], "--set: optimizer: must be one of rmsprop, adam, sgd, got 'Adamm'; "
                                   "did you mean adam?"),
    (["--sweep", "model=RNN,lstn"], "--sweep: model: must be one of RNN, LSTM, GRU, or MODULE:CLASS"),
    (["--set", "maxnorm=1"], "; did you mean max_norm?"),
    (["--search", "optuna", "--sampler", "tpee"], "--sampler: must be one of tpe, random, cmaes, gp, qmc, nsga2, "
                                                  "got 'tpee'; did you mean tpe?"),
    (["--search", "optuna", "--scheduler", "ASHAA"], "--scheduler: must be one of asha, hyperband, median, pbt, none "
                                                     "(on and off, True and False still mean asha and none), got "
                                                     "'ASHAA'; did you mean asha?"),
    (["--search", "optuna", "--mode", "maxx"], "argument --mode: invalid choice: 'maxx' (choose from 'max', 'min'); "
                                               "did you mean max?"),
    (["--search", "optimum"], "argument --search: invalid choice: 'optimum' (choose from 'optuna'); "
                              "did you mean optuna?"),
]
FAR = [
    (["--models", "TRANSFORMER"], "--models: unknown model 'TRANSFORMER'; allowed: RNN, LSTM, GRU"),
    (["--grid", "nosuch"], "--grid: unknown grid 'nosuch'; allowed: lengths, init,"),
    (["--set", "init=zeros"], "--set: init: must be one of seed, default, xavier, orthogonal, chrono, got 'zeros'"),
    (["--search", "optuna", "--sampler", "annealing"], "--sampler: must be one of tpe, random, cmaes, gp, qmc, "
                                                       "nsga2, got 'annealing'"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD + FAR)
def test_a_bad_name_is_one_line_exit_2_nothing_written(argv, expected, tmp_path, monkeypatch, capsys):
    import ray

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ray, "init", _ray_must_not_start)
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "s")])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1, err
    assert lines[0].startswith("python -m study.run: error: ") and expected in lines[0], lines[0]
    assert ("did you mean" in lines[0]) == ((argv, expected) in BAD), lines[0]
    assert list(tmp_path.iterdir()) == []


def _ray_must_not_start(*args, **kwargs):
    raise AssertionError("bad input reached ray.init")


def test_the_did_you_mean_of_a_field_names_the_field():
    with pytest.raises(study.StudyError, match=r"^--set: unknown config field 'maxnorm'; allowed: .*; "
                                               r"did you mean max_norm\?$"):
        study.plan(fixed={"maxnorm": 1})
    with pytest.raises(study.StudyError, match=r"^--models: unknown model 'lsmt'; allowed: RNN, LSTM, GRU; "
                                               r"did you mean LSTM\?$"):
        study.plan(models=["lsmt"])


# ---- one option name per concept ---------------------------------------------------------------------


def test_study_run_out_is_the_study_folder(tmp_path, capsys):
    p = study.plan(grid="smoke", seeds=1, out=str(tmp_path / "mine"))
    assert (p.results_dir, p.name) == (str(tmp_path), "mine")
    p = study.plan(grid="smoke", seeds=1, results_dir=str(tmp_path), name="mine")
    assert (p.results_dir, p.name) == (str(tmp_path), "mine")
    (tmp_path / "taken").mkdir()
    for argv, expected in [
        (["--out", str(tmp_path / "taken")], f"--out: {tmp_path / 'taken'} already exists; choose another --out"),
        (["--out", str(tmp_path / "x"), "--name", "y"], "--out: not with --name; --out names the study's folder"),
        (["--out", str(tmp_path / "a b")], f"--out: '{tmp_path / 'a b'}' is not allowed"),
        (["--resume", "--out", str(tmp_path / "nosuch")], "--resume: no study 'nosuch'"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--grid", "smoke"] if "--resume" not in argv else argv)
        err = capsys.readouterr().err.strip()
        assert exc.value.code == 2 and len(err.splitlines()) == 1 and expected in err, err
        assert "--name" not in err.replace("not with --name", "")
        if "--resume" not in argv and "--name" not in argv:  # study.plan raises the line the command prints
            with pytest.raises(StudyError) as info:
                study.plan(grid="smoke", out=argv[1])
            assert expected in str(info.value) and f"error: {info.value}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_gradients_out_is_a_folder(tmp_path, capsys):
    from palrnn.cli import UsageError
    from study import gradients

    args = gradients.build_parser().parse_args(["--train-steps", "0", "--models", "lstm", "gru", "--inits",
                                                "Xavier", "--out", str(tmp_path / "figs")])
    models, inits, out = gradients._check(args)
    assert (models, inits, out) == (["LSTM", "GRU"], ["xavier"], tmp_path / "figs" / gradients.FIGURE)
    # The older spelling, a file: still taken, and said to be deprecated.
    args = gradients.build_parser().parse_args(["--train-steps", "0", "--out", str(tmp_path / "flow.png")])
    assert gradients._check(args)[2] == tmp_path / "flow.png"
    assert "a file for --out is deprecated; --out names a folder" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    for argv, expected in [(["--out", str(tmp_path / "afile")], "is a file; give the folder"),
                           (["--out", str(tmp_path / "no" / "such")], "--out: cannot make folder"),
                           (["--inits", "xavir"], "--inits: must be one or more of seed, default, xavier, "
                                                  "orthogonal, chrono, got 'xavir'; did you mean xavier?"),
                           (["--models", "lstmm"], "did you mean LSTM?")]:
        with pytest.raises(UsageError) as exc:
            gradients._check(gradients.build_parser().parse_args(["--train-steps", "0", *argv]))
        assert expected in str(exc.value), exc.value
    assert gradients.main(["--train-steps", "0", "--models", "RNN", "--inits", "lstmm"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_methods_takes_names_in_any_case(capsys):
    from study import methods

    args = methods._parser().parse_args(["--out", "x", "--model", "lstm", "--methods", "TPE", "Random"])
    assert (args.model, args.methods) == ("LSTM", ["tpe", "random"])
    with pytest.raises(SystemExit) as exc:
        methods._parser().parse_args(["--out", "x", "--methods", "tpee"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.endswith("(choose from 'random', 'tpe', 'gp', 'cmaes', 'pbt'); "
                                                "did you mean tpe?"), err


# ---- help texts --------------------------------------------------------------------------------------

COMMANDS = ["study.run", "study.report", "study.compare", "study.methods", "study.gradients", "study.bench",
            "palrnn", "palrnn.bench", "palrnn.analysis"]


def test_no_help_prints_a_doubled_percent_and_palrnn_names_the_gru():
    def helped(module):
        return subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    with ThreadPoolExecutor(2) as pool:  # two commands at a time, one per core
        done = list(pool.map(helped, COMMANDS))
    for module, p in zip(COMMANDS, done, strict=True):
        assert p.returncode == 0 and p.stderr == "", (module, p.stderr)
        assert "%%" not in p.stdout and "%(" not in p.stdout, module
        if module == "palrnn":
            assert "RNN, LSTM or GRU" in " ".join(p.stdout.split()), p.stdout


def test_no_help_text_holds_a_doubled_percent():
    """The texts themselves, as a page generated from them would show them."""
    import importlib

    from palrnn import analysis
    from palrnn.__main__ import build_parser as palrnn_parser
    from study import gradients, methods, run
    compare = importlib.import_module("study.compare")
    cli = importlib.import_module("study.report.__main__")

    for parser in (palrnn_parser(), analysis.build_parser(), run.build_parser(), compare.build_parser(),
                   gradients.build_parser(), methods._parser(), cli.build_parser()):
        texts = [parser.description or ""] + [a.help or "" for a in parser._actions]
        assert not [t for t in texts if "%%" in t], parser.prog


# ---- study.report re-reports a study.methods folder --------------------------------------------------


def test_study_report_re_reports_a_methods_folder(tmp_path):
    reference = ROOT / "results" / "reference-methods-rnn20"
    folder = tmp_path / "methods"
    shutil.copytree(reference, folder)
    (folder / "figures" / "methods.png").unlink()
    (folder / "methods.csv").write_text("method\nstale\n")  # redone from the searches, not kept
    p = subprocess.run([sys.executable, "-m", "study.report", str(folder), "--quiet"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (folder / "figures" / "methods.png").stat().st_size > 10_000
    pd.testing.assert_frame_equal(pd.read_csv(folder / "methods.csv"), pd.read_csv(reference / "methods.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(folder / "repeats.csv"), pd.read_csv(reference / "repeats.csv"))


def test_study_report_methods_folder_arguments_and_refusals(tmp_path, capsys):
    import importlib

    cli = importlib.import_module("study.report.__main__")

    reference = ROOT / "results" / "reference-methods-rnn20"
    assert cli.is_methods_folder(reference) and not cli.is_methods_folder(ROOT / "results" / "reference-lengths")
    assert cli.methods_argv(reference) == ["--out", str(reference), "--analyse-only", "--methods", "random", "tpe",
                                           "gp", "cmaes", "pbt", "--search-seeds", "0", "1", "2",
                                           "--confirm-seeds", "5"]
    folder = tmp_path / "m"
    (folder / "tpe-s0").mkdir(parents=True)
    (folder / "tpe-s0" / "study.json").write_text('{"status": "running"}')
    assert cli.methods_argv(folder)[3:] == ["--methods", "tpe", "--search-seeds", "0", "--confirm-seeds", "0"]
    before = sorted(folder.rglob("*"))
    for argv, expected in [([str(folder)], f"python -m study.methods: error: no finished search in {folder}"),
                           ([str(reference), "--no-figures"], f"--no-figures: {reference} is a study.methods folder")]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and expected in err, err
    assert sorted(folder.rglob("*")) == before
