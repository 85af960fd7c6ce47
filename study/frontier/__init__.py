"""The memory frontier: its options, its pure search (no Ray, no clock, no randomness), its table
and its figure (docs/frontier.md). Ray drives the search through ``study.engine.search.frontier``.

    options.py   the solve rule K/N, the lengths, speculation; the cells of a frontier
    probe.py     one length of one cell, its seeds' states and its outcome
    search.py    ``Frontier``, the state machine: doubling, bisection, early decision, speculation
    table.py     frontier.csv's table, the printed table, frontier/state.json read back
    figure.py    ``plot_frontier``
    write.py     ``write_frontier``: frontier.csv, the figure and the printed table in a study folder

The names below resolve lazily, so that importing ``study.frontier.options`` (as planning does)
imports neither pandas nor matplotlib. They are also where Ray's pickles of studies made before
the frontier became a package find the classes (``study.frontier.Frontier``).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "options": ("RULE_TEXT", "FrontierOptions", "parse_solve_rule", "check_frontier_options", "frontier_cells"),
    "probe": ("RUNNING", "SOLVED", "UNSOLVED", "STOPPED", "ERROR", "PASSED", "FAILED", "MOOT", "Trial", "_Probe"),
    "search": ("DONE", "VERSION", "Frontier", "frontier_doubling", "frontier_max_trials"),
    "table": ("FILE", "CSV", "FIGURE", "TABLE_COLUMNS", "cell_label", "load_frontier", "frontier_table",
              "format_frontier", "cell_frontier_text"),
    "write": ("write_frontier",),
    "figure": ("plot_frontier",),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(n for n in _MODULE if not n.startswith("_"))


def __getattr__(name: str) -> Any:
    if name not in _MODULE:
        raise AttributeError(f"module 'study.frontier' has no attribute {name!r}")
    return getattr(importlib.import_module(f"study.frontier.{_MODULE[name]}"), name)
