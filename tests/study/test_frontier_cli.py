"""The memory frontier from the command line, a study file and Python (one StudyPlan), its dry run,
its study.json, its end (status, frontier.csv), and one tiny real frontier through
``python -m study.run --frontier`` and ``python -m study.report``. Bad options: tests/study/test_plan.py."""

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import study
from study import run
from study.driver.finish import finish, study_meta, study_toml
from study.frontier.options import RULE_TEXT, check_frontier_options
from study.frontier.search import Frontier
from study.frontier.table import load_frontier
from study.planning.build import plan_from_args
from study.run import main
from tests.ports import free_port, fresh_port
from tests.study.frontier_oracle import frontier_max_trials

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}

CELLS_ARGV = ["--frontier", "--models", "RNN", "LSTM", "GRU", "--sweep", "init=default,xavier", "--set", "hidden=64"]
FRONTIER_TOML = """
name = "frontier"
description = "the memory frontier: the longest T each cell remembers"

[fixed]
hidden = 64

[axes]
model = ["RNN", "LSTM", "GRU"]
init = ["default", "xavier"]

[frontier]
solve_rule = "4/5"
"""


def _cli_plan(argv, tmp_path):
    argv = [*argv, "--results-dir", str(tmp_path)]
    return plan_from_args(run.build_parser().parse_args(argv), argv)


def _listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))



# ---- planning: the command line, a study file and the API ------------------------------------


def test_dry_run_prints_the_cells_the_rule_and_the_first_probes_and_writes_nothing(tmp_path, capsys, no_ray):
    assert main(["--dry-run", *CELLS_ARGV, "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # 6 cells x 5 seeds x 11 probes at most (doubling 5..100, then bisection) x 2 (speculation)
    assert lines[0] == "study frontier (memory frontier, up to 660 trials): 6 cells, rule 4/5, T from 5 to 100, " \
                       "speculate 1"
    assert lines[1] == "every trial, besides the exercise's settings: hidden=64"
    header = lines.index("cell  model  init")
    assert [line.split() for line in lines[header + 1:header + 7]] == [
        [str(i), m, init] for i, (m, init) in enumerate((m, i) for m in ("RNN", "LSTM", "GRU")
                                                         for i in ("default", "xavier"))]
    text = " ".join(out.split())
    assert "rule 4/5: a length T passes when at least 4 of seeds 0..4 reach held-out accuracy 0.99 within " \
           "10,000 steps" in text and " ".join(RULE_TEXT.split()) in text
    assert "probes, per cell: T = 5, 10, 20, 40, 80, 100 while each passes (doubling), then bisection" in text
    assert "a probe starts seeds 0..3" in text
    assert "up to 660 trials (6 cells;" in out and out.rstrip().endswith("--dry-run: nothing was run, nothing written")
    assert all(len(line) <= 100 for line in lines)
    assert _listing(tmp_path) == []


def test_the_command_line_a_study_file_and_the_api_plan_the_same_frontier(tmp_path, capsys, no_ray, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "frontier.toml").write_text(FRONTIER_TOML)
    cli = _cli_plan(CELLS_ARGV, tmp_path)
    file = _cli_plan(["--study", "frontier.toml"], tmp_path)
    api = study.plan(frontier={"solve_rule": "4/5"}, models=["RNN", "LSTM", "GRU"],
                     axes={"init": ["default", "xavier"]}, fixed={"hidden": 64}, results_dir=str(tmp_path))
    api2 = study.plan(frontier=True, solve_rule="4/5", models=["RNN", "LSTM", "GRU"],
                      axes={"init": ["default", "xavier"]}, fixed={"hidden": 64}, results_dir=str(tmp_path))
    for plan in (cli, file, api, api2):
        assert plan.kind == "frontier" and plan.grid is None and plan.search is None
        assert plan.frontier == {"solve_rule": "4/5", "start_length": 5, "max_length": 100, "speculate": 1}
        assert plan.grid_axes == plan.axes == ["model", "init"] and plan.n_trials == 660
        assert "length" not in plan.param_space and "seed" not in plan.param_space  # the search's
        assert plan.param_space == cli.param_space and plan.param_space["hidden"] == 64
        assert plan.cells == [{"model": m, "init": i} for m in ("RNN", "LSTM", "GRU") for i in ("default", "xavier")]
        assert plan.trials.equals(cli.trials) and len(plan.trials) == 6
    assert main(["--dry-run", "--study", "frontier.toml"]) == 0
    from_file = capsys.readouterr().out
    assert main(["--dry-run", *CELLS_ARGV]) == 0
    assert capsys.readouterr().out == from_file
    # The options change a file's frontier; the resolved study file plans the identical frontier.
    changed = _cli_plan(["--study", "frontier.toml", "--solve-rule", "2/3", "--max-length", "40", "--speculate", "0"],
                        tmp_path)
    assert changed.frontier == {"solve_rule": "2/3", "start_length": 5, "max_length": 40, "speculate": 0}
    path = tmp_path / "resolved" / "study.toml"
    path.parent.mkdir()
    path.write_text(study_toml(changed))
    again = _cli_plan(["--study", str(path)], tmp_path)
    for key in ("kind", "axes", "param_space", "grid_axes", "frontier", "trials", "target"):
        assert again.to_meta()[key] == changed.to_meta()[key], key
    assert _listing(tmp_path) == [Path("frontier.toml"), Path("resolved"), Path("resolved/study.toml")]


def test_study_json_keeps_the_frontier_for_resume_and_refuses_another(tmp_path, no_ray):
    argv = ["--frontier", "--models", "LSTM", "--set", "steps=600", "--solve-rule", "2/3", "--max-length", "12",
            "--name", "f"]
    plan = _cli_plan(argv, tmp_path)
    plan.folder.mkdir(parents=True)
    (plan.folder / "study.json").write_text(json.dumps(study_meta(plan)))
    resumed = _cli_plan(["--resume", "--name", "f"], tmp_path)
    assert resumed.kind == "frontier" and resumed.frontier == plan.frontier and resumed.resume
    assert resumed.cells == [{"model": "LSTM"}] and resumed.param_space == plan.param_space
    assert resumed.study.kind == "frontier" and resumed.study.frontier == check_frontier_options("2/3", 5, 12)
    assert _cli_plan([*argv, "--resume"], tmp_path).frontier == plan.frontier
    with pytest.raises(study.StudyError, match=r"--resume: these options plan another study than 'f' \(frontier: "):
        _cli_plan([*argv[:-2], "--solve-rule", "3/3", "--name", "f", "--resume"], tmp_path)
    with pytest.raises(study.StudyError, match=r"\(kind: grid here, frontier in its study.json\)"):
        _cli_plan(["--grid", "smoke", "--name", "f", "--resume"], tmp_path)


def test_the_trial_bound_holds_whatever_the_seeds_do():
    """``up to N trials``: no search launches more, however its seeds solve and end (the stand-in
    trainable and scheduler of tests/study/test_frontier.py)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_frontier import simulate

    for i in range(150):
        rng = random.Random(i)
        k = rng.randint(1, 5)
        n, start = rng.randint(k, 6), rng.randint(2, 8)
        options = check_frontier_options(f"{k}/{n}", start, rng.randint(start, 110), rng.randint(0, 2))
        run_trial = _random_seeds(rng, rng.randint(start - 1, options.max_length))
        fr = Frontier([{"model": "RNN"}, {"model": "LSTM"}], rule=options.rule, start=options.start,
                      max_length=options.max_length, speculate=options.speculate)
        simulate(fr, run_trial, slots=rng.randint(1, 12), rng=rng, slow=rng.choice([1.0, 3.0, 10.0]))
        assert fr.done and fr.launched <= frontier_max_trials(options, 2), (i, options)


def _random_seeds(rng, threshold):
    """A stand-in trainable: a seed mostly solves below ``threshold`` and rarely above (non-monotone too)."""
    outcomes = {}

    def run_trial(t):
        if t not in outcomes:
            outcomes[t] = rng.random() < (0.85 if t.length <= threshold else 0.15)
        return outcomes[t], 100 if outcomes[t] else None

    return run_trial


# ---- the driver's end, without Ray -----------------------------------------------------------


def _finish(tmp_path, frontier, capsys, rows=None):
    plan = _cli_plan(["--frontier", "--models", "LSTM", "--solve-rule", "2/3", "--set", "steps=100", "--name", "f"],
                     tmp_path)
    plan.folder.mkdir(parents=True)
    frontier.save(plan.folder / "frontier" / "state.json")
    (plan.folder / "study.json").write_text(json.dumps(study_meta(plan)))
    columns = ["model", "length", "seed", "steps"]
    trials = pd.DataFrame(rows or [{"trial_id": "a", "model": "LSTM", "length": 5, "seed": 0, "steps": 100,
                                    "step": 100, "status": "TERMINATED", "stopped_by": "target", "diverged": False,
                                    "eval_accuracy": 1.0, "steps_to_target": 50}])
    curves = pd.DataFrame(columns=["trial_id", *columns])
    tables = finish(plan, trials, curves, 1.0, report=False, echo=True)
    out = capsys.readouterr().out
    return plan, tables, out, json.loads((plan.folder / "study.json").read_text())


def test_finish_marks_an_unfinished_frontier_interrupted_and_says_how_to_resume(tmp_path, capsys):
    fr = Frontier([{"model": "LSTM"}], rule=(2, 3), speculate=0, base={"steps": 100})
    fr.record(*fr.next_trial(), solved=True, steps_to_target=50)
    plan, tables, out, meta = _finish(tmp_path, fr, capsys)
    assert meta["status"] == tables["status"] == "interrupted"
    assert "interrupted: the frontier's search is unfinished. Resume with:" in out
    assert f"python -m study.run --resume --name f --results-dir {tmp_path}" in out
    assert "LSTM  search unfinished (5: running)" in out  # the frontier as far as it got
    assert (plan.folder / "frontier.csv").is_file() and (plan.folder / "figures" / "frontier.png").is_file()
    assert tables["unfinished"] == 0  # no trial is unfinished: python -m study.run exits 130 by the status


def test_a_seed_stopped_with_the_study_is_unfinished_one_its_probe_stopped_is_not(tmp_path, capsys):
    # Ctrl-C while two seeds train: Ray holds both TERMINATED short of their steps. One of them the
    # search had stopped itself (its probe decided) just before; the other still runs in its state.
    fr = Frontier([{"model": "LSTM"}], rule=(2, 3), speculate=0, base={"steps": 100})
    running, stopped = fr.next_trial(), fr.next_trial()
    fr.stop(*stopped)
    rows = [{"trial_id": t, "model": "LSTM", "length": trial.length, "seed": trial.seed, "steps": 100, "step": 40,
             "status": "TERMINATED", "stopped_by": "scheduler", "diverged": False, "eval_accuracy": 0.5,
             "steps_to_target": None} for t, trial in (("r", running), ("s", stopped))]
    plan, tables, out, meta = _finish(tmp_path, fr, capsys, rows)
    written = pd.read_csv(plan.folder / "trials.csv").set_index("trial_id")["stopped_by"]
    assert written.to_dict() == {"r": "unfinished", "s": "scheduler"}
    assert meta["status"] == "interrupted" and tables["unfinished"] == 1
    assert "interrupted: 1 trials unfinished. Resume with:" in out


def test_finish_marks_a_known_frontier_complete(tmp_path, capsys):
    fr = Frontier([{"model": "LSTM"}], rule=(2, 3), speculate=0, max_length=5, base={"steps": 100})
    while (t := fr.next_trial()) is not None and not isinstance(t, str):
        fr.record(*t, solved=True, steps_to_target=50)
    assert fr.done
    _, tables, out, meta = _finish(tmp_path, fr, capsys)
    assert meta["status"] == tables["status"] == "complete" and "Resume" not in out
    assert "LSTM  longest T remembered: >= 5  (no failure up to the max length 5; rule 2/3)" in out
    assert list(tables["frontier"]["outcome"]) == ["passed"]


# ---- a real frontier on Ray, through the command line ----------------------------------------


@pytest.mark.ray
def test_a_tiny_frontier_runs_from_the_command_line_and_reports(tmp_path, ray_session, capsys):
    """The settings of tests/study/test_frontier.py's Ray test: the LSTM solves T = 5 on 2 of 3
    seeds, so the search doubles, bisects and stops decided and moot probes. ``python -m study.run``'s
    ``main``, run in this process on the module's Ray; ``python -m study.report`` as a process."""
    argv = ["--frontier", "--models", "LSTM", "--set", "hidden=16", "--set", "steps=600", "--set", "eval_every=50",
            "--set", "lr=0.01", "--set", "init=default", "--set", "patience=2", "--solve-rule", "2/3",
            "--max-length", "12", "--results-dir", str(tmp_path), "--name", "f"]
    code = main(argv)
    printed = capsys.readouterr()
    assert code == 0, printed.out[-3000:] + printed.err[-3000:]
    stdout = printed.out
    folder = tmp_path / "f"
    assert f"study f: up to 30 trials -> {folder}" in stdout
    assert f"TensorBoard: tensorboard --logdir {folder}/tensorboard" in stdout
    meta = json.loads((folder / "study.json").read_text())
    assert meta["status"] == "complete" and meta["kind"] == "frontier" and meta["trials"] == 30
    assert meta["frontier"] == {"solve_rule": "2/3", "start_length": 5, "max_length": 12, "speculate": 1}
    fr = load_frontier(folder)
    assert fr is not None and fr.done and fr.rule == (2, 3)
    table = pd.read_csv(folder / "frontier.csv")
    assert set(table["outcome"]) <= {"passed", "failed", "moot"} and table["done"].all()
    assert table["length"].between(5, 12).all() and (table["n"] + table["stopped"] == table["launched"]).all()
    longest, first = fr.frontier(0)
    assert first is not None and 5 <= first <= 12  # 600 steps do not take an LSTM to T = 12
    assert set(table["first_failed"]) == {first}
    assert set(table["longest_solved"].dropna()) == ({longest} if longest is not None else set())
    decided = table[table["outcome"] != "moot"]
    assert (decided["k"] <= decided["n"]).all() and (decided["n"] <= 3).all()
    assert (decided.loc[decided["outcome"] == "passed", "k"] >= 2).all()
    assert (decided.loc[decided["outcome"] == "failed", "n"] - decided.loc[decided["outcome"] == "failed", "k"]
            >= 2).all()
    assert (folder / "figures" / "frontier.png").stat().st_size > 10_000
    shown = f"{longest}  (first failure: {first}; rule 2/3)" if longest is not None else \
        f"none  (fails at the start length {first}; rule 2/3)"
    assert f"LSTM  longest T remembered: {shown}" in stdout and f"rule: {RULE_TEXT}" in stdout
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == fr.launched and set(trials["status"]) == {"TERMINATED"}
    assert not trials.duplicated(["model", "length", "seed"]).any()
    assert table["k"].sum() == trials["steps_to_target"].notna().sum()
    # TensorBoard: one run per trial, named by its cell, T and seed only.
    assert sorted(p.name for p in (folder / "tensorboard").iterdir()) == sorted(
        f"LSTM_T{r.length}_s{r.seed}" for r in trials.itertuples())

    # study.report rewrites frontier.csv and the figure, prints the frontier, and report.html shows it.
    (folder / "frontier.csv").unlink()
    (folder / "figures" / "frontier.png").unlink()
    report = subprocess.run([sys.executable, "-m", "study.report", str(folder)], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr[-2000:]
    assert f"LSTM  longest T remembered: {shown}" in report.stdout
    pd.testing.assert_frame_equal(pd.read_csv(folder / "frontier.csv"), table)
    assert (folder / "figures" / "frontier.png").is_file()
    html = (folder / "report.html").read_text()
    assert 'id="frontier"' in html and 'id="frontier-probes"' in html and 'id="fig-frontier"' in html
    assert "memory frontier (rule 2/3, T from 5 to 12)" in html

    # --resume of the finished frontier reruns nothing.
    results = {p: p.read_text() for p in folder.glob("trial_*/result.json")}
    code = main(["--resume", "--name", "f", "--results-dir", str(tmp_path), "--no-report"])
    printed = capsys.readouterr()
    assert code == 0, printed.out[-3000:] + printed.err[-3000:]
    assert {p: p.read_text() for p in folder.glob("trial_*/result.json")} == results
    assert json.loads((folder / "study.json").read_text())["status"] == "complete"
    assert len(pd.read_csv(folder / "trials.csv")) == len(trials)


def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.ray
@pytest.mark.fault
def test_a_frontier_whose_driver_is_killed_resumes_without_rerunning_a_finished_seed(tmp_path, fault):
    """A real frontier on Ray, its driver SIGKILLed while seeds of a probe train and others have
    finished, then ``--resume``: the search completes, every finished seed keeps its outcome and
    its checkpoint byte for byte (it was not trained again), and no seed is trained twice."""
    import signal
    import time

    cmd = [sys.executable, "-m", "study.run", "--frontier", "--models", "LSTM", "--set", "hidden=16",
           "--set", "steps=600", "--set", "eval_every=50", "--set", "lr=0.01", "--set", "init=default",
           "--set", "patience=2", "--solve-rule", "2/3", "--max-length", "12", "--num-cpus", "2",
           "--checkpoint-every", "100", "--no-report", "--dashboard-port", str(free_port()),
           "--results-dir", str(tmp_path), "--name", "f"]
    folder = tmp_path / "f"
    state_file = folder / "frontier" / "state.json"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def seeds():
        """(cell, length, seed) -> [state, steps_to_target] in the search's own state file, and the
        seeds whose Ray trial still runs (a seed is solved at its first result at the target, and
        its trial trains on to its patience)."""
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            return {}, set()
        return ({(c, p["length"], int(s)): [v["state"], v["steps_to_target"]]
                 for c, probes in enumerate(state["probes"]) for p in probes for s, v in p["seeds"].items()},
                {tuple(k) for k in state["ray_trials"].values()})

    deadline, before, live = time.monotonic() + 300, {}, set()
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        before, live = seeds()
        ended = [k for k, (st, _) in before.items() if st in ("solved", "unsolved") and k not in live]
        if len(ended) >= 2 and live and any((folder / "checkpoints").glob("LSTM-*.pt")):
            break
    assert proc.poll() is None, "the frontier ended before its driver could be killed"
    finished = {k: v for k, v in before.items() if v[0] in ("solved", "unsolved") and k not in live}
    kept = {p.name: _sha(p) for p in (folder / "checkpoints").glob("*.pt")}
    proc.send_signal(signal.SIGKILL)  # no handler runs, nothing is cleaned up
    proc.communicate(timeout=60)
    assert json.loads((folder / "study.json").read_text())["status"] == "running"

    resumed = subprocess.run(fresh_port(cmd) + ["--resume"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert json.loads((folder / "study.json").read_text())["status"] == "complete"
    fr = load_frontier(folder)
    assert fr is not None and fr.done
    after, _ = seeds()
    for key, value in finished.items():  # a finished seed keeps its outcome and steps to target
        assert after[key] == value, key
    trials = pd.read_csv(folder / "trials.csv")
    assert not trials.duplicated(["model", "length", "seed"]).any()  # no seed trained twice
    counted = {(0, int(r.length), int(r.seed)) for r in trials.itertuples()}
    assert {k for k, (st, _) in after.items() if st in ("solved", "unsolved")} <= counted
    # Every seed that trained has its row, a seed stopped because its probe was decided included.
    trained = {(0, int(m.group(1)), int(m.group(2))) for p in (folder / "checkpoints").glob("LSTM-*.pt")
               if (m := re.match(r"LSTM-T(\d+)-s(\d+)-", p.name))}
    assert trained and trained <= counted, sorted(trained - counted)

    for key in finished:  # and its checkpoint was not written again: it did not train again
        row = trials[(trials["length"] == key[1]) & (trials["seed"] == key[2])]
        assert len(row) == 1, key
        name = next(n for n in kept if n.startswith(f"LSTM-T{key[1]}-s{key[2]}-"))
        assert _sha(folder / "checkpoints" / name) == kept[name], name
    table = pd.read_csv(folder / "frontier.csv")
    assert table["done"].all() and set(table["outcome"]) <= {"passed", "failed", "moot"}
    for probe in table[table["outcome"] != "moot"].itertuples():  # k is the trials that reached the target
        rows = trials[trials["length"] == probe.length]
        assert probe.k == rows["steps_to_target"].notna().sum(), probe.length
    fault("the driver of a memory frontier SIGKILLed mid-search", 1,
          "`--resume` completes the search; every seed finished before the kill keeps its outcome and its "
          "checkpoint byte for byte (it is not trained again), every counted seed has one row in trials.csv, none two")
