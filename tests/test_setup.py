"""scripts/setup.sh checks its Python before it makes or installs anything: one line naming what is
missing and how to get it, exit status 1, no virtual environment made."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _fake_python(tmp_path, version: str, venv: bool) -> Path:
    """A stand-in interpreter that answers setup.sh's checks as a Python of ``version`` would: the
    version check's code (``-c CODE`` naming ``version_info``) runs in this test's Python with
    ``sys.version_info`` set to ``version``, so that the threshold setup.sh writes is what decides."""
    major, minor, micro = (int(x) for x in version.split("."))
    script = tmp_path / "python-fake"
    pretend = f"import sys; sys.version_info = ({major}, {minor}, {micro}, 'final', 0); exec(sys.argv[1])"
    script.write_text(f"""#!/bin/sh
case "$*" in
  *version_info*) [ "$1" = -c ] || exit 3; exec "{sys.executable}" -c "{pretend}" "$2" ;;
  *python_version*) echo {version}; exit 0 ;;
  *"import venv"*) {'exit 0' if venv else 'exit 1'} ;;
esac
echo "the fake Python was asked to run: $*" >&2
exit 3
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


TOO_OLD = "; palrnn needs 3.11 or newer (Debian/Ubuntu: apt-get install python3.11 python3.11-venv"
NO_VENV = "has no venv module (with ensurepip); Debian/Ubuntu: apt-get install python3-venv"


# On each side of the threshold: 3.10 and older are refused for their version; 3.11.0 and newer pass
# that check and reach the next one (here: no venv module).
@pytest.mark.parametrize(("version", "venv", "says"), [
    ("3.10.12", True, "is Python 3.10.12" + TOO_OLD),
    ("3.9.18", True, "is Python 3.9.18" + TOO_OLD),
    ("2.7.18", True, "is Python 2.7.18" + TOO_OLD),
    ("3.11.0", False, NO_VENV),
    ("3.11.7", False, NO_VENV),
    ("3.13.1", False, NO_VENV),
], ids=["3.10.12", "3.9.18", "2.7.18", "3.11.0", "3.11.7", "3.13.1"])
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
