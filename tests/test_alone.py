"""tests/alone.py: a test marked ``alone`` runs with no other test of the run at the same time,
while the others still run two at once (pytest-xdist), in a real run of a small suite."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests.alone import pytest_runtest_protocol  # noqa: F401


def pytest_configure(config):
    config.addinivalue_line("markers", "alone: runs alone")
"""

TEST = """
import json, os, time
import pytest


def _timed(name):
    start = time.monotonic()
    time.sleep(0.6)
    with open(os.environ["SPANS"], "a") as f:
        f.write(json.dumps([name, start, time.monotonic()]) + "\\n")

{tests}
"""


def test_a_test_marked_alone_overlaps_no_other_and_the_rest_run_together(tmp_path):
    others = "\n".join(f"def test_{i}():\n    _timed('{{m}}{i}')\n" for i in range(4))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for m in "ac":
        (tmp_path / f"test_{m}.py").write_text(TEST.format(tests=others.replace("{m}", m)))
    (tmp_path / "test_b.py").write_text(TEST.format(
        tests="def test_0():\n    _timed('b0')\n\n\n@pytest.mark.alone\ndef test_1():\n    _timed('alone')\n"))
    spans = tmp_path / "spans.jsonl"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                           "-n", "2", "--dist", "load", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "SPANS": str(spans)}, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [json.loads(line) for line in spans.read_text().splitlines()]
    assert len(rows) == 10
    (alone,) = [(s, e) for name, s, e in rows if name == "alone"]
    rest = [(s, e) for name, s, e in rows if name != "alone"]
    assert not [r for r in rest if r[0] < alone[1] and alone[0] < r[1]], (alone, rest)  # none beside it
    assert any(a[0] < b[1] and b[0] < a[1] for a in rest for b in rest if a != b)  # the others, two at once
