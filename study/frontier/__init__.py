"""The memory frontier: its options, its pure search (no Ray, no clock, no randomness) and its table
(docs/frontier.md). Ray drives the search through ``study.engine.search.frontier``; its figure and
files are the report's (``study.report.frontier``).

    options.py   the solve rule K/N, the lengths, speculation; the cells of a frontier
    probe.py     one length of one cell, its seeds' states and its outcome
    search.py    ``Frontier``, the state machine: doubling, bisection, early decision, speculation
    table.py     frontier.csv's table, the printed table, frontier/state.json read back
    fit.py       the logistic fit of a cell's solve rates in log T
    bound.py     the most trials a frontier can take

The names below are where Ray's pickles of studies made before the frontier became a package
find its classes (``study.frontier.Frontier``: tests/study/test_legacy_resume.py). They import
neither pandas nor matplotlib, so that planning a frontier stays light.
"""

from study.frontier.probe import Probe, Trial
from study.frontier.search import Frontier

_Probe = Probe

__all__ = ["Frontier", "Trial", "_Probe"]
