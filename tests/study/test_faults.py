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


def _strike(tmp_path, name, sets, low, high, hits):
    """Start a study, and for each of ``hits`` in turn, wait until a trial not struck yet has its
    checkpoint (<study>/checkpoints/<trial key>.pt) at low <= step < high and call
    ``hit(checkpoint, its last record)`` on it once; then let the study finish.

    Returns (folder, the struck trials' ids in the order of ``hits``, the study's output); the study
    must have exited 0.
    """
    proc = subprocess.Popen(_study(tmp_path, name, *sets), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    folder, struck = tmp_path / name, []
    deadline = time.monotonic() + 240
    while len(struck) < len(hits) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        for checkpoint in (folder / "checkpoints").glob("*.pt"):
            last = _saved(checkpoint)
            if last and last["trial_id"] not in struck and low <= last["step"] < high:
                hits[len(struck)](checkpoint, last)
                struck.append(last["trial_id"])
                break
    if len(struck) < len(hits):
        proc.kill()
    out, _ = proc.communicate(timeout=300)
    assert len(struck) == len(hits), f"only {len(struck)} trials could be struck mid-training:\n" + out[-3000:]
    assert proc.returncode == 0, out[-3000:]
    return folder, struck, out


def _kill(checkpoint, last):
    os.kill(last["pid"], signal.SIGKILL)


def _truncate_and_kill(checkpoint, last):
    # Kill the worker, then truncate the checkpoint the trial will resume from.
    os.kill(last["pid"], signal.SIGKILL)
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])


def test_a_sigkilled_worker_resumes_and_a_corrupt_checkpoint_restarts_from_step_0(tmp_path, fault):
    """One study of two trials: one trial's worker SIGKILLed mid-training, then the other's, with the
    checkpoint it would resume from truncated."""
    sets = ["--set", "steps=2000", "--set", "eval_every=100", "--set", "hidden=16", "--set", "init=default",
            "--set", "lr=0.003", "--checkpoint-every", "400"]
    folder, (killed, victim), out = _strike(tmp_path, "strike", sets, 800, 1600, [_kill, _truncate_and_kill])
    trials = pd.read_csv(folder / "trials.csv").set_index("trial_id")
    curves = pd.read_csv(folder / "curves.csv")
    assert len(trials) == 2 and sorted(trials.index) == sorted([killed, victim])  # one row each
    for trial in (killed, victim):
        row = trials.loc[trial]
        assert row["status"] == "TERMINATED" and row["step"] == 2000, row
        curve = curves[curves["trial_id"] == trial]
        assert curve["step"].tolist() == list(range(100, 2001, 100))  # every evaluation once
        # Bit-exact: a resume from a checkpoint, and a restart from 0, each draw an uninterrupted run's curve.
        expected = _expected_curve(model="LSTM", length=int(row["length"]), hidden=16, init="default", lr=0.003,
                                   steps=2000, eval_every=100, patience=0, seed=0)
        assert curve["eval_accuracy"].tolist() == expected, trial
    # The killed trial resumed from its last checkpoint, not from 0.
    assert trials.loc[killed, "restarts"] >= 1 and trials.loc[killed, "restarted_from_scratch"] == False  # noqa: E712
    assert trials.loc[victim, "restarted_from_scratch"] == True  # noqa: E712
    assert out.count("not a readable palrnn checkpoint") >= 1 and "restarting this trial from step 0" in out
    fault("a trial's worker SIGKILLed mid-training", 1,
          "the trial resumes from its last checkpoint and ends with all its steps; one row in trials.csv; every "
          "evaluation once in curves.csv, bit-identical to an uninterrupted run")
    fault("a trial's checkpoint truncated as its worker is SIGKILLed", 1,
          "the trial says which file is unreadable, restarts from step 0 and is marked `restarted_from_scratch`")
