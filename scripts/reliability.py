"""Run the fault tests and write docs/reliability.md's table from what they injected.

    .venv/bin/python scripts/reliability.py            # runs them (about 6 min on 2 cores), writes the page
    .venv/bin/python scripts/reliability.py --print    # only prints the table
    PALRNN_RELIABILITY=/tmp/faults.jsonl .venv/bin/python -m pytest    # the whole suite, recording
    .venv/bin/python scripts/reliability.py --from /tmp/faults.jsonl   # the table from that run's rows

Every fault test records (fault, count injected, what happened) through the ``fault`` fixture of
tests/conftest.py, only when its assertions passed. Rows of one fault (a parametrised test) are
summed. The table goes between the two markers in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/study/test_faults.py", "tests/study/test_chaos.py", "tests/study/test_cluster.py",
         "tests/study/test_resume.py", "tests/study/test_search_faults.py", "tests/study/test_io.py",
         "tests/study/test_study_ray.py", "tests/study/test_run_errors.py", "tests/study/test_frontier_cli.py",
         "tests/palrnn/test_cli.py", "tests/palrnn/test_train.py", "tests/study/test_report.py",
         "tests/study/test_plan.py", "tests/test_bad_input.py", "tests/study/test_compare.py",
         "tests/study/test_samplers.py", "tests/study/test_objectives.py", "tests/study/test_pbt.py",
         "tests/study/test_storage.py", "tests/study/test_storage_cluster.py"]
START, END = "<!-- reliability: start (scripts/reliability.py writes this table) -->", "<!-- reliability: end -->"


def table(rows: list[dict]) -> str:
    merged: dict[str, dict] = {}
    for row in rows:
        entry = merged.setdefault(row["fault"], {"injected": 0, "outcome": row["outcome"], "tests": []})
        entry["injected"] += row["injected"]
        test = row["test"].split("[")[0]
        if test not in entry["tests"]:
            entry["tests"].append(test)
    lines = ["| fault, injected for real | times | what happens | test |", "|---|---|---|---|"]
    for name, e in merged.items():
        tests = ", ".join(f"`{t}`" for t in e["tests"])
        lines.append(f"| {name} | {e['injected']} | {e['outcome']} | {tests} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--print", action="store_true", help="print the table, leave docs/reliability.md alone")
    p.add_argument("--from", dest="source", metavar="FILE",
                   help="run nothing: the rows a passing run recorded in FILE ($PALRNN_RELIABILITY), those of "
                        "the fault tests' files")
    args = p.parse_args()
    if args.source:
        rows = [json.loads(line) for line in Path(args.source).read_text().splitlines()]
        rows = [r for r in rows if r["test"].split("::")[0] in TESTS]
        return _write(table(rows), args.print)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "faults.jsonl"
        env = {**os.environ, "PALRNN_RELIABILITY": str(log)}
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS], cwd=ROOT,
                             env=env)
        rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if run.returncode != 0:
        print(table(rows))
        print("some fault tests failed: docs/reliability.md left as it is", file=sys.stderr)
        return 1
    return _write(table(rows), args.print)


def _write(text: str, print_only: bool) -> int:
    print(text)
    if not print_only:
        readme = ROOT / "docs" / "reliability.md"
        s = readme.read_text()
        a, b = s.index(START) + len(START), s.index(END)
        readme.write_text(s[:a] + "\n" + text + "\n" + s[b:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
