"""Counts in the plan's printed lines agree with their noun: "1 trial", "2 trials"."""

import pytest

from study.run import main


@pytest.mark.parametrize("argv, expect", [
    (["--grid", "smoke", "--models", "RNN", "--lengths", "5", "--seeds", "1"], "(grid, 1 trial)"),
    (["--grid", "smoke", "--models", "RNN", "--lengths", "5", "--seeds", "2"], "(grid, 2 trials)"),
    (["--search", "optuna", "--model", "RNN", "--length", "5", "--num-samples", "1", "--scheduler", "none"],
     "(Optuna search, 1 trial)"),
])
def test_the_dry_run_counts_trials_in_the_right_number(argv, expect, capsys, tmp_path):
    assert main([*argv, "--dry-run", "--results-dir", str(tmp_path)]) in (0, None)
    out = capsys.readouterr().out
    assert expect in out and " 1 trials" not in out, out
