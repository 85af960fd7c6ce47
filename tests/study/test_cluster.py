"""A two-node Ray cluster on one machine (ray.cluster_utils.Cluster): trials land on both nodes,
survive the loss of a node, and a trial too big for any node is refused with a clear message."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import study
import study.engine  # noqa: F401  (sets Ray's environment before ray.init)

pytestmark = pytest.mark.ray  # Ray clusters on this machine

MB = 1024**2
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def _two_nodes():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 80 * MB,
                                                      "include_dashboard": False})
    c.worker = None
    yield c
    c.shutdown()


@pytest.fixture
def cluster(_two_nodes):
    """The module's cluster of a head and a worker node, each of 1 CPU: a new worker node where a
    test before removed it."""
    c = _two_nodes
    if c.worker not in c.worker_nodes:
        c.worker = c.add_node(num_cpus=1, object_store_memory=80 * MB)
        c.wait_for_nodes()
    return c


def test_trials_are_placed_on_both_nodes(cluster, tmp_path):
    tables = study.run_study(grid="smoke", seeds=2, name="two-nodes", results_dir=str(tmp_path),
                             address=cluster.address, echo=False, report=False,
                             set={"steps": 300, "eval_every": 100})
    trials = tables["trials"]
    assert len(trials) == 8 and set(trials["status"]) == {"TERMINATED"}
    assert trials["node"].nunique() == 2  # the node of each trial is a column of trials.csv
    import ray

    assert not ray.is_initialized()  # run_study connected, and let go of the cluster when done


@pytest.mark.fault
def test_trials_of_a_removed_node_finish_on_the_other(cluster, tmp_path, fault):
    worker_id = cluster.worker.node_id
    folder = tmp_path / "lose-node"
    removed = []

    def remove_when_busy():
        import torch

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            for checkpoint in folder.glob("checkpoints/*.pt"):  # the trials' own, with their last record
                try:
                    extra = torch.load(checkpoint, map_location="cpu", weights_only=True)["extra"]
                except Exception:
                    continue
                last = extra["records"][-1]
                if last.get("node") == worker_id and 400 <= last["step"] < 1500:
                    cluster.remove_node(cluster.worker, allow_graceful=False)
                    removed.append(extra["trial_id"])
                    return

    thread = threading.Thread(target=remove_when_busy, daemon=True)
    thread.start()
    tables = study.run_study(grid="smoke", seeds=1, name="lose-node", results_dir=str(tmp_path),
                             address=cluster.address, echo=False, report=False, checkpoint_every=200,
                             max_failures=3, full=True, set={"steps": 1500, "eval_every": 100})
    thread.join(timeout=5)
    assert removed, "no trial was running on the worker node"
    trials = tables["trials"].set_index("trial_id")
    assert len(trials) == 4 and set(trials["status"]) == {"TERMINATED"} and (trials["step"] == 1500).all()
    assert trials.loc[removed[0], "node"] != worker_id  # it finished on the head node
    curves = tables["curves"]
    assert curves[curves["trial_id"] == removed[0]]["step"].tolist() == list(range(100, 1501, 100))
    fault("a worker node of a two-node cluster removed mid-trial", 1, "its trials finish on the other node")


def test_ray_address_in_the_environment_joins_that_cluster(cluster, tmp_path):
    """A study started with RAY_ADDRESS set and no --address (a Ray Job's driver: `ray job submit --
    python -m study.run ...`) runs on that cluster, not on a Ray of its own."""
    import pandas as pd

    env = {**os.environ, "RAY_ADDRESS": cluster.address}
    p = subprocess.run([sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", "1", "--set", "steps=100",
                        "--set", "eval_every=50", "--no-report", "--name", "job", "--results-dir", str(tmp_path)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert "Connecting to existing Ray cluster" in p.stdout + p.stderr
    nodes = set(pd.read_csv(tmp_path / "job" / "trials.csv")["node"])
    assert nodes <= {n.node_id for n in cluster.list_all_nodes()}, nodes  # the cluster's nodes, no Ray of its own


def test_a_trial_bigger_than_any_node_is_refused(cluster, tmp_path, fault):
    with pytest.raises(ValueError, match="--cpus-per-trial: 2 asked for, but the largest node .* has 1 CPUs"):
        study.run_study(grid="smoke", seeds=1, name="too-big", results_dir=str(tmp_path), address=cluster.address,
                        echo=False, cpus_per_trial=2)
    assert not (tmp_path / "too-big").exists()
    # The same, as the command: its one line, exit status 2, no traceback, nothing written.
    p = subprocess.run([sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", "1", "--address",
                        cluster.address, "--cpus-per-trial", "2", "--name", "too-big", "--results-dir",
                        str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    ours = [line for line in p.stderr.splitlines() if line.startswith("python -m study.run")]
    assert p.returncode == 2 and "Traceback" not in p.stderr + p.stdout, p.stderr[-3000:]
    assert ours == ["python -m study.run: error: --cpus-per-trial: 2 asked for, but the largest node of this Ray "
                    "cluster has 1 CPUs; trials would wait forever"], p.stderr[-3000:]
    assert p.stderr.rstrip().endswith(ours[0])  # Ray's own log lines of joining the cluster come before it
    assert list(tmp_path.iterdir()) == []
    fault("a trial asking more CPUs than any node of a cluster has", 2,
          "refused with one line before anything is written, from the API and from the command")


def test_without_address_a_study_starts_its_own_ray_beside_a_running_one(tmp_path):
    """A Ray already running on the machine (`ray start`: it is the one `ray.init()` would join, and
    refuse the CPUs asked for with a traceback) does not stop a study without --address: it starts
    its own Ray, runs there, and leaves the other running."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_TMPDIR": str(ray_tmp)}
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--num-cpus",
                             "1", "--include-dashboard", "false", "--port", "0"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(ray_tmp.rglob("ray_current_cluster")) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert list(ray_tmp.rglob("ray_current_cluster")), "ray start did not come up"
        p = subprocess.run([sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", "1", "--models", "RNN",
                            "--lengths", "5", "--set", "steps=100", "--set", "eval_every=50", "--num-cpus", "2",
                            "--no-report", "--name", "beside", "--results-dir", str(tmp_path / "results")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        # The driver's own traceback starts a line; Ray's workers' shutdown noise comes prefixed
        # "(palrnn_trial pid=...)" and is not the study's.
        driver_traceback = any(line.startswith("Traceback") for line in p.stderr.splitlines())
        assert p.returncode == 0 and not driver_traceback, p.stdout[-2000:] + p.stderr[-3000:]
        assert "Started a local Ray instance" in p.stdout + p.stderr
        assert json.loads((tmp_path / "results" / "beside" / "study.json").read_text())["status"] == "complete"
        assert head.poll() is None  # the other Ray still runs
    finally:
        head.terminate()
        head.wait(timeout=60)
        shutil.rmtree(ray_tmp, ignore_errors=True)
