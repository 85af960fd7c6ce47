"""Faults injected for real: a trial's worker SIGKILLed, a checkpoint corrupted, a diverging trial."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from palrnn.config import Config
from palrnn.train import fit
from tests.ports import free_port

pytestmark = [pytest.mark.ray, pytest.mark.fault]  # studies on Ray, a worker killed, a checkpoint truncated

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}



def _study(tmp_path, name, *extra):
    return [sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", "1", "--models", "LSTM",
            "--name", name, "--results-dir", str(tmp_path), "--full", "--num-cpus", "2", "--no-report",
            "--dashboard-port", str(free_port()), *extra]


def _saved(checkpoint):
    """What a trial's own checkpoint says: its last saved record (step, ...) and its worker's pid."""
    import torch

    try:
        extra = torch.load(checkpoint, map_location="cpu", weights_only=True)["extra"]
        return {**extra["records"][-1], "pid": extra["pid"], "trial_id": extra["trial_id"]}
    except Exception:  # not written yet, or being replaced this instant
        return None


def _expected_curve(**fields):
    records = []
    fit(Config(**fields), on_eval=records.append)
    return [r["eval_accuracy"] for r in records]


def _strike(tmp_path, name, sets, low, high, hit):
    """Start a study, wait until one trial's checkpoint (<study>/checkpoints/<trial key>.pt) is at
    low <= step < high, call ``hit(checkpoint, its last record)`` on it once, then let the study finish.

    Returns (folder, the struck trial's id, the study's output); the study must have exited 0.
    """
    proc = subprocess.Popen(_study(tmp_path, name, *sets), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    folder, struck = tmp_path / name, None
    deadline = time.monotonic() + 240
    while struck is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        for checkpoint in (folder / "checkpoints").glob("*.pt"):
            last = _saved(checkpoint)
            if last and low <= last["step"] < high:
                hit(checkpoint, last)
                struck = last["trial_id"]
                break
    if struck is None:
        proc.kill()
    out, _ = proc.communicate(timeout=300)
    assert struck is not None, "no trial could be struck mid-training:\n" + out[-3000:]
    assert proc.returncode == 0, out[-3000:]
    return folder, struck, out


def test_sigkilled_worker_resumes_from_checkpoint_and_loses_nothing(tmp_path, fault):
    sets = ["--set", "steps=2000", "--set", "eval_every=100", "--set", "hidden=16", "--set", "init=default",
            "--set", "lr=0.003", "--checkpoint-every", "400"]
    folder, killed, _ = _strike(tmp_path, "kill", sets, 800, 1600,
                                lambda checkpoint, last: os.kill(last["pid"], signal.SIGKILL))
    trials = pd.read_csv(folder / "trials.csv")
    curves = pd.read_csv(folder / "curves.csv")
    assert len(trials) == 2 and (trials["trial_id"] == killed).sum() == 1  # exactly one row
    row = trials.set_index("trial_id").loc[killed]
    assert row["status"] == "TERMINATED" and row["step"] == 2000 and row["restarts"] >= 1
    curve = curves[curves["trial_id"] == killed]
    assert curve["step"].tolist() == list(range(100, 2001, 100))  # every evaluation once
    # Bit-exact resume: the killed trial's curve is the one an uninterrupted run draws.
    expected = _expected_curve(model="LSTM", length=int(row["length"]), hidden=16, init="default", lr=0.003,
                               steps=2000, eval_every=100, patience=0, seed=0)
    assert curve["eval_accuracy"].tolist() == expected
    fault("a trial's worker SIGKILLed mid-training", 1,
          "the trial resumes from its last checkpoint and ends with all its steps; one row in trials.csv; every "
          "evaluation once in curves.csv, bit-identical to an uninterrupted run")


def test_corrupt_checkpoint_restarts_that_trial_from_step_0_and_says_so(tmp_path, fault):
    sets = ["--set", "steps=2000", "--set", "eval_every=100", "--set", "hidden=16", "--set", "init=default",
            "--checkpoint-every", "400"]

    def truncate_and_kill(checkpoint, last):
        # Kill the worker, then truncate the checkpoint the trial will resume from.
        os.kill(last["pid"], signal.SIGKILL)
        checkpoint.write_bytes(checkpoint.read_bytes()[:100])

    folder, victim, out = _strike(tmp_path, "corrupt", sets, 800, 1600, truncate_and_kill)
    assert "not a readable palrnn checkpoint" in out and "restarting this trial from step 0" in out
    trials = pd.read_csv(folder / "trials.csv").set_index("trial_id")
    curves = pd.read_csv(folder / "curves.csv")
    row = trials.loc[victim]
    assert row["restarted_from_scratch"] == True and row["step"] == 2000  # noqa: E712
    curve = curves[curves["trial_id"] == victim]
    assert curve["step"].tolist() == list(range(100, 2001, 100))
    expected = _expected_curve(model="LSTM", length=int(row["length"]), hidden=16, init="default", lr=0.003,
                               steps=2000, eval_every=100, patience=0, seed=0)
    assert curve["eval_accuracy"].tolist() == expected  # a restart from 0 is the same run again
    fault("a trial's checkpoint truncated as its worker is SIGKILLed", 1,
          "the trial says which file is unreadable, restarts from step 0 and is marked `restarted_from_scratch`")
