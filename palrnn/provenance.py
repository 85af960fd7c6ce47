"""What made a result: the machine (its CPU model), the installed versions, the project's git
commit. Standard library only, so that palrnn's own benchmark (``python -m palrnn.bench``) records
it as a study's provenance does (``study.basics.provenance``)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the folder holding the palrnn package


def package_version(name: str) -> str | None:
    """The installed distribution's version (its metadata; the package is not imported), or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_state(repo: Path) -> tuple[str | None, bool | None]:
    """(HEAD's commit, whether the work tree has changes) of the git work tree whose top is ``repo``;
    (None, None) when ``repo`` is not its top (an installed copy must not report its host's commit),
    or git is missing or refuses. No lock is taken, so other git commands beside it are not disturbed."""
    repo = Path(repo)
    top = _git(repo, "rev-parse", "--show-toplevel")
    commit = _git(repo, "rev-parse", "--verify", "HEAD") if top is not None and _same(Path(top), repo) else None
    if commit is None:  # not the top of a work tree, or a repository without a commit yet
        return None, None
    status = _git(repo, "status", "--porcelain", "--untracked-files=normal")
    return commit, (None if status is None else bool(status.strip()))


def _git(repo: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):  # another repository's, e.g. under a git hook
        env.pop(key, None)
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30,
                              env=env, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name: /proc/cpuinfo on Linux, else ``platform.processor()`` (or the machine type)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            for line in cpuinfo.read_text(errors="replace").splitlines():
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"
