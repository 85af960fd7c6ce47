"""scripts/setup.sh checks its Python before it makes or installs anything: one line naming what is
missing and how to get it, exit status 1, no virtual environment made."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _fake_python(tmp_path, version: str, venv: bool) -> Path:
    """A stand-in interpreter that answers setup.sh's checks as a Python of ``version`` would."""
    major, minor = (int(x) for x in version.split(".")[:2])
    script = tmp_path / "python-fake"
    script.write_text(f"""#!/bin/sh
case "$*" in
  *version_info*) [ {minor} -ge 11 ] && [ {major} -ge 3 ] && exit 0; exit 1 ;;
  *python_version*) echo {version}; exit 0 ;;
  *"import venv"*) {'exit 0' if venv else 'exit 1'} ;;
esac
echo "the fake Python was asked to run: $*" >&2
exit 3
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.mark.parametrize(("version", "venv", "says"), [
    ("3.10.12", True, "is Python 3.10.12; palrnn needs 3.11 or newer (Debian/Ubuntu: apt-get install python3.11 "
                      "python3.11-venv"),
    ("3.11.7", False, "has no venv module (with ensurepip); Debian/Ubuntu: apt-get install python3-venv"),
])
def test_setup_refuses_a_python_it_cannot_use_in_one_line(tmp_path, version, venv, says):
    python = _fake_python(tmp_path, version, venv)
    env = {**os.environ, "PYTHON": str(python), "VENV": str(tmp_path / "venv")}
    p = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"setup: {python} ") and says in p.stderr, p.stderr
    assert not (tmp_path / "venv").exists() and p.stdout == ""


def test_setup_names_a_missing_python(tmp_path):
    env = {**os.environ, "PYTHON": str(tmp_path / "no-such-python"), "VENV": str(tmp_path / "venv")}
    p = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "not found; install Python 3.11 or newer" in p.stderr
    assert not (tmp_path / "venv").exists()
