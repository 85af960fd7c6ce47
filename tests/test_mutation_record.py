"""docs/testing.md's mutation scores are those of the code as it is: docs/mutation.json, written by
scripts/mutation.py from its last mutmut run, records each mutated module's sha256, and the table
in docs/testing.md is rendered from it. A module changed since then fails here, with one line
saying to rerun the mutation command (the run itself takes too long for every CI run)."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutation", ROOT / "scripts" / "mutation.py")
mutation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutation)


def _record():
    return json.loads(mutation.RECORD.read_text(encoding="utf-8"))


def test_the_mutation_record_matches_the_modules_source():
    record = _record()
    assert list(record["modules"]) == mutation.modules(), "[tool.mutmut] only_mutate changed: rerun " \
        "python scripts/mutation.py"
    changed = [m for m, r in record["modules"].items() if r["sha256"] != mutation.source_hash(m)]
    if changed:
        pytest.fail(f"{', '.join(changed)} changed since the last mutation run: rerun python scripts/mutation.py "
                    "(docs/testing.md)", pytrace=False)


def test_docs_testing_shows_the_record_and_explains_every_survivor():
    record, doc = _record(), mutation.DOC.read_text(encoding="utf-8")
    assert mutation.block(record) in doc, "docs/testing.md's table is not docs/mutation.json's: rerun " \
        "python scripts/mutation.py --record"
    assert mutation.unexplained(record, doc) == []
