"""python -m study.methods: training steps spent and the first solving config counted as its
docstring says (pure tables), and a tiny real comparison of two methods writing its tables."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from study.methods import first_solve, spent_curve

ROOT = Path(__file__).resolve().parents[2]


def _curves(rows):
    return pd.DataFrame(rows, columns=["trial_id", "step", "eval_accuracy"])


def test_a_samplers_steps_are_counted_trial_after_trial_in_trial_order():
    # Trial 1 was asked for second though its rows come first; trial 0 stopped at 200 steps.
    curves = _curves([("x_00001", 100, 0.5), ("x_00001", 200, 0.995), ("x_00000", 100, 0.3), ("x_00000", 200, 0.4)])
    assert first_solve(curves, pbt=False, target=0.99) == (2, 200 + 200)
    spent = spent_curve(curves, pbt=False)
    assert list(spent["spent"]) == [100, 200, 300, 400] and list(spent["best"]) == [0.3, 0.4, 0.5, 0.995]
    assert first_solve(curves, pbt=False, target=0.999) == (None, None)


def test_pbts_population_spends_its_steps_together():
    curves = _curves([("x_00000", 100, 0.2), ("x_00000", 200, 0.6), ("x_00000", 300, 0.7),
                      ("x_00001", 100, 0.4), ("x_00001", 200, 0.5), ("x_00001", 300, 0.992),
                      ("x_00002", 100, 0.1), ("x_00002", 200, 0.3), ("x_00002", 300, 0.4)])
    assert first_solve(curves, pbt=True, target=0.99) == (3, 3 * 300)
    spent = spent_curve(curves, pbt=True)
    assert list(spent["spent"]) == [300, 600, 900] and list(spent["best"]) == [0.4, 0.6, 0.992]


@pytest.mark.parametrize("argv,words", [
    (["--num-samples", "0"], "--num-samples: must be an integer >= 1, got 0"),
    (["--steps", "-5"], "--steps: must be an integer >= 1, got -5"),
    (["--search-seeds", "-1"], "--search-seeds: must be integers >= 0, got [-1]"),
    (["--perturbation-interval", "300"], "--perturbation-interval: must be a multiple of eval_every (250): PBT "
                                         "compares trials at their evaluations, got 300"),
    (["--perturbation-interval", "3000"], "--perturbation-interval: must be below the trial's steps (3000), got 3000"),
    (["--methods", "bogus"], "--methods: invalid choice: 'bogus'"),
])
def test_bad_values_are_one_line_exit_2_nothing_written(argv, words, tmp_path):
    out = tmp_path / "m"
    done = subprocess.run([sys.executable, "-m", "study.methods", "--out", str(out), *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr
    assert lines[0].startswith("python -m study.methods: error: ")
    assert not out.exists()


@pytest.mark.ray
def test_a_tiny_comparison_writes_its_tables_and_figure(tmp_path):
    out = tmp_path / "m"
    cmd = [sys.executable, "-m", "study.methods", "--out", str(out), "--methods", "random", "pbt", "--model", "RNN",
           "--length", "5", "--num-samples", "4", "--steps", "200", "--eval-every", "50",
           "--perturbation-interval", "100", "--search-seeds", "0", "--confirm-seeds", "2", "--num-cpus", "2"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # One Ray for the four studies (two searches, two confirmations), not one each.
    assert (done.stdout + done.stderr).count("Started a local Ray instance") == 1, done.stderr[-3000:]
    methods = pd.read_csv(out / "methods.csv")
    repeats = pd.read_csv(out / "repeats.csv")
    assert list(methods["method"]) == ["random", "pbt"] and list(repeats["trials"]) == [4, 4]
    assert ((repeats["steps_spent"] > 0) & (repeats["steps_spent"] <= 4 * 200)).all()
    assert set(methods["confirm_solved"].str.split("/").str[1]) == {"2"}
    assert (out / "figures" / "methods.png").stat().st_size > 0
    assert (out / "confirm-pbt" / "trials.csv").exists()
    # Run again: every search is complete, nothing is trained again, the same tables.
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "done" not in again.stdout
    assert "Started a local Ray instance" not in again.stdout + again.stderr  # nothing to train: no Ray
    pd.testing.assert_frame_equal(pd.read_csv(out / "methods.csv"), methods)
