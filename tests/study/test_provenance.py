"""study.provenance: every field recorded, and each one true of this machine and checkout."""

import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from study.basics import provenance as pv

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"argv", "executable", "python", "versions", "commit", "dirty", "host", "cpu_model", "cpu_count", "gpus",
          "threads_per_trial", "started"}
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org",
                           "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throwaway git repository with one commit of one file."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "a.txt").write_text("one\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "first")
    return path


def test_every_field_is_recorded_and_true(tmp_path):
    import numpy
    import optuna
    import pandas
    import ray
    import torch

    argv = ["python", "-m", "study.run", "--grid", "lengths", "--name", "x y"]
    before = dt.datetime.now().replace(microsecond=0)
    p = pv.provenance(argv, threads_per_trial=3, repo=tmp_path)
    after = dt.datetime.now()
    assert set(p) == FIELDS
    assert json.loads(json.dumps(p)) == p  # JSON-ready, as study.json keeps it
    assert p["argv"] == argv and p["executable"] == sys.executable
    assert p["python"] == platform.python_version() == "{}.{}.{}".format(*sys.version_info[:3])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert p["versions"] == {"torch": torch.__version__, "ray": ray.__version__, "optuna": optuna.__version__,
                             "pandas": pandas.__version__, "numpy": numpy.__version__, "palrnn": project}
    assert p["host"] == socket.gethostname()
    assert p["cpu_count"] == os.cpu_count()
    if sys.platform.startswith("linux"):
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.split(":", 1)[0].strip() == "model name"]
        assert p["cpu_model"] == (names[0] if names else platform.processor() or platform.machine())
    else:
        assert p["cpu_model"] == (platform.processor() or platform.machine())
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] \
        if torch.cuda.is_available() else []
    assert p["gpus"] == gpus
    assert p["threads_per_trial"] == 3
    assert before <= dt.datetime.fromisoformat(p["started"]) <= after
    assert (p["commit"], p["dirty"]) == (None, None)  # tmp_path is not a git checkout


def test_argv_none_is_the_interpreters_command_line():
    p = pv.provenance(None)
    assert p["argv"] == list(sys.orig_argv) and p["threads_per_trial"] is None


@needs_git
def test_commit_and_dirty_in_a_throwaway_repository(repo):
    head = git(repo, "rev-parse", "HEAD")
    p = pv.provenance([], repo=repo)
    assert len(head) == 40 and (p["commit"], p["dirty"]) == (head, False)
    (repo / "a.txt").write_text("two\n")  # a modified tracked file
    assert (pv.provenance([], repo=repo)["commit"], pv.provenance([], repo=repo)["dirty"]) == (head, True)
    git(repo, "commit", "-q", "-am", "second")
    second = git(repo, "rev-parse", "HEAD")
    assert second != head and pv.git_state(repo) == (second, False)
    (repo / "new.txt").write_text("untracked\n")  # an untracked file counts: the tree is not HEAD's
    assert pv.git_state(repo) == (second, True)


@needs_git
def test_no_commit_outside_a_repository_or_below_its_top(tmp_path, repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert pv.git_state(plain) == (None, None)
    assert pv.git_state(tmp_path / "missing") == (None, None)
    sub = repo / "sub"
    sub.mkdir()
    # a folder inside another repository is not that repository's project: no commit is claimed
    assert pv.git_state(sub) == (None, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert pv.git_state(empty) == (None, None)  # no commit yet


@needs_git
def test_no_commit_without_git(tmp_path, monkeypatch, repo):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert pv.git_state(repo) == (None, None)


@needs_git
def test_the_default_repository_is_this_checkout():
    top = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT.resolve():
        pytest.skip("the project is not a git checkout here")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert pv.provenance([])["commit"] == head


def full_meta(**prov):
    p = {"argv": ["python", "-m", "study.run"], "python": "3.11.7",
         "versions": {"torch": "2.13.0+cpu", "ray": "2.60.0", "optuna": "5.0.0"},
         "commit": "abc1234def5678abc1234def5678abc1234def56", "dirty": True, "host": "x",
         "cpu_model": "Intel(R) Xeon(R) Processor", "cpu_count": 2, "gpus": [], "threads_per_trial": None,
         "started": "2026-11-29T02:00:00", **prov}
    return {"provenance": p, "started": "2026-11-29T02:00:00", "finished": "2026-11-29T02:10:05",
            "wall_seconds": 480.0}


def test_provenance_line():
    assert pv.provenance_line(full_meta()) == (
        "commit abc1234 (dirty) · torch 2.13.0+cpu · ray 2.60.0 · Python 3.11.7 · host x · "
        "Intel(R) Xeon(R) Processor × 2 CPUs · no GPU · 2026-11-29 02:00 → 02:10 (8 min)")
    line = pv.provenance_line(full_meta(dirty=False, commit=None, gpus=["NVIDIA H200", "NVIDIA H200"],
                                        threads_per_trial=1))
    assert line.startswith("not a git checkout · ") and "(dirty)" not in line
    assert "1 torch thread per trial · 2 × NVIDIA H200 · " in line
    meta = full_meta()
    meta.update(finished=None, wall_seconds=None)
    assert pv.provenance_line(meta).endswith(" · 2026-11-29 02:00 → not finished")
    meta.update(finished="2026-11-30T03:00:00", wall_seconds=90000)
    assert pv.provenance_line(meta).endswith(" · 2026-11-29 02:00 → 2026-11-30 03:00 (25 h 00 min)")
    assert pv.provenance_line(meta["provenance"]).endswith("no GPU · 2026-11-29 02:00")  # the dict alone


def test_a_study_made_before_provenance_was_kept():
    # reference-lengths' study.json as it was made, before provenance was kept (a fixture: the
    # reference has been run again since).
    meta = json.loads((ROOT / "tests" / "fixtures" / "before-study-files" / "reference-lengths" / "study.json")
                      .read_text())
    assert "provenance" not in meta
    assert pv.provenance_line(meta) == (
        "provenance not recorded (study made before provenance was kept) · 2026-11-28 17:14 → 17:39 (25 min)")
    assert pv.provenance_line({}) == pv.NOT_RECORDED
    assert pv.provenance_line({"provenance": None, "started": "garbage"}) == pv.NOT_RECORDED


def test_the_line_of_a_real_record_names_this_run():
    p = pv.provenance(["x"], threads_per_trial=2)
    line = pv.provenance_line({"provenance": p, "started": p["started"], "finished": None})
    assert f"torch {p['versions']['torch']}" in line and f"Python {platform.python_version()}" in line
    assert f"host {socket.gethostname()}" in line and f"× {os.cpu_count()} CPUs" in line
    assert "\n" not in line


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (42.4, "42 s"), (59.6, "1 min"), (480, "8 min"),
                                               (3599, "1 h 00 min"), (3900, "1 h 05 min")])
def test_duration_text(seconds, text):
    assert pv.duration_text(seconds) == text
