"""Harder faults, injected for real: the driver SIGKILLed mid-study, trial workers SIGKILLed at
random moments, and the results folder's disk filling up mid-study."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from study.planning.plan import DASHBOARD_PORT
from tests.ports import free_port, fresh_port
from tests.undisturbed import assert_undisturbed
from tests.workers import workers

pytestmark = pytest.mark.fault  # every test fills a disk or kills a process (or two studies race)

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}



def _cmd(results, name, seeds, steps, *extra):
    return [sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", str(seeds), "--name", name,
            "--results-dir", str(results), "--set", f"steps={steps}", "--set", "eval_every=100",
            "--set", "batch_size=32", "--full", "--checkpoint-every", "100", "--num-cpus", "2", "--no-report",
            "--dashboard-port", str(free_port()), *extra]


def _saved(folder):
    """trial id -> its checkpoint's last record and worker pid (the trial's own file, written atomically)."""
    import torch

    out = {}
    for checkpoint in (folder / "checkpoints").glob("*.pt"):
        try:
            extra = torch.load(checkpoint, map_location="cpu", weights_only=True)["extra"]
            out[checkpoint.stem] = {**extra["records"][-1], "pid": extra["pid"]}
        except Exception:  # being replaced this instant
            continue
    return out


def _assert_ends_undisturbed(proc, folder, kills, what, n_trials, steps):
    """The study whose workers were killed (``kills``, at least 5) ends, exits 0, and its
    ``n_trials`` trials end without an error, each as an undisturbed run would."""
    out, _ = proc.communicate(timeout=400)
    assert len(kills) >= 5, f"only {len(kills)} {what}:\n{out[-2000:]}"
    assert proc.returncode == 0, out[-3000:]
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    curves = pd.read_csv(folder / "curves.csv", dtype={"trial_id": str})
    assert len(trials) == n_trials and trials["error"].isna().all(), trials[["trial_id", "status", "error"]]
    assert_undisturbed(trials, curves, steps)


@pytest.mark.ray
def test_driver_sigkilled_mid_study_then_resume_completes_it(tmp_path, fault):
    steps = 1000
    cmd = _cmd(tmp_path, "k", 2, steps)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    folder = tmp_path / "k"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        last = list(_saved(folder).values())
        done = sum(r["step"] == steps for r in last)
        mid = sum(300 <= r["step"] < steps - 300 for r in last)
        if done >= 2 and mid >= 1:
            break
    assert proc.poll() is None, "the study ended before its driver could be killed"
    time.sleep(6)  # let the driver's clock write study.json at least once more
    proc.kill()  # SIGKILL: no handler runs, nothing is cleaned up
    proc.communicate(timeout=60)
    meta = json.loads((folder / "study.json").read_text())
    assert meta["status"] == "running" and meta["wall_seconds"] >= 5  # its time so far is on record
    kept = pd.read_csv(folder / "trials.csv")  # the tables of the trials finished before the kill
    assert len(kept) >= 2 and (kept["step"] == steps).all()

    resumed = subprocess.run(fresh_port(cmd) + ["--resume"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]  # the dead lock did not block
    after = json.loads((folder / "study.json").read_text())
    assert after["status"] == "complete" and after["started"] == meta["started"]
    resumed_seconds = float(re.search(r"8 trials in (\d+) s", resumed.stdout).group(1))
    assert after["wall_seconds"] >= meta["wall_seconds"] + resumed_seconds - 1
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    curves = pd.read_csv(folder / "curves.csv", dtype={"trial_id": str})
    assert len(trials) == 8 and trials["error"].isna().all()
    assert_undisturbed(trials, curves, steps)
    fault("the driver SIGKILLed mid-study", 1,
          "study.json keeps its wall time and the finished trials' tables stay; the dead driver's lock does not "
          "block `--resume`, which completes every trial, one row each, every evaluation once and bit-identical "
          "to an undisturbed run, and adds its time to the first run's")


@pytest.mark.ray
def test_chaos_workers_killed_at_random_moments_change_nothing(tmp_path, fault):
    """Trial workers SIGKILLed at truly random moments: a random worker of the study at a random
    time, whatever it is doing (a trial starting in a reused worker, training, saving its
    checkpoint, or the worker idle between two trials)."""
    steps, kills, rng = 1000, [], random.Random(0)
    proc = subprocess.Popen(_cmd(tmp_path, "chaos", 3, steps, "--max-failures", "20"), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    folder = tmp_path / "chaos"
    deadline = time.monotonic() + 400
    while len(kills) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(rng.uniform(0.5, 3.0))
        found = workers(proc.pid)
        if not found:
            continue
        pid = rng.choice(found)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills.append(pid)
    _assert_ends_undisturbed(proc, folder, kills, "workers could be killed", 12, steps)
    fault("trial workers SIGKILLed at random moments of one 12-trial study (any worker, whatever it is doing)",
          len(kills), "the study ends complete and exits 0; every trial's curve is bit-identical to an "
          "undisturbed run's")


@pytest.mark.ray
def test_workers_killed_between_two_trials_change_nothing(tmp_path, fault):
    """A worker SIGKILLed the moment its trial has saved its last step: Ray reuses workers, so
    the worker is then ending that trial, being reset for the next one (a trial Ray holds as
    PENDING, which Ray itself does not retry), or starting it."""
    steps, kills = 400, []
    proc = subprocess.Popen(_cmd(tmp_path, "between", 3, steps, "--max-failures", "20"), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    folder = tmp_path / "between"
    deadline, done = time.monotonic() + 400, set()
    while len(kills) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        for trial, last in _saved(folder).items():
            if last["step"] == steps and trial not in done:
                done.add(trial)
                try:
                    os.kill(last["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    continue
                kills.append(trial)
    _assert_ends_undisturbed(proc, folder, kills, "workers could be killed between two trials", 12, steps)
    fault("a trial's worker SIGKILLed as the trial ends and the worker is reused for the next", len(kills),
          "the trial that was starting (PENDING to Ray, which does not retry it) is retried from its checkpoint; "
          "the study ends complete, every curve bit-identical to an undisturbed run's")


@pytest.mark.ray
def test_two_studies_started_at_once_both_run(tmp_path, fault):
    """Two real studies on one machine at the same moment, neither given a dashboard port: each
    starts its own Ray, the second's dashboard on the next free port, and both end complete."""
    def cmd(name):
        return [sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", "1", "--models", "RNN",
                "--lengths", "5", "--name", name, "--results-dir", str(tmp_path), "--set", "steps=200",
                "--num-cpus", "1", "--no-report"]

    procs = [subprocess.Popen(cmd(name), cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for name in ("one", "two")]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
    ports = sorted({int(re.search(r"Ray dashboard: http://127\.0\.0\.1:(\d+)", out).group(1)) for out in outs})
    assert len(ports) == 2, outs
    # Ray's default port or a free one after it, not any. Not exactly the first free ones: the suite's other
    # worker (pytest-xdist) may take and free ports of that range meanwhile.
    assert DASHBOARD_PORT <= ports[0] < ports[1] < DASHBOARD_PORT + 100, outs
    for name in ("one", "two"):
        assert json.loads((tmp_path / name / "study.json").read_text())["status"] == "complete"
        assert len(pd.read_csv(tmp_path / name / "trials.csv")) == 1
    fault("two studies started at the same moment on one machine", 2,
          "each starts its own Ray, the second's dashboard on a free port after the first's; both end complete")


class SmallDisk:
    """A 16 MiB tmpfs, a real file system that really fills up. ``path`` is where a command run
    with ``prefix`` sees it; ``view`` is where this test reads and writes it."""

    def __init__(self, path, view, prefix):
        self.path, self.view, self.prefix = path, view, prefix


@pytest.fixture
def small_disk(tmp_path):
    """The tmpfs, mounted without root where the machine allows it: in a user and mount namespace
    of its own (``unshare -rm``), held open by a process that commands join with ``nsenter``, and
    seen from here through that process's /proc/<pid>/root. Else, as root, mounted here."""
    mount = tmp_path / "disk"
    mount.mkdir()
    holder = subprocess.Popen(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=16m tmpfs "$0" && echo mounted '
                               '&& exec sleep 3600', str(mount)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    if holder.stdout.readline().strip() == "mounted":
        try:
            yield SmallDisk(mount, Path(f"/proc/{holder.pid}/root{mount}"),
                            ["nsenter", "-t", str(holder.pid), "-U", "-m", "--preserve-credentials", f"--wd={ROOT}"])
        finally:
            holder.kill()
            holder.communicate()
        return
    holder.wait()
    why = holder.stderr.read().strip()
    if os.geteuid() != 0:
        pytest.skip(f"cannot mount a tmpfs: no user namespace here (`unshare -rm`: {why}; see the sysctls "
                    "kernel.unprivileged_userns_clone and kernel.apparmor_restrict_unprivileged_userns), "
                    "and not root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: `unshare -rm` says {why}; `mount` as root says {p.stderr.strip()}")
    try:
        yield SmallDisk(mount, mount, [])
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder):
    """Write zeros until the file system says it is full; returns the filler file."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 2**20)
                f.flush()
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC
    return filler


def test_a_full_disk_is_told_apart_from_a_writable_one(small_disk):
    # The driver's last check when Ray itself breaks on a full disk (it reads back a trial's error
    # file that was written empty): is the study folder still writable?
    from study.driver.shared import unwritable

    assert unwritable(small_disk.view) is None
    filler = _fill(small_disk.view)
    exc = unwritable(small_disk.view)
    assert exc is not None and exc.errno == 28, exc
    assert not (small_disk.view / ".writable").exists()
    filler.unlink()
    assert unwritable(small_disk.view) is None


@pytest.mark.ray
def test_disk_full_mid_study_stops_it_in_one_line_and_resume_completes(small_disk, fault):
    steps = 1000
    cmd = small_disk.prefix + _cmd(small_disk.path, "full", 2, steps)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = small_disk.view / "full"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        # The driver's watch rewrites trials.csv every few seconds: wait until it holds 2 finished trials.
        try:
            if len(pd.read_csv(folder / "trials.csv")) >= 2:
                break
        except (OSError, ValueError):  # not written yet, or being replaced
            continue
    assert proc.poll() is None, "the study ended before the disk could fill"
    filler = _fill(small_disk.view)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out[-2000:] + err[-3000:]
    # Ray and the trials' workers print their own tracebacks of the failed writes on the way; the
    # study's verdict is one line of its own.
    ours = [ln for ln in err.splitlines() if ln.startswith("python -m study.run: error: ")]
    assert len(ours) == 1, out[-2000:] + err[-4000:]
    (line,) = ours
    assert line.startswith("python -m study.run: error: cannot write to ") and "No space left on device" in line
    assert f"--resume --name full --results-dir {small_disk.path}" in line
    kept = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})  # whole, and the finished trials in it
    assert len(kept) >= 2 and (kept["step"] == steps).all() and set(kept["status"]) == {"TERMINATED"}

    filler.unlink()  # space is back
    resumed = subprocess.run(fresh_port(cmd) + ["--resume"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert json.loads((folder / "study.json").read_text())["status"] == "complete"
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    curves = pd.read_csv(folder / "curves.csv", dtype={"trial_id": str})
    assert len(trials) == 8
    assert_undisturbed(trials, curves, steps)
    fault("the results folder's disk full mid-study (a 16 MiB tmpfs filled up; no root needed where user "
          "namespaces are allowed)", 1,
          "the study stops with one line naming the folder and the resume command, exit 1; trials.csv keeps the "
          "trials finished before; once space is back `--resume` completes, bit-identical to an undisturbed run")
