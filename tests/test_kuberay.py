"""examples/kuberay-rayjob.yaml, the KubeRay RayJob that runs a study with --storage: a ray.io/v1
RayJob whose entrypoint is a `python -m study.run` that the project's own command line accepts
(run with --dry-run, so that a renamed or removed option fails here), its storage an s3:// bucket
and prefix, the bucket's credentials from a Kubernetes Secret and never in the file, one image for
the head and the workers, resources on every Pod, token authentication, the dashboard not opened
beyond KubeRay's default, and the cluster deleted when the study ends."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "examples" / "kuberay-rayjob.yaml"


@pytest.fixture(scope="module")
def job():
    return yaml.safe_load(MANIFEST.read_text())


def _containers(job):
    spec = job["spec"]["rayClusterSpec"]
    head = spec["headGroupSpec"]["template"]["spec"]["containers"]
    workers = [c for group in spec["workerGroupSpecs"] for c in group["template"]["spec"]["containers"]]
    return head, workers


def _study_args(job) -> list[str]:
    words = shlex.split(job["spec"]["entrypoint"])
    assert words[:3] == ["python", "-m", "study.run"], words
    return words[3:]


def test_a_ray_job_that_deletes_its_cluster_when_the_study_ends(job):
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    assert job["spec"]["shutdownAfterJobFinishes"] is True
    version = tuple(int(x) for x in job["spec"]["rayClusterSpec"]["rayVersion"].split("."))
    assert version >= (2, 52, 0)  # token authentication


def test_the_entrypoint_is_a_study_the_command_line_accepts(job, tmp_path):
    args = _study_args(job)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS" and not k.startswith("AWS_")}
    done = subprocess.run([sys.executable, "-m", "study.run", *args, "--dry-run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--dry-run: nothing was run, nothing written" in done.stdout
    assert "--address" not in args  # a Ray job's driver joins its cluster through $RAY_ADDRESS
    storage = args[args.index("--storage") + 1]
    parts = urlsplit(storage)
    assert parts.scheme == "s3" and parts.netloc and parts.path.strip("/"), storage


def test_the_buckets_credentials_come_from_a_secret_and_never_from_the_file(job):
    head, workers = _containers(job)
    for container in head + workers:
        env = {e["name"]: e for e in container["env"]}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["key"], name
        if "AWS_ENDPOINT_URL" in env:
            assert env["AWS_ENDPOINT_URL"]["valueFrom"]["secretKeyRef"]["optional"] is True
        literal = [n for n, e in env.items() if "value" in e and re.search("KEY|SECRET|TOKEN|PASSWORD", n)]
        assert not literal, literal
    text = MANIFEST.read_text()
    assert not re.search(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", text)  # an AWS access key id
    assert not re.search(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", text)  # a secret access key


def test_one_image_and_resources_for_every_pod(job):
    head, workers = _containers(job)
    assert workers and len({c["image"] for c in head + workers}) == 1
    for container in head + workers:
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), container["name"]


def test_token_authentication_and_a_dashboard_kept_inside_the_cluster(job):
    spec = job["spec"]["rayClusterSpec"]
    assert spec["authOptions"]["mode"] == "token"
    head = spec["headGroupSpec"]
    assert head["rayStartParams"].get("dashboard-host") in (None, "127.0.0.1")
    assert not head.get("enableIngress") and head.get("serviceType", "ClusterIP") == "ClusterIP"
    # KubeRay's own default (0.0.0.0 in the head Pod, for the operator and the submitter) is said
    # in the file, with how to reach the dashboard without exposing it.
    text = MANIFEST.read_text()
    assert "default dashboard-host" in text and "kubectl port-forward" in text
