"""Bad input across the three commands, as real processes: one line, exit status 2, no traceback,
nothing written anywhere, Ray never started (the in-process suites in tests/palrnn and tests/study
try many more)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from study.driver.execute import dashboard_warning

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    (["palrnn", "--length", "0"], "--length: must be an integer >= 1"),
    (["palrnn", "--model", "TRANSFORMER"], "--model: must be one of RNN, LSTM, GRU"),
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
def test_bad_input_as_a_real_process(argv, expected, tmp_path, fault):
    if "--gpus-per-trial" in argv:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    ray_tmp = tmp_path.parent / (tmp_path.name + "-ray")  # where a Ray started by the command would write
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": str(ray_tmp)}
    p = subprocess.run([sys.executable, "-m", *argv], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert not ray_tmp.exists(), "Ray was started"
    assert p.returncode == 2, p.stderr
    assert p.stdout == "" and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], p.stderr
    assert list(tmp_path.iterdir()) == []
    fault("a bad value to one of the three commands, as a real process", 1,
          "one line, exit 2, no traceback, nothing written, no Ray session created (RAY_TMPDIR stays empty)")


def test_dashboard_elsewhere_than_localhost_is_warned_about():
    assert dashboard_warning("127.0.0.1", None) is None
    assert dashboard_warning("0.0.0.0", "127.0.0.1:6379") is None  # a cluster's dashboard is its own
    assert "reachable from other machines" in dashboard_warning("0.0.0.0", None)


@pytest.mark.ray
def test_ray_tmpdir_shows_whether_ray_started():
    """The control for the check above: a Ray that does start writes its session under RAY_TMPDIR."""
    import shutil
    import tempfile

    short = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # Ray's socket paths must stay short
    try:
        env = {**os.environ, "RAY_TMPDIR": str(short)}
        code = ("import ray; ray.init(num_cpus=1, include_dashboard=False, object_store_memory=80 * 2**20); "
                "ray.shutdown()")
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        assert list(short.glob("ray/session_*")), list(short.rglob("*"))[:5]
    finally:
        shutil.rmtree(short, ignore_errors=True)
