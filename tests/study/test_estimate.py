"""Estimates before a run (docs/estimates.md): the wall time and each trial's memory that every dry
run and every study's start print, the refusal of a trial too large for the machine, the frontier's
bound by arithmetic, and the held-out count without drawing the held-out set."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import study
from palrnn.data import Palindromes, eval_count
from study.basics.errors import StudyError
from study.frontier import max_trials
from study.frontier.options import FrontierOptions
from study.planning.plan import duration_text, estimate, size_text, trial_memory
from study.run import main
from tests.study.frontier_oracle import frontier_max_trials

ROOT = Path(__file__).resolve().parents[2]


def _flat(text: str) -> str:
    """Printed text with its wrapping undone."""
    return " ".join(text.split())


# -- the numbers behind a dry run --------------------------------------------------------------


def test_the_frontier_bound_by_arithmetic_is_the_search_played_out():
    for start in (2, 5, 7):
        for top in range(start, 45):
            for rule, speculate in (((1, 1), 0), ((4, 5), 1), ((2, 3), 2)):
                options = FrontierOptions(rule=rule, start=start, max_length=top, speculate=speculate)
                assert max_trials(options, 3) == frontier_max_trials(options, 3), options


def test_the_held_out_count_past_t_615_and_equal_to_the_set_drawn():
    # 10**m overflowed a float past m = 308: eval_left_halves raised OverflowError at T = 700.
    assert Palindromes(700).eval_left_halves().shape == (4096, 351)
    assert eval_count(700) == eval_count(100_000) == 4096
    for length in (1, 2, 5, 7, 9, 10, 12):
        assert eval_count(length) == Palindromes(length).eval_left_halves().shape[0], length
    assert eval_count(9, eval_size=20_000) == Palindromes(9, eval_size=20_000).eval_left_halves().shape[0] > 9_000


def test_memory_grows_with_t_batch_and_hidden_and_the_lstm_keeps_more_than_the_rnn():
    base = {**study.plan(models=["LSTM"], lengths=[50]).configs()[0]}
    one = trial_memory(base).parts["training step"]
    assert trial_memory({**base, "length": 100}).parts["training step"] == pytest.approx(2 * one, rel=0.02)
    assert trial_memory({**base, "batch_size": 256}).parts["training step"] == pytest.approx(2 * one, rel=0.02)
    assert trial_memory({**base, "hidden": 256}).parts["training step"] == pytest.approx(2 * one, rel=0.02)
    assert trial_memory({**base, "model": "RNN"}).parts["training step"] < one / 2


def test_texts_of_sizes_and_durations():
    assert [size_text(n) for n in (512, 3.1e6, 42e9, 1.5e12)] == ["1 kB", "3.1 MB", "42 GB", "1.5 TB"]
    assert [duration_text(s) for s in (47, 65, 900, 7800, 90000)] == ["47 s", "1 min 5 s", "15 min", "2 h 10 min",
                                                                      "1 d 1 h"]


def test_each_kind_says_whether_its_time_is_a_bound():
    grid = _flat(study.plan(models=["RNN"], lengths=[5]).text())
    assert "estimate: at most" in grid and "early stopping at the target ends many sooner" in grid
    full = _flat(study.plan(models=["RNN"], lengths=[5], full=True).text())
    assert "estimate: about" in full and "every trial trains all its steps)" in full
    search = study.plan(search="optuna", models=["RNN", "LSTM", "GRU"], lengths=[20, 40], num_samples=100)
    text = _flat(search.text())
    assert "(600 trials, " in text
    assert "an upper bound: all 100 samples of each cell" in text and "scheduler (asha) cuts some" in text
    # A search's cells run one after another: six cells' worth of time, each at the space's largest hidden.
    one_cell = estimate(study.plan(search="optuna", models=["GRU"], lengths=[40], num_samples=100)).wall
    assert search.estimated().wall > 3 * one_cell
    frontier = _flat(study.plan(frontier=True, models=["LSTM"]).text())
    assert "an upper bound: every seed of every probe on the longest path" in frontier
    assert "memory: up to" in frontier and "per trial (LSTM T=100, hidden 128, batch 128)" in frontier


def test_more_cpus_per_trial_run_fewer_at_once_and_take_longer(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    two = estimate(study.plan(models=["RNN", "LSTM"], lengths=[5, 6], full=True))
    one = estimate(study.plan(models=["RNN", "LSTM"], lengths=[5, 6], full=True, cpus_per_trial=4))
    assert (two.at_once, one.at_once) == (4, 1) and one.wall > two.wall


# -- the refusal and the option that goes on ----------------------------------------------------


def test_a_trial_too_large_for_the_machine_is_refused_in_one_line(refused_by_run, tmp_path, capsys):
    refused_by_run(["--models", "LSTM", "--lengths", "100000"], "memory: one trial (LSTM T=100,000, hidden 128, "
                                                                 "batch 128) needs about")
    with pytest.raises(SystemExit) as exc:
        main(["--lengths", "100000", "--dry-run", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "this machine has" in err[0] and "--ignore-memory" in err[0]
    assert not any(tmp_path.iterdir())
    with pytest.raises(StudyError, match=r"^memory: one trial \(LSTM T=100,000.*--ignore-memory to run it anyway$"):
        study.plan(models=["LSTM"], lengths=[100_000])


def test_ignore_memory_goes_on_and_says_what_it_needs(tmp_path, capsys, no_ray):
    assert main(["--lengths", "100000", "--dry-run", "--ignore-memory", "--results-dir", str(tmp_path)]) == 0
    out = _flat(capsys.readouterr().out)
    assert "6 trials estimate: at most" in out and "memory: up to" in out and "this machine has" in out
    assert not any(tmp_path.iterdir())
    plan = study.plan(models=["LSTM"], lengths=[100_000], ignore_memory=True)
    assert plan.estimated().memory.host > 10e9 and "T=100,000" in plan.text()


def test_the_frontier_dry_run_to_t_100000_answers_at_once():
    """The dry run of a frontier to T = 100,000 played out its whole search once per threshold (more
    than 2 minutes); the bound is now arithmetic. A generous timeout, no timing assertion."""
    argv = [sys.executable, "-m", "study.run", "--frontier", "--models", "LSTM", "--max-length", "100000",
            "--dry-run"]
    start = time.perf_counter()
    refused = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=30)
    went_on = subprocess.run([*argv, "--ignore-memory"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    print(f"two dry runs in {time.perf_counter() - start:.2f} s")
    assert refused.returncode == 2 and "memory: one trial (LSTM T=100,000" in refused.stderr
    assert went_on.returncode == 0, went_on.stderr
    out = _flat(went_on.stdout)
    assert "up to 310 trials" in out and "estimate: at most" in out and "T = 100,000 trains all its steps" in out


# -- against a real study ------------------------------------------------------------------------


@pytest.mark.ray
@pytest.mark.alone  # the estimate is for this machine with nothing else running: no other test beside it
def test_the_estimate_is_within_a_factor_of_2_of_a_real_studys_wall_time(tmp_path):
    """A tiny grid on Ray (4 trials of 1,500 steps, all steps: --full), timed as its user waits for
    it, from the command to its exit, against the estimate its start printed."""
    argv = ["--models", "RNN", "LSTM", "--lengths", "5", "--seeds", "2", "--set", "steps=1500", "--full",
            "--no-report", "--cpus-per-trial", "1", "--results-dir", str(tmp_path), "--name", "x"]
    planned = study.plan(models=["RNN", "LSTM"], lengths=[5], seeds=2, set={"steps": 1500}, full=True,
                         results_dir=str(tmp_path), name="x").estimated()
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "study.run", *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    wall = time.perf_counter() - start
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"estimate: about {duration_text(planned.wall)} wall time" in _flat(p.stdout)
    print(f"estimated {planned.wall:.1f} s, measured {wall:.1f} s")
    assert planned.wall / 2 <= wall <= 2 * planned.wall, (planned.wall, wall)
