"""The memory frontier: its options, its pure search (no Ray, no clock, no randomness), its table
and its figure (docs/frontier.md). Ray drives the search through ``study.engine.search.frontier``.

    options.py   the solve rule K/N, the lengths, speculation; the cells of a frontier
    probe.py     one length of one cell, its seeds' states and its outcome
    search.py    ``Frontier``, the state machine: doubling, bisection, early decision, speculation
    table.py     frontier.csv's table, the printed table, frontier/state.json read back
    figure.py    ``plot_frontier``
    write.py     ``write_frontier``: frontier.csv, the figure and the printed table in a study folder

The names below are where Ray's pickles of studies made before the frontier became a package
find its classes (``study.frontier.Frontier``: tests/study/test_legacy_resume.py). They import
neither pandas nor matplotlib, so that planning a frontier stays light.
"""

from study.frontier.probe import Trial, _Probe
from study.frontier.search import Frontier

__all__ = ["Frontier", "Trial", "_Probe"]
