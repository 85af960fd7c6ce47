"""A study on a Ray cluster whose nodes share no disk, with --storage on a real S3 server.

The cluster: a head node and a worker node started with ``ray start`` on this machine, each in its
own mount namespace (``unshare -m``); the worker's has an empty tmpfs over the results folder, so
it cannot see the driver's study folder, as on two machines. The worker is 127.0.0.2, the head and
the driver this machine's address. Both nodes are ended by killing every process of their namespace (what this
test started, nothing else). The S3 server is moto's, on 127.0.0.1 (tests/s3_server.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.ports import free_port
from tests.s3_server import ENV as S3_ENV
from tests.s3_server import REQUIRE, s3_fixture, s3_server_fixture  # noqa: F401 (the fixtures s3, s3_server)

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).parent / "ray")
STEPS, EVERY = 400, 50


def _why_not() -> str | None:
    """Why a node with its own mount namespace cannot be made here, or None."""
    if sys.platform != "linux":
        return f"needs Linux mount namespaces (unshare -m); this is {sys.platform}"
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "needs util-linux's unshare and nsenter on PATH"
    if not Path(RAY).exists():
        return f"needs Ray's ray command beside this Python ({RAY})"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs tmpfs /mnt && umount /mnt"], capture_output=True, text=True)
    if probe.returncode != 0:
        return ("needs to run as root (or with CAP_SYS_ADMIN) to unshare a mount namespace and mount a tmpfs: "
                f"{(probe.stderr or probe.stdout).strip().splitlines()[-1] if (probe.stderr or probe.stdout) else ''}")
    return None


WHY_NOT = _why_not()
if WHY_NOT is not None and os.environ.get(REQUIRE) == "1":  # .ci/run: fail, never skip
    pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("_required_node")]  # ray: a `ray start` cluster
else:
    pytestmark = [pytest.mark.ray, pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))]


@pytest.fixture
def _required_node():
    pytest.fail(f"{REQUIRE}=1 but a node without the driver's disk cannot be made here: {WHY_NOT}")



def _host_ip() -> str:
    """This machine's address, as Ray's head takes it (Ray turns 127.0.0.1 into it anyway)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # no packet is sent: only the route is looked up
        return s.getsockname()[0]


def _namespace(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/mnt")


def _kill_namespace(ns: str) -> int:
    """SIGKILL every process of the mount namespace ``ns`` (one this test made); how many."""
    n = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/mnt") == ns:
                os.kill(int(entry), signal.SIGKILL)
                n += 1
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return n


@dataclass
class Node:
    proc: subprocess.Popen
    ns: str

    def kill(self) -> int:
        return _kill_namespace(self.ns)


def _node(args: list[str], env: dict[str, str], hide: Path | None) -> Node:
    """``ray start ARGS --block`` in a mount namespace of its own (``hide``: an empty tmpfs over it)."""
    mount = f"mount -t tmpfs tmpfs {hide} && " if hide else ""
    script = f"{mount}exec {RAY} start {' '.join(args)} --block"
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            ns = _namespace(proc.pid)
            if ns != _namespace(os.getpid()):
                return Node(proc, ns)
        except OSError:
            pass
        assert time.monotonic() < deadline and proc.poll() is None, "the node did not start"
        time.sleep(0.1)


def _alive_nodes(address: str, env: dict[str, str]) -> int:
    code = (f"import ray; ray.init(address={address!r}, logging_level='ERROR'); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else 0


@dataclass
class Cluster:
    address: str
    results: Path  # the driver's results folder, which the worker node cannot see
    env: dict[str, str]
    head: Node
    worker: Node


@pytest.fixture(scope="module")
def cluster(s3_server, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    # Ray's files of this cluster in a folder of their own (short: Ray's socket paths must fit 107
    # bytes), so that its address file does not outlive it in /tmp/ray, where a later plain
    # ray.init() of another test module would take it for a running cluster and try to join it.
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {**os.environ, **S3_ENV, "PYTHONUNBUFFERED": "1", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(ROOT), "RAY_TMPDIR": ray_tmp}
    port, ip = free_port(), _host_ip()
    address = f"{ip}:{port}"
    head = _node(["--head", f"--node-ip-address={ip}", f"--port={port}", "--num-cpus=1",
                  "--include-dashboard=false", f"--ray-client-server-port={free_port()}"], env, None)
    worker = None
    try:
        deadline = time.monotonic() + 90
        while _alive_nodes(address, env) < 1:
            assert time.monotonic() < deadline, "the head node did not come up"
            time.sleep(1)
        worker = _node([f"--address={address}", "--node-ip-address=127.0.0.2", "--num-cpus=1"], env, results)
        while _alive_nodes(address, env) < 2:
            assert time.monotonic() < deadline, "the worker node did not join"
            time.sleep(1)
        yield Cluster(address, results, env, head, worker)
    finally:
        if worker is not None:
            worker.kill()
        head.kill()
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _study(cluster: Cluster, name: str, *extra: str, storage: str | None = None) -> list[str]:
    return [sys.executable, "-m", "study.run", "--grid", "smoke", "--models", "RNN", "--seeds", "1",
            "--name", name, "--results-dir", str(cluster.results), "--set", f"steps={STEPS}",
            "--set", f"eval_every={EVERY}", "--set", "hidden=8", "--full", "--checkpoint-every", "50",
            "--no-report", "--address", cluster.address, *(["--storage", storage] if storage else []), *extra]


def _run(cluster: Cluster, cmd: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=cluster.env, capture_output=True, text=True, timeout=timeout)


def _checkpoints_on_disk(cluster: Cluster) -> list[str]:
    """Checkpoints in the results folder as each node sees it (the worker's, from inside its
    namespace): with --storage there are none, on either node's disk."""
    head = [str(p) for p in cluster.results.rglob("*.pt")]
    worker = subprocess.run(["nsenter", f"--mount=/proc/{cluster.worker.proc.pid}/ns/mnt", "find",
                             str(cluster.results), "-name", "*.pt"], capture_output=True, text=True, timeout=60)
    assert worker.returncode == 0, worker.stderr
    return head + worker.stdout.split()


@pytest.mark.fault
def test_a_study_folder_the_worker_cannot_see_is_refused_before_training(cluster, fault):
    done = _run(cluster, _study(cluster, "blind"))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("python -m study.run: error: --storage: node 127.0.0.2 cannot see the study folder ")
    assert "give --storage s3://bucket/prefix" in line
    assert not (cluster.results / "blind").exists() and list(cluster.results.iterdir()) == []
    fault("study folder on one node's disk, a worker node that cannot see it", 1,
          "refused before training: one line naming the node and --storage, exit 2, nothing written")


def test_a_grid_spreads_over_both_nodes_with_every_checkpoint_in_the_bucket(cluster, s3):
    done = _run(cluster, _study(cluster, "grid", storage=s3.uri("runs")))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = cluster.results / "grid"
    trials = pd.read_csv(folder / "trials.csv")
    curves = pd.read_csv(folder / "curves.csv")
    assert len(trials) == 2 and (trials["step"] == STEPS).all() and (trials["restarts"] == 0).all()
    assert trials["node"].nunique() == 2, trials["node"]  # one trial on each node
    for _, steps in curves.groupby("trial_id")["step"]:  # every evaluation once
        assert list(steps) == list(range(EVERY, STEPS + 1, EVERY))
    keys = s3.keys("runs/grid/")
    assert len([k for k in keys if k.startswith("runs/grid/checkpoints/") and k.endswith(".pt")]) == 2
    for name in ("study.json", "trials.csv", "curves.csv", "study.toml"):  # the driver's outputs copied
        assert f"runs/grid/{name}" in keys
    assert any(k.startswith("runs/grid/experiment_state-") for k in keys)  # Ray's own experiment
    assert not (folder / "checkpoints").exists() and _checkpoints_on_disk(cluster) == []
    assert json.loads((folder / "study.json").read_text())["storage"] == s3.uri("runs")


def test_a_pbt_study_exploits_across_nodes(cluster, s3):
    cmd = [sys.executable, "-m", "study.run", "--search", "optuna", "--scheduler", "pbt", "--model", "RNN",
           "--length", "5", "--num-samples", "2", "--space", "lr=loguniform:1e-4:3e-2", "--set", f"steps={STEPS}",
           "--set", f"eval_every={EVERY}", "--set", "hidden=8", "--set", "batch_size=32", "--set", "patience=0",
           "--perturbation-interval", "100", "--name", "pbt", "--results-dir", str(cluster.results), "--no-report",
           "--address", cluster.address, "--storage", s3.uri("runs")]
    done = _run(cluster, cmd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = cluster.results / "pbt"
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    curves = pd.read_csv(folder / "curves.csv", dtype={"trial_id": str})
    assert len(trials) == 2 and trials["node"].nunique() == 2, trials[["trial_id", "node"]]
    log = json.loads(s3.get("runs/pbt/pbt/decisions.json"))
    exploits = [e for e in log if "member" in e]
    assert exploits, log  # one member went on from the other's state, saved on the other node
    assert trials["exploits"].fillna(0).sum() == len(exploits)
    for _, steps in curves.groupby("trial_id")["step"]:
        assert list(steps) == list(range(EVERY, STEPS + 1, EVERY))
    assert any(k.startswith("runs/pbt/checkpoints/pbt/") for k in s3.keys("runs/pbt/"))  # the boundary states
    assert _checkpoints_on_disk(cluster) == []


def _killed_when(cluster: Cluster, cmd: list[str], ready, timeout: float = 240) -> None:
    """Start the driver ``cmd``, and SIGKILL it (no handler runs) once ``ready()``."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=cluster.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline and proc.poll() is None, "the study ended before its driver was killed"
        time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _elsewhere(cmd: list[str], results: Path) -> list[str]:
    """``cmd`` with another --results-dir: the driver of another machine, which has no study folder."""
    return [*cmd[:cmd.index("--results-dir") + 1], str(results), *cmd[cmd.index("--results-dir") + 2:]]


def _every_evaluation_once(curves: pd.DataFrame, steps: int = STEPS) -> None:
    for trial, seen in curves.groupby("trial_id")["step"]:
        assert list(seen) == list(range(EVERY, steps + 1, EVERY)), trial


@pytest.mark.fault
def test_a_driver_killed_outright_resumes_from_the_storage_on_a_machine_without_its_folder(cluster, s3, tmp_path,
                                                                                           fault):
    cmd = _study(cluster, "resumed", storage=s3.uri("runs"))
    keys = lambda: s3.keys("runs/resumed/")  # noqa: E731
    _killed_when(cluster, cmd, lambda: any(k.startswith("runs/resumed/checkpoints/") for k in keys())
                 and any(k.startswith("runs/resumed/experiment_state-") for k in keys()))
    assert json.loads((cluster.results / "resumed" / "study.json").read_text())["storage"] == s3.uri("runs")
    # Resumed by a driver whose results folder has no such study: study.json and study.toml from the bucket.
    done = _run(cluster, [*_elsewhere(cmd, tmp_path), "--resume"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = tmp_path / "resumed"
    trials, curves = pd.read_csv(folder / "trials.csv"), pd.read_csv(folder / "curves.csv")
    assert len(trials) == 2 and (trials["step"] == STEPS).all()
    _every_evaluation_once(curves)
    meta = json.loads((folder / "study.json").read_text())
    assert meta["status"] == "complete" and len(meta["resumed"]) == 1 and meta["storage"] == s3.uri("runs")
    assert json.loads(s3.get("runs/resumed/study.json"))["status"] == "complete"
    assert json.loads((cluster.results / "resumed" / "study.json").read_text())["status"] == "running"
    assert _checkpoints_on_disk(cluster) == [] and not list(tmp_path.rglob("*.pt"))
    fault("driver SIGKILLed, trials' state in S3 (--storage) on a two-node cluster", 1,
          "--resume from another results folder (a machine without the study folder) takes study.json from the "
          "storage and restores Ray's experiment from there; every evaluation once")


@pytest.mark.fault
def test_a_search_killed_resumes_from_the_storage_on_a_machine_without_its_folder(cluster, s3, tmp_path, fault):
    cmd = [sys.executable, "-m", "study.run", "--search", "optuna", "--model", "RNN", "--length", "5",
           "--num-samples", "4", "--space", "lr=loguniform:1e-3:3e-2", "--set", f"steps={STEPS}",
           "--set", f"eval_every={EVERY}", "--set", "hidden=8", "--set", "patience=0", "--checkpoint-every", "50",
           "--no-report", "--address", cluster.address, "--name", "search", "--results-dir", str(cluster.results),
           "--storage", s3.uri("runs")]
    first = cluster.results / "search"

    def ready() -> bool:  # a trial has ended, and Ray has saved its searcher to the bucket
        keys = s3.keys("runs/search/")
        return ((first / "trials.csv").is_file() and len(pd.read_csv(first / "trials.csv")) >= 1
                and "runs/search/optuna.journal" in keys and any("searcher-state" in k for k in keys))

    _killed_when(cluster, cmd, ready)
    done = _run(cluster, [*_elsewhere(cmd, tmp_path), "--resume"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = tmp_path / "search"
    trials, curves = (pd.read_csv(folder / name, dtype={"trial_id": str}) for name in ("trials.csv", "curves.csv"))
    # Each trial ran to its end, or until ASHA (the search's scheduler) cut it: every evaluation once up to there.
    assert len(trials) == 4 and set(trials["status"]) == {"TERMINATED"}, trials[["status", "stopped_by"]]
    assert set(trials["stopped_by"]) <= {"steps", "scheduler"} and (trials["step"] == STEPS).any()
    for trial, seen in curves.groupby("trial_id")["step"]:
        last = int(trials.loc[trials["trial_id"] == trial, "step"].iloc[0])
        assert list(seen) == list(range(EVERY, last + 1, EVERY)), trial
    # The search's journal went on in this folder: each of its trials once, each a row of trials.csv.
    import optuna

    journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "optuna.journal")))
    done_trials = optuna.load_study(study_name=None, storage=journal).get_trials()
    assert [t.state.name for t in done_trials] == ["COMPLETE"] * 4
    # Matched by their learning rate (continuous, so each trial's own), as in tests/study/test_search_faults.py:
    # a trial that ended before the kill, unknown to the experiment Ray saved, is handed to a new Ray trial
    # and keeps its first Ray trial id in the journal (Optuna updates no finished trial).
    assert sorted(t.params["lr"] for t in done_trials) == sorted(trials["lr"]), [t.user_attrs for t in done_trials]
    assert not list(tmp_path.rglob("*.pt")) and _checkpoints_on_disk(cluster) == []
    fault("the driver of an Optuna search SIGKILLed, trials' state in S3 (--storage) on a two-node cluster", 1,
          "--resume from another results folder takes the journal Ray's saved searcher knows from the storage; "
          "num_samples trials, each once in the journal and trials.csv, every evaluation once (ASHA as its scheduler)")


@pytest.mark.fault
def test_a_frontier_killed_resumes_from_the_storage_on_a_machine_without_its_folder(cluster, s3, tmp_path, fault):
    from study.frontier.table import load_frontier

    cmd = [sys.executable, "-m", "study.run", "--frontier", "--models", "LSTM", "--set", "hidden=16",
           "--set", "steps=600", "--set", "eval_every=50", "--set", "lr=0.01", "--set", "init=default",
           "--set", "patience=2", "--solve-rule", "2/3", "--max-length", "12", "--checkpoint-every", "100",
           "--no-report", "--address", cluster.address, "--name", "frontier", "--results-dir", str(cluster.results),
           "--storage", s3.uri("runs")]

    def seeds() -> dict[tuple[int, int], list]:
        """(length, seed) -> [state, steps_to_target] of the ended seeds in the state in the bucket."""
        try:
            state = json.loads(s3.get("runs/frontier/frontier/state.json"))
        except Exception:  # not there yet
            return {}
        return {(p["length"], int(s)): [v["state"], v["steps_to_target"]] for probes in state["probes"]
                for p in probes for s, v in p["seeds"].items() if v["state"] in ("solved", "unsolved")}

    ended: dict = {}

    def ready() -> bool:  # a seed has ended, and others run
        ended.update(seeds())
        return len(ended) >= 1 and any(k.startswith("runs/frontier/experiment_state-")
                                       for k in s3.keys("runs/frontier/"))

    _killed_when(cluster, cmd, ready)
    done = _run(cluster, [*_elsewhere(cmd, tmp_path), "--resume"], timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = tmp_path / "frontier"
    assert json.loads((folder / "study.json").read_text())["status"] == "complete"
    fr = load_frontier(folder)
    assert fr is not None and fr.done
    after = seeds()
    for key, value in ended.items():  # a seed that had ended keeps its outcome: it was not run again
        assert after[key] == value, key
    trials = pd.read_csv(folder / "trials.csv")
    assert not trials.duplicated(["model", "length", "seed"]).any()  # no seed trained twice
    assert {(int(r.length), int(r.seed)) for r in trials.itertuples()} >= set(after)
    assert (folder / "frontier.csv").is_file() and not list(tmp_path.rglob("*.pt"))
    fault("the driver of a memory frontier SIGKILLed, trials' state in S3 (--storage) on a two-node cluster", 1,
          "--resume from another results folder takes the frontier's state from the storage; a seed that had "
          "ended keeps its outcome, no seed trained twice")


@pytest.mark.fault
def test_the_worker_node_killed_mid_trial_its_trials_finish_on_the_head(cluster, s3, fault):
    # Last in this file: the worker node does not come back.
    cmd = _study(cluster, "killed", "--max-failures", "3", storage=s3.uri("runs"))
    cmd[cmd.index(f"steps={STEPS}")] = f"steps={STEPS * 3}"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 240
    # Both trials have a checkpoint in the bucket: each is past its first save, one on each node.
    while len([k for k in s3.keys("runs/killed/checkpoints/") if k.endswith(".pt")]) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, "the trials did not start"
        time.sleep(0.3)
    assert cluster.worker.kill() >= 1
    out, _ = proc.communicate(timeout=400)
    assert proc.returncode == 0, out[-4000:]
    trials = pd.read_csv(cluster.results / "killed" / "trials.csv")
    curves = pd.read_csv(cluster.results / "killed" / "curves.csv")
    assert len(trials) == 2 and (trials["step"] == STEPS * 3).all() and set(trials["status"]) == {"TERMINATED"}
    assert trials["restarts"].max() >= 1 and not trials["restarted_from_scratch"].any()
    assert trials["node"].nunique() == 1  # both ended on the head
    for _, steps in curves.groupby("trial_id")["step"]:
        assert list(steps) == list(range(EVERY, STEPS * 3 + 1, EVERY))
    fault("worker node SIGKILLed mid-trial, trials' checkpoints in S3 (--storage)", 1,
          "its trial restarts on the head from its checkpoint in the bucket; every evaluation once, restarts >= 1")
