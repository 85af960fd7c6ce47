"""examples/analysis.ipynb is committed with its outputs (scripts/notebook.py runs it and saves it),
so that it renders where it is hosted: every code cell has the outputs of one top-to-bottom run,
small, with no absolute path and no cell timing. It runs top to bottom here too (nbclient, the
`notebook` extra, which .ci/run installs), and the run's text outputs are the committed ones, so
committed outputs never go stale.

Without the extra the run is skipped, saying what is missing and how to install it; with
PALRNN_REQUIRE_NOTEBOOK=1 (.ci/run sets it) it fails instead, so CI never passes without it."""

import importlib
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "analysis.ipynb"
EXTRA = ("nbclient", "nbformat", "ipykernel")  # pyproject.toml's notebook extra
REQUIRE = "PALRNN_REQUIRE_NOTEBOOK"


def _missing() -> list[str]:
    out = []
    for name in EXTRA:
        try:
            importlib.import_module(name)
        except ImportError:
            out.append(name)
    return out


def _need_the_extra() -> None:
    """Skip (fail where $PALRNN_REQUIRE_NOTEBOOK is 1) unless the notebook extra is installed."""
    missing = _missing()
    if not missing:
        return
    why = (f"examples/analysis.ipynb not run: {', '.join(missing)} not installed; install the notebook "
           'extra: pip install -e ".[notebook]"')
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{why} ({REQUIRE}=1: the notebook must run here)", pytrace=False)
    pytest.skip(why)


MAX_BYTES = 1_500_000
STALE = "examples/analysis.ipynb's committed outputs are stale: run python scripts/notebook.py"


def _code(cells) -> list:
    return [c for c in cells if c["cell_type"] == "code"]


def _shape(cell) -> list[tuple[str, tuple[str, ...], str]]:
    """A cell's outputs as (type, MIME types, text): the text of streams and text/plain, not PNG bytes."""
    out = []
    for o in cell["outputs"]:
        data = o.get("data", {})
        text = o.get("text", "") if o["output_type"] == "stream" else data.get("text/plain", "")
        out.append((o["output_type"], tuple(sorted(data)), "".join(text)))
    return out


def test_the_notebook_is_committed_with_its_outputs():
    raw = NOTEBOOK.read_text()
    assert len(raw.encode()) < MAX_BYTES, f"examples/analysis.ipynb is {len(raw.encode())} bytes; keep it small"
    code = _code(json.loads(raw)["cells"])
    assert code and [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), \
        f"{STALE} (every code cell, once, top to bottom)"
    for i, cell in enumerate(code):
        assert cell["outputs"], f"code cell {i + 1} has no output: {STALE}"
        assert not [o for o in cell["outputs"] if o["output_type"] == "error"], f"code cell {i + 1} failed"
        assert "execution" not in cell["metadata"], "cell timings in the notebook: save it with scripts/notebook.py"
    images = [o for c in code for o in c["outputs"] if "image/png" in o.get("data", {})]
    assert len(images) == 1, "the notebook shows one figure, accuracy against length"
    for folder in ("/tmp/", "/work/", "/home/", "/Users/", "C:\\"):
        assert folder not in raw, f"an absolute path ({folder}) in the notebook's outputs"


def test_the_notebook_runs_top_to_bottom_to_its_committed_outputs():
    _need_the_extra()
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_script", ROOT / "scripts" / "notebook.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ran = script.execute(NOTEBOOK)
    committed = json.loads(NOTEBOOK.read_text())["cells"]
    assert [c.source for c in ran.cells] == ["".join(c["source"]) for c in committed]
    assert not [o for c in _code(ran.cells) for o in c.outputs if o.get("output_type") == "error"]
    for i, (now, then) in enumerate(zip(_code(ran.cells), _code(committed), strict=True)):
        assert _shape(now) == _shape(then), f"code cell {i + 1}: {STALE}"
    last = ran.cells[-1].outputs[-1]["data"]["text/plain"]
    assert "RNN" in last and "differs" in last and "True" in last  # the comparison's table, its cell flagged
