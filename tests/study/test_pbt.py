"""Population Based Training for real, under Ray: at least one exploit happens, each trial's lineage
is in trials.csv and curves.csv, every curve has every evaluation once, the report draws lr and
accuracy over the steps with the exploits marked; and a PBT study whose driver is SIGKILLed
mid-study resumes to the same tables as an undisturbed run."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from study.results.pbt import log_path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
STEPS, EVERY, INTERVAL, SAMPLES = 400, 50, 100, 4
# What differs between two runs of one study: timings, the machine, and Ray's trial-id prefix.
VOLATILE = ["examples_per_second", "wall_seconds", "node", "trial_id"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cmd(folder: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "study.run", "--search", "optuna", "--scheduler", "pbt", "--model", "RNN",
            "--length", "5", "--num-samples", str(SAMPLES), "--space", "lr=loguniform:1e-3:3e-2",
            "--space", "max_norm=uniform:0.5:5", "--set", f"steps={STEPS}", "--set", f"eval_every={EVERY}",
            "--set", "hidden=16", "--set", "batch_size=32", "--set", "patience=0",
            "--perturbation-interval", str(INTERVAL), "--num-cpus", "2", "--dashboard-port", str(_free_port()),
            "--results-dir", str(folder), "--name", name]


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    """trials.csv and curves.csv, each trial named by its member (its place in the population)."""
    out = {}
    for name in ("trials.csv", "curves.csv"):
        df = pd.read_csv(folder / name, dtype={"trial_id": str})
        df["member"] = df["trial_id"].str.rsplit("_", n=1).str[-1].astype(int)
        keys = [c for c in ("member", "step") if c in df]
        out[name] = df.drop(columns=[c for c in VOLATILE if c in df]).sort_values(keys).reset_index(drop=True)
    return out


def _run(folder: Path, name: str) -> subprocess.CompletedProcess:
    done = subprocess.run(_cmd(folder, name), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_pbt_exploits_records_lineage_and_resumes_after_a_driver_kill_to_the_same_tables(tmp_path, fault):
    # Undisturbed: the exploits happen, and the tables say so.
    _run(tmp_path, "calm")
    calm = tmp_path / "calm"
    log = json.loads(log_path(calm).read_text())
    exploits = [e for e in log if "member" in e]
    assert exploits, log
    assert {e["step"] for e in exploits} <= set(range(INTERVAL, STEPS, INTERVAL))
    tables = _tables(calm)
    trials, curves = tables["trials.csv"], tables["curves.csv"]
    assert len(trials) == SAMPLES and set(trials["status"]) == {"TERMINATED"}
    # Every evaluation once per trial, whoever's weights it went on from.
    for member, steps in curves.groupby("member")["step"]:
        assert list(steps) == list(range(EVERY, STEPS + 1, EVERY)), (member, list(steps))
    # The lineage: each exploit in trials.csv (count and text), and in curves.csv the record after it
    # names the donor and carries the lr and max_norm it went on with.
    for e in exploits:
        row = trials[trials["member"] == e["member"]].iloc[0]
        assert f"{e['step']}:m{e['from']}" in row["lineage"]
        after = curves[(curves["member"] == e["member"]) & (curves["step"] == e["step"] + EVERY)].iloc[0]
        assert after["exploited_from"] == e["from"]
        assert after["lr"] == e["config"]["lr"] and after["max_norm"] == e["config"]["max_norm"]
    counts = pd.Series([e["member"] for e in exploits]).value_counts()
    assert (trials.set_index("member")["exploits"].fillna(0).astype(int)
            == counts.reindex(trials["member"], fill_value=0).values).all()
    # A trial that took another's weights starts its next stretch from the donor's state: its lr
    # changed there, and the donor's own curve is untouched.
    assert (calm / "figures" / "pbt.png").stat().st_size > 0
    assert "pbt.png" in (calm / "report.html").read_text()

    # Killed outright after the first round was decided, then resumed: the same tables.
    cmd = _cmd(tmp_path, "killed")
    killed = tmp_path / "killed"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            rounds = [e for e in json.loads(log_path(killed).read_text()) if "round" in e]
        except (FileNotFoundError, json.JSONDecodeError):
            rounds = []
        if rounds:
            break
    assert proc.poll() is None, "the study ended before its driver could be killed"
    time.sleep(1.0)  # on into the next stretch
    proc.kill()  # SIGKILL: no handler runs
    proc.wait(timeout=60)
    assert json.loads((killed / "study.json").read_text())["status"] == "running"
    resumed = subprocess.run(cmd + ["--resume"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    again = _tables(killed)
    # restarts counts the times a trial started again from its checkpoint: each of PBT's pauses at
    # a round, and here a trial the kill stopped too.
    assert (again["trials.csv"]["restarts"] >= tables["trials.csv"]["restarts"]).all()
    for name in ("trials.csv", "curves.csv"):
        pd.testing.assert_frame_equal(again[name].drop(columns="restarts", errors="ignore"),
                                      tables[name].drop(columns="restarts", errors="ignore"),
                                      obj=name)
    fault("the driver of a PBT study SIGKILLed mid-study", 1,
          f"`--resume` ends with the same trials.csv and curves.csv as an undisturbed run ({len(exploits)} exploits, "
          "each trial's curve every evaluation once, the lineage the same)")
