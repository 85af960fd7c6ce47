"""Run examples/analysis.ipynb top to bottom (nbclient) and save it in place with its outputs, so
that it renders where it is hosted.

    python scripts/notebook.py

Needs the notebook extra (pip install -e ".[notebook]"). The outputs are kept small and the same
from run to run where they can be: no cell timings, figures as PNG. tests/test_notebook.py runs
the notebook again and fails when the committed outputs are not what a run gives.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "analysis.ipynb"
TIMEOUT = 300  # seconds per cell
INLINE = "module://matplotlib_inline.backend_inline"


def execute(path: Path = NOTEBOOK):
    """The notebook at ``path``, run top to bottom from examples/ in a fresh kernel (not saved)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    # Figures inline, as PNG, whatever backend the caller's environment names (pytest's is Agg).
    client.execute(env={**os.environ, "MPLBACKEND": INLINE})
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def main() -> int:
    import nbformat

    nb = execute()
    nbformat.write(nb, NOTEBOOK)
    size = NOTEBOOK.stat().st_size
    print(f"{NOTEBOOK.relative_to(ROOT)}: run and saved with its outputs ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
