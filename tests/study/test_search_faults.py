"""An Optuna search whose driver is SIGKILLed mid-search, then resumed: every trial once in
trials.csv and once COMPLETE in the journal, the search reaching its num_samples."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.ports import free_port, fresh_port

pytestmark = [pytest.mark.ray, pytest.mark.fault]  # a search on Ray, its driver killed

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
SAMPLES = 8



def _journal(folder):
    """The search's Optuna trials as its journal holds them (an empty list before it exists)."""
    import optuna

    path = folder / "optuna.journal"
    if not path.exists():
        return []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    try:
        return optuna.load_study(study_name="palrnn", storage=storage).get_trials(deepcopy=False)
    except KeyError:  # the study is not created yet
        return []


def test_optuna_search_driver_sigkilled_then_resumed_counts_every_trial_once(tmp_path, fault):
    import optuna

    cmd = [sys.executable, "-m", "study.run", "--search", "optuna", "--model", "RNN", "--length", "5",
           "--num-samples", str(SAMPLES), "--scheduler", "off", "--set", "steps=800", "--set", "eval_every=100",
           "--set", "batch_size=32", "--checkpoint-every", "100", "--num-cpus", "2", "--no-report",
           "--dashboard-port", str(free_port()), "--results-dir", str(tmp_path), "--name", "s"]
    folder = tmp_path / "s"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, before = time.monotonic() + 300, []
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        before = _journal(folder)
        done = [t for t in before if t.state == optuna.trial.TrialState.COMPLETE]
        if len(done) >= 3 and any(t.state == optuna.trial.TrialState.RUNNING for t in before):
            break
    assert proc.poll() is None, "the search ended before its driver could be killed"
    time.sleep(1.5)  # a moment on: trials may start that Ray's saved experiment state does not hold yet
    proc.kill()  # SIGKILL: no handler runs, nothing is cleaned up
    proc.communicate(timeout=60)
    before = {t.number: t for t in _journal(folder)}
    finished_before = {n: t for n, t in before.items() if t.state == optuna.trial.TrialState.COMPLETE}
    assert json.loads((folder / "study.json").read_text())["status"] == "running"

    resumed = subprocess.run(fresh_port(cmd) + ["--resume"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                             timeout=500)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert json.loads((folder / "study.json").read_text())["status"] == "complete"
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    journal = _journal(folder)
    complete = [t for t in journal if t.state == optuna.trial.TrialState.COMPLETE]
    left = [t for t in journal if t.state != optuna.trial.TrialState.COMPLETE]
    # The search reached its num_samples: that many trials, each once in trials.csv and once
    # COMPLETE in the journal, the two matched by Ray's trial id.
    assert len(trials) == SAMPLES and trials["trial_id"].is_unique, trials[["trial_id", "stopped_by"]]
    assert set(trials["stopped_by"]) <= {"steps", "target", "diverged"}, trials["stopped_by"]
    shown = "\n".join(f"{t.number} {t.state.name} {t.user_attrs}" for t in journal)
    assert len(complete) == SAMPLES, shown
    # Matched by their learning rate (continuous, so each trial's own): a trial that had ended
    # before the kill, unknown to Ray's saved state, keeps its first Ray trial id in the journal.
    assert sorted(t.params["lr"] for t in complete) == sorted(trials["lr"]), shown
    # A journal trial the killed driver had started and Ray's saved state lacks is handed to a new
    # Ray trial (PalrnnOptunaSearch.suggest); should one stay RUNNING, it is never COMPLETE, never
    # counted, and printed here. Not seen since that hand-over.
    assert all(t.state == optuna.trial.TrialState.RUNNING for t in left), shown
    if left:
        print(f"journal trials left RUNNING by the killed driver: {[t.number for t in left]}")
    # One Optuna study throughout: the sampler of the resumed driver saw the trials from before the
    # kill (numbering goes on), and a trial finished before the kill keeps its parameters and value.
    after = {t.number: t for t in journal}
    assert sorted(after) == list(range(len(journal)))
    for number, t in finished_before.items():
        assert after[number].params == t.params and after[number].value == t.value, number
    fault("the driver of an Optuna search SIGKILLed mid-search", 1,
          f"`--resume` completes the search's {SAMPLES} trials: each once in trials.csv and once COMPLETE in the "
          "journal (trials the killed driver started or ended after Ray's last save are handed to new Ray trials), "
          "the trials finished before the kill kept, in one Optuna study")
