"""Bad input across the three commands, as real processes: one line, exit status 2, no traceback,
nothing written anywhere (the in-process suites in tests/palrnn and tests/study try many more)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from study.run import dashboard_warning

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    (["palrnn", "--length", "0"], "--length: must be an integer >= 1"),
    (["palrnn", "--model", "GRU"], "--model: must be one of RNN, LSTM"),
    (["palrnn", "--batch-size", "x"], "--batch-size: must be an integer"),
    (["study.run", "--grid", "nosuch"], "--grid: unknown grid"),
    (["study.run", "--name", "../../etc"], "--name: '../../etc' is not allowed"),
    (["study.run", "--set", "hidden=-5"], "--set: hidden: must be an integer >= 1"),
    (["study.run", "--resume", "--name", "nosuch"], "--resume: no study 'nosuch'"),
    (["study.run", "--gpus-per-trial", "0.5"], "--gpus-per-trial"),
    (["study.report", "no/such/folder"], "no/such/folder: no such folder"),
    (["study.report", "."], "not a study folder"),
]


@pytest.mark.parametrize("argv,expected", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_as_a_real_process(argv, expected, tmp_path):
    if "--gpus-per-trial" in argv:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", *argv], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stdout == "" and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], p.stderr
    assert list(tmp_path.iterdir()) == []


def test_dashboard_elsewhere_than_localhost_is_warned_about():
    assert dashboard_warning("127.0.0.1", None) is None
    assert dashboard_warning("0.0.0.0", "127.0.0.1:6379") is None  # a cluster's dashboard is its own
    assert "reachable from other machines" in dashboard_warning("0.0.0.0", None)
