"""Mutation testing of the pure modules (docs/testing.md): mutmut over the modules that
pyproject.toml's [tool.mutmut] only_mutate lists, each mutant run against the tests of
pytest_add_cli_args_test_selection that call the function it changes.

    pip install -e ".[dev,mutation]"
    python scripts/mutation.py            # a fresh run (about half an hour on 2 cores), then the record
    python scripts/mutation.py --keep     # reuse mutmut's results in mutants/ for unchanged functions
    python scripts/mutation.py --record   # no run: the record from mutants/ as it is

It writes docs/mutation.json (each module's sha256, counts and score, its surviving mutants) and the
table of docs/testing.md between its markers, and exits 1 when a module scores under SCORE or a
surviving mutant is not explained in docs/testing.md. tests/test_mutation_record.py checks that the
record still matches the modules' source.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "docs" / "mutation.json"
DOC = ROOT / "docs" / "testing.md"
START = "<!-- mutation: start (scripts/mutation.py writes this part from docs/mutation.json) -->"
END = "<!-- mutation: end -->"
SCORE = 0.90
# mutmut's exit codes of a mutant's test run (mutmut.stats.status_by_exit_code): killed is a test
# failing (1, 3), a timeout (24, 36, 152, 255, -24) or the type checker (37).
KILLED = {1, 3, 24, 36, 37, 152, 255, -24}
SURVIVED = {0}
NO_TESTS = {5, 33}
SKIPPED = {34}


def modules() -> list[str]:
    """The modules mutated: [tool.mutmut] only_mutate of pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["only_mutate"])


def source_hash(module: str) -> str:
    return hashlib.sha256((ROOT / module).read_bytes()).hexdigest()


def counts(module: str) -> dict:
    """One module's mutants from mutmut's results in mutants/ (<module>.meta)."""
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.is_file():
        raise SystemExit(f"mutation: {meta.relative_to(ROOT)} is missing; run python scripts/mutation.py")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    unchecked = sorted(k for k, c in codes.items() if c is None)
    if unchecked:
        raise SystemExit(f"mutation: {len(unchecked)} mutants of {module} were not run (e.g. {unchecked[0]}); "
                         "run python scripts/mutation.py --keep to finish")
    killed = sum(c in KILLED for c in codes.values())
    skipped = sum(c in SKIPPED for c in codes.values())
    total = len(codes) - skipped
    return {"sha256": source_hash(module), "mutants": total, "killed": killed,
            "survived": sum(c in SURVIVED for c in codes.values()),
            "no_tests": sum(c in NO_TESTS for c in codes.values()),
            "other": sum(c not in KILLED | SURVIVED | NO_TESTS | SKIPPED for c in codes.values()),
            "score": round(killed / total, 4) if total else 1.0,
            "not_killed": sorted((k for k, c in codes.items() if c not in KILLED | SKIPPED), key=_natural)}


def _natural(name: str) -> tuple:
    head, _, number = name.rpartition("_")
    return (head, int(number)) if number.isdigit() else (name, 0)


def table(record: dict) -> str:
    """docs/testing.md's table: each module's score from the record."""
    lines = [f"mutmut {record['mutmut']}, `{record['command']}`; a mutant not killed is a survivor (no test "
             "failed) or had no test (none of the selected tests calls its function).", "",
             "| module | mutants | killed | survived | no test | score |", "|---|---:|---:|---:|---:|---:|"]
    for module, m in record["modules"].items():
        lines.append(f"| {module} | {m['mutants']} | {m['killed']} | {m['survived']} | {m['no_tests'] + m['other']} "
                     f"| {100 * m['score']:.1f}% |")
    return "\n".join(lines)


def block(record: dict) -> str:
    return f"{START}\n{table(record)}\n{END}"


def unexplained(record: dict, doc: str) -> list[str]:
    """The record's surviving mutants that docs/testing.md does not name."""
    return [name for m in record["modules"].values() for name in m["not_killed"] if f"`{name}`" not in doc]


def run_mutmut(keep: bool) -> None:
    if not keep and (ROOT / "mutants").exists():
        shutil.rmtree(ROOT / "mutants")
    mutmut = [sys.executable, "-m", "mutmut", "run", "--max-children", str(os.cpu_count() or 2)]
    done = subprocess.run(mutmut, cwd=ROOT)
    if done.returncode not in (0, 1):
        raise SystemExit(f"mutation: mutmut run ended with status {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--keep", action="store_true", help="reuse mutmut's results in mutants/")
    how.add_argument("--record", action="store_true", help="do not run mutmut: record the results in mutants/")
    args = parser.parse_args(argv)
    if not args.record:
        run_mutmut(args.keep)
    from importlib.metadata import version

    record = {"command": "python scripts/mutation.py", "mutmut": version("mutmut"),
              "modules": {module: counts(module) for module in modules()}}
    RECORD.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    doc = DOC.read_text(encoding="utf-8")
    if START in doc and END in doc:
        doc = doc.split(START, 1)[0] + block(record) + doc.split(END, 1)[1]
        DOC.write_text(doc, encoding="utf-8")
    print(table(record))
    low = [f"{module} {100 * m['score']:.1f}%" for module, m in record["modules"].items() if m["score"] < SCORE]
    missing = unexplained(record, doc)
    for name in missing:
        print(f"mutation: {name} survived and docs/testing.md does not explain it", file=sys.stderr)
    if low:
        print(f"mutation: under {100 * SCORE:.0f}%: {', '.join(low)}", file=sys.stderr)
    return 1 if low or missing else 0


if __name__ == "__main__":
    sys.exit(main())
