"""Every recipe of docs/analysis.md runs, in order, in one namespace, on the committed references."""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "analysis.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_doc_has_its_recipes():
    assert len(BLOCKS) >= 7


def test_every_recipe_runs_in_order(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the recipes name results/... as a user at the project's root does
    namespace: dict = {}
    for i, block in enumerate(BLOCKS):
        try:
            exec(compile(block, f"docs/analysis.md[{i}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"recipe {i} of docs/analysis.md failed: {exc!r}\n{block}")
    out = capsys.readouterr().out
    assert "RNN" in out and "LSTM" in out
    assert os.getcwd() == str(ROOT)
