"""The memory frontier (docs/frontier.md), without Ray, pandas or matplotlib at import: options.py, probe.py,
search.py (the state machine), table.py, fit.py; here, the most trials a frontier can take, and ``Frontier``,
``Trial`` and ``_Probe`` for Ray's pickles of studies made before it was a package (test_legacy_resume.py)."""

from typing import Any

from study.frontier.probe import Probe, Trial
from study.frontier.search import Frontier, frontier_doubling

_Probe = Probe

__all__ = ["Frontier", "Trial", "_Probe", "bisections", "longest_probes", "max_trials"]


def bisections(width: int) -> int:
    """The most probes bisection makes between a pass at ``lo`` and a failure at ``lo + width``:
    ceil(log2(width)), 0 for a width of 1."""
    return (max(1, int(width)) - 1).bit_length()


def longest_probes(options: Any) -> int:
    """The probes of a cell's longest path: every doubling probe d passes (len(d) probes), or d_j is the first to
    fail (j >= 1) and bisection probes ``bisections(d_j - d_{j-1})`` lengths more: j + 1 + that."""
    doubling = frontier_doubling(options)
    return max([len(doubling), *(j + 1 + bisections(doubling[j] - doubling[j - 1]) for j in range(1, len(doubling)))])


def max_trials(options: Any, cells: int) -> int:
    """At most how many trials a frontier of ``cells`` cells runs, by arithmetic: the longest path's probes, N seeds
    each, and as many moot probes again per undecided probe it may speculate (tests/study/frontier_oracle.py plays
    the search out instead)."""
    return cells * options.rule[1] * longest_probes(options) * (1 + options.speculate)
