"""An interrupted study (SIGINT to the driver) is resumed with --resume, without rerunning finished trials,
to the tables an uninterrupted run makes, a trial Ray holds TERMINATED short of its steps included."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.ports import free_port
from tests.undisturbed import assert_undisturbed

pytestmark = [pytest.mark.ray, pytest.mark.fault]  # studies on Ray, interrupted

ROOT = Path(__file__).resolve().parents[2]
STEPS = 900  # each trial's: 8 trials of them on 2 CPUs leave time to interrupt a study with some finished


def _cmd(tmp_path, *extra, name="r"):
    return [sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", "2", "--name", name,
            "--results-dir", str(tmp_path), "--set", f"steps={STEPS}", "--set", "eval_every=100",
            "--set", "batch_size=32", "--full",
            "--checkpoint-every", "300", "--num-cpus", "2", "--no-report",
            "--dashboard-port", str(free_port()), *extra]


def _finished_trials(folder):
    """Checkpoint file -> its bytes, for the trials whose own checkpoint says they ended (Ray's
    result files reach the study folder only when Ray copies them there, every few seconds)."""
    import torch

    done = {}
    for checkpoint in (folder / "checkpoints").glob("*.pt"):
        try:
            data = checkpoint.read_bytes()
            records = torch.load(checkpoint, map_location="cpu", weights_only=True)["extra"]["records"]
        except Exception:  # being replaced this instant
            continue
        if records and records[-1]["step"] == STEPS:
            done[checkpoint.name] = data
    return done


def _interrupted(cmd, folder, env, finished):
    """Run the study ``cmd`` until ``finished`` of its trials have ended, then SIGINT its driver
    (Ctrl-C); it must exit 130. Returns what it printed."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while len(_finished_trials(folder)) < finished and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the study ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    return out


def _hold_one_running_trial_terminated(folder) -> int:
    """Ray can end a running trial TERMINATED when a study is stopped, and a restored experiment never
    starts a TERMINATED trial again. Give the interrupted study's saved experiment state exactly that
    for one trial it holds RUNNING (any others stay RUNNING, which Ray restarts itself). Returns how many
    trials were made so (1)."""
    (state_file,) = sorted(folder.glob("experiment_state-*.json"))[-1:]
    state = json.loads(state_file.read_text())
    for entry in state["trial_data"]:
        trial = json.loads(entry[0])
        if trial["status"] == "RUNNING":
            trial["status"] = "TERMINATED"
            entry[0] = json.dumps(trial)
            state_file.write_text(json.dumps(state))
            return 1
    raise AssertionError("no trial was running at the interrupt")


def test_sigint_then_resume_completes_without_rerunning(tmp_path, fault):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    folder = tmp_path / "r"
    out = _interrupted(_cmd(tmp_path), folder, env, finished=2)
    assert "--resume --name r" in out
    meta = json.loads((folder / "study.json").read_text())
    assert meta["status"] == "interrupted" and meta["wall_seconds"] > 0
    partial = pd.read_csv(folder / "trials.csv")
    finished_before = _finished_trials(folder)
    assert 2 <= len(finished_before) < 8 and len(partial) >= 2
    made_short = _hold_one_running_trial_terminated(folder)

    resumed = subprocess.run(_cmd(tmp_path, "--resume"), cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    curves = pd.read_csv(folder / "curves.csv", dtype={"trial_id": str})
    assert len(trials) == 8
    after = json.loads((folder / "study.json").read_text())
    assert after["status"] == "complete" and after["started"] == meta["started"]
    # Both runs' time, not the resumed run's alone ("8 trials in 21 s" is the resumed run's).
    resumed_seconds = float(re.search(r"8 trials in (\d+) s", resumed.stdout).group(1))
    assert abs(after["wall_seconds"] - meta["wall_seconds"] - resumed_seconds) <= 1
    # Finished trials were not run again: their checkpoints are exactly as they were.
    for name, data in finished_before.items():
        assert (folder / "checkpoints" / name).read_bytes() == data, name
    # Every trial ran to its end (the one held TERMINATED short too), every evaluation once, and the
    # tables are an uninterrupted run's, row for row and evaluation for evaluation (resume is bit-exact).
    assert_undisturbed(trials, curves, STEPS)
    assert curves.groupby("trial_id")["step"].apply(list).map(lambda s: s == list(range(100, STEPS + 1, 100))).all()
    fault("SIGINT (Ctrl-C) to the driver mid-study", 1,
          "tables for what finished, `status: interrupted`, exit 130 and the resume command; `--resume` completes "
          "without rerunning finished trials, and the tables equal an uninterrupted run's, row for row")
    fault("a trial Ray holds TERMINATED short of its steps (written into Ray's saved state of an interrupted "
          "study: the state is real, how Ray came to write it is not reproduced)", made_short,
          "it is run to its end from its own checkpoint (Ray never restarts a TERMINATED trial); the study ends "
          "complete, every evaluation once")
