"""Population Based Training for real, under Ray: at least one exploit happens, each trial's lineage
is in trials.csv and curves.csv, every curve has every evaluation once, the report draws lr and
accuracy over the steps with the exploits marked; a PBT study whose driver is SIGKILLed
mid-study (inside a round; between an exploit logged and Ray acting on it) resumes to the same
tables as an undisturbed run, reading the logged decision back where deciding again would differ;
and one whose trial workers are SIGKILLed at random moments ends with them too."""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from study.results.checkpoints import checkpoint_path
from study.results.pbt import boundary_path, log_path, member_key, read_log, trained_path
from tests.ports import free_port
from tests.workers import workers

pytestmark = [pytest.mark.ray, pytest.mark.fault]  # PBT studies on Ray, their driver and workers killed

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
STEPS, EVERY, INTERVAL, SAMPLES = 400, 50, 100, 4
# What differs between two runs of one study: timings, the machine, and Ray's trial-id prefix.
VOLATILE = ["examples_per_second", "wall_seconds", "node", "trial_id"]



def _cmd(folder: Path, name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "study.run", "--search", "optuna", "--scheduler", "pbt", "--model", "RNN",
            "--length", "5", "--num-samples", str(SAMPLES), "--space", "lr=loguniform:1e-3:3e-2",
            "--space", "max_norm=uniform:0.5:5", "--set", f"steps={STEPS}", "--set", f"eval_every={EVERY}",
            "--set", "hidden=16", "--set", "batch_size=32", "--set", "patience=0",
            "--perturbation-interval", str(INTERVAL), "--num-cpus", "2", "--dashboard-port", str(free_port()),
            "--results-dir", str(folder), "--name", name, *extra]


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


# study.run's driver with a test's hand on PBT's decisions at one round (argv: MODE STEP, then
# study.run's arguments). "kill": SIGKILLed right after it writes an exploit of round STEP to the
# decision log, before Ray acts on it. "otherwise": deciding an exploit of round STEP anew (Ray's
# PBT's own decision) gives lr OTHER_LR, so that only the logged decision reproduces that round.
OTHER_LR = 0.0123456
DRIVER = f"""
import os, signal, sys
from ray.tune.schedulers import PopulationBasedTraining
from study.engine.schedulers.pbt import StudyPBT
from study.run import main

mode, step, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if mode == "kill":
    decide = StudyPBT._get_new_config
    def _decide_and_die(self, trial, trial_to_clone):
        out = decide(self, trial, trial_to_clone)
        if int(self._trial_state[trial].last_train_time) == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    StudyPBT._get_new_config = _decide_and_die
elif mode == "otherwise":
    decide = PopulationBasedTraining._get_new_config
    def _decide_otherwise(self, trial, trial_to_clone):
        new, operations = decide(self, trial, trial_to_clone)
        if int(self._trial_state[trial].last_train_time) == step:
            new = {{**new, "lr": {OTHER_LR}}}
        return new, operations
    PopulationBasedTraining._get_new_config = _decide_otherwise
sys.exit(main(argv))
"""


def _driver(cmd: list[str], mode: str, step: int) -> tuple[int, str]:
    """``cmd`` (``_cmd``'s) run by ``DRIVER`` in ``mode`` at round ``step``: its exit status and output
    (to a file, not a pipe: a Ray process the killed driver leaves behind would hold a pipe open)."""
    assert cmd[1:3] == ["-m", "study.run"]
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run([cmd[0], "-c", DRIVER, mode, str(step), *cmd[3:]], cwd=ROOT, env=ENV,
                              stdout=out, stderr=subprocess.STDOUT, text=True, timeout=400)
        out.seek(0)
        return done.returncode, out.read()


def _key(who: int) -> str:
    """Member ``who``'s checkpoint name."""
    return str(member_key({"model": "RNN", "length": 5}, f"_{who:05d}"))


def _boundary(folder: Path, who: int, step: int) -> Path:
    return boundary_path(folder, _key(who), step)


def _a_round_whose_donor_waits(folder: Path, exploits: list[dict]) -> tuple[int, int]:
    """(step, donor) of a round after the first whose donor reached it soonest among the members in
    this run."""
    def rank(e: dict) -> int:
        times = sorted(_boundary(folder, m, e["step"]).stat().st_mtime for m in range(SAMPLES))
        return times.index(_boundary(folder, e["from"], e["step"]).stat().st_mtime)

    first = min((e for e in exploits if e["step"] > INTERVAL), key=rank)
    assert rank(first) < SAMPLES - 1, "every round's donor was the last member to reach it"
    return first["step"], first["from"]


def _exploits(folder: Path) -> list[dict]:
    return [e for e in json.loads(log_path(folder).read_text()) if "member" in e]


def _assert_same_as(folder: Path, calm: Path, out: str = "") -> None:
    """``folder``'s study made the same decisions and ended with the same tables as the undisturbed
    ``calm`` one, but for restarts: the times a fault made a trial start again from its checkpoint
    after it had trained past it (PBT's pauses at a round are not restarts). ``out``: what the last
    driver printed, shown on a failure with each trial's end."""
    assert _exploits(folder) == _exploits(calm)
    again, tables = _tables(folder), _tables(calm)
    ends = again["trials.csv"].reindex(columns=["member", "step", "status", "stopped_by", "restarts", "error"])
    context = f"\n{ends.to_string()}\n{out}"
    assert (again["trials.csv"]["restarts"] >= tables["trials.csv"]["restarts"]).all(), context
    for name in ("trials.csv", "curves.csv"):
        try:
            pd.testing.assert_frame_equal(again[name].drop(columns="restarts", errors="ignore"),
                                          tables[name].drop(columns="restarts", errors="ignore"), obj=name)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{context}") from None


@pytest.fixture(scope="module")
def calm(tmp_path_factory) -> Path:
    """An undisturbed PBT study."""
    folder = tmp_path_factory.mktemp("pbt")
    done = _run(folder, "calm")
    (folder / "calm.out").write_text(done.stdout)
    return folder / "calm"


def test_pbt_exploits_records_lineage_and_resumes_after_a_driver_kill_to_the_same_tables(calm, tmp_path, fault):
    # Undisturbed: the exploits happen, and the tables say so.
    exploits = _exploits(calm)
    assert exploits
    assert {e["step"] for e in exploits} <= set(range(INTERVAL, STEPS, INTERVAL))
    tables = _tables(calm)
    trials, curves = tables["trials.csv"], tables["curves.csv"]
    assert len(trials) == SAMPLES and set(trials["status"]) == {"TERMINATED"}
    # Paused at every round (4 members on 2 CPUs), yet no restart: nothing failed.
    assert (trials["restarts"] == 0).all(), trials["restarts"]
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
    # Each member's steps to the target and best accuracy are its own since its last exploit, from its curve.
    for member, curve in curves.groupby("member"):
        marked = curve.index[curve["exploited_from"].notna()]
        own = curve.loc[marked[-1]:] if len(marked) else curve
        hit = own.loc[own["eval_accuracy"] >= own["target"], "step"]
        row = trials[trials["member"] == member].iloc[0]
        assert (pd.isna(row["steps_to_target"]) and hit.empty) or row["steps_to_target"] == hit.iloc[0], member
        assert row["best_eval_accuracy"] == own["eval_accuracy"].max(), member
    # A trial that took another's weights starts its next stretch from the donor's state: its lr
    # changed there, and the donor's own curve is untouched.
    assert (calm / "figures" / "pbt.png").stat().st_size > 0
    assert "pbt.png" in (calm / "report.html").read_text()
    # What the terminal and the report say it is: PBT, which keeps no Optuna journal to watch.
    out = (calm.parent / "calm.out").read_text()
    assert "study calm (search: Population Based Training): 4 trials" in out
    assert "Optuna dashboard" not in out and not (calm / "optuna.journal").exists()
    assert "<dt>Kind</dt><dd>search (Population Based Training)</dd>" in (calm / "report.html").read_text()

    # Killed outright inside a round: the moment a member that round copies (a donor in the
    # undisturbed run) has reached the round's step and saved its state, while others still train
    # towards it. The resumed member reports that step again, and must still be a donor (it was
    # not: Ray's PBT skipped the exploit). Then resumed (twice, below): the same decisions and the
    # same tables.
    step, donor = _a_round_whose_donor_waits(calm, exploits)
    cmd = _cmd(tmp_path, "killed")
    killed = tmp_path / "killed"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not _boundary(killed, donor, step).exists():
        time.sleep(0.05)
    assert proc.poll() is None, "the study ended before its driver could be killed"
    proc.kill()  # SIGKILL: no handler runs
    proc.wait(timeout=60)
    assert json.loads((killed / "study.json").read_text())["status"] == "running"
    rounds = [e["round"] for e in read_log(log_path(killed)) if "round" in e]
    assert INTERVAL in rounds and step not in rounds, f"killed after rounds {rounds}, not inside round {step}"
    # Resumed, and killed again between that round's exploit written to the decision log and the
    # round's end: the exploit is logged, Ray has not acted on it.
    # Each driver on a dashboard port of its own: the killed one's Ray may hold its port a while.
    status, killed_out = _driver(_cmd(tmp_path, "killed", "--resume"), "kill", step)
    assert status == -signal.SIGKILL, killed_out[-3000:]
    log = read_log(log_path(killed))
    assert "member" in log[-1] and log[-1]["step"] == step and {"round": step} not in log, log
    assert [e for e in log if "member" in e] == [e for e in exploits if e["step"] <= step]
    # Resumed once more by a driver that, deciding that exploit again, would give another lr: only
    # reading the logged decision back makes the same tables as the undisturbed run.
    assert all(e["config"]["lr"] != OTHER_LR for e in exploits)
    status, out = _driver(_cmd(tmp_path, "killed", "--resume"), "otherwise", step)
    assert status == 0, out[-3000:]
    _assert_same_as(killed, calm, f"round {step}, donor {donor}; the driver killed in it printed:\n"
                    f"{killed_out[-2000:]}\nthe last driver printed:\n{out[-5000:]}")
    fault("the driver of a PBT study SIGKILLed inside a round, while the member it copies waits at it, then "
          "again between an exploit written to the decision log and the end of its round", 2,
          f"`--resume` makes the same decisions ({len(exploits)} exploits), the logged one read back where deciding "
          "again would differ, and ends with the same trials.csv and curves.csv as an undisturbed run (each "
          "trial's curve every evaluation once, the lineage the same)")


def _saved(folder: Path, who: int) -> dict | None:
    """A member's checkpoint's extra (records, lineage, worker pid), or None while there is none."""
    import torch

    try:
        return torch.load(checkpoint_path(folder, _key(who)), map_location="cpu", weights_only=True)["extra"]
    except Exception:  # not written yet, or being replaced this instant
        return None


def test_pbt_workers_killed_at_random_moments_change_nothing(calm, tmp_path, fault):
    """Trial workers SIGKILLed in a PBT study: first the worker of a member that has gone on from a
    donor's weights, saved that and trains past it (a restart must not take them a second time, and
    counts as one), then random workers at random moments (training, saving the state others go on
    from, reporting at a round, idle). Each stopped trial starts again from its own checkpoint; the study makes the same
    decisions and ends with the same tables as the undisturbed one."""
    first = _exploits(calm)[0]
    kills, rng = [], random.Random(0)
    proc = subprocess.Popen(_cmd(tmp_path, "chaos", "--max-failures", "20"), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    folder = tmp_path / "chaos"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        extra = _saved(folder, first["member"])
        trained = trained_path(checkpoint_path(folder, _key(first["member"])))
        if (extra and any(e["step"] == first["step"] for e in extra["lineage"]) and trained.exists()
                and trained.read_text() == str(first["step"])):  # and it trains past that point
            os.kill(extra["pid"], signal.SIGKILL)
            kills.append(extra["pid"])
            break
    assert kills, "the study ended before the exploiting member's worker could be killed"
    while len(kills) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(rng.uniform(0.5, 2.0))
        found = workers(proc.pid)
        if not found:
            continue
        try:
            os.kill(rng.choice(found), signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills.append(time.monotonic())
    out, _ = proc.communicate(timeout=400)
    assert len(kills) >= 5, f"only {len(kills)} workers could be killed:\n{out[-2000:]}"
    assert proc.returncode == 0, out[-3000:]
    stopped = out.count("Trial task failed for trial")  # Ray's word for a trial whose worker died under it
    assert stopped >= 1, out[-2000:]
    trials = pd.read_csv(folder / "trials.csv")
    assert trials["error"].isna().all()
    # The kills' restarts (the first kill's at least; one that hit a trial waiting at a round cost
    # nothing, and reads as a pause), not PBT's pauses.
    assert 1 <= trials.loc[trials["trial_id"].str.endswith(f"_{first['member']:05d}"), "restarts"].sum()
    assert trials["restarts"].sum() <= stopped
    _assert_same_as(folder, calm)
    fault("trial workers of a PBT study SIGKILLed: one just after its trial went on from a donor's weights, "
          "then at random moments (training, saving at a round, idle)", len(kills),
          f"{stopped} trials stopped mid-run start again from their checkpoints; the study ends complete and exits "
          "0 with the same decisions, trials.csv and curves.csv as an undisturbed run")
