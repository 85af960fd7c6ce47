"""The frontier's planning bound by arithmetic: at most how many probes a cell makes, and at most
how many trials a frontier runs, whatever its max length (tests/study/frontier_oracle.py plays the
search out once per threshold instead; the two agree: tests/study/test_estimate.py).

Per cell (``study.frontier.search``'s docstring): doubling probes d_0 = start, d_1 = 2 d_0, ...
capped at the max length while each passes. A solve rate that falls at T* gives one of three paths:
every doubling probe passes (len(d) probes); the start fails (1 probe); or d_j is the first to fail
(j >= 1), then bisection between d_{j-1} and d_j halves a gap of width w = d_j - d_{j-1}: the
longest of its paths probes ceil(log2 w) lengths, so j + 1 + ceil(log2 w) probes in all.
"""

from __future__ import annotations

from typing import Any

from study.frontier.search import frontier_doubling


def bisections(width: int) -> int:
    """The most probes bisection makes between a pass at ``lo`` and a failure at ``lo + width``:
    ceil(log2(width)), 0 for a width of 1."""
    return (max(1, int(width)) - 1).bit_length()


def longest_probes(options: Any) -> int:
    """The probes of a cell's longest path of doubling and bisection (``options``: a FrontierOptions)."""
    doubling = frontier_doubling(options)
    longest = len(doubling)
    for j in range(1, len(doubling)):
        longest = max(longest, j + 1 + bisections(doubling[j] - doubling[j - 1]))
    return longest


def max_trials(options: Any, cells: int) -> int:
    """At most how many trials a frontier of ``cells`` cells runs: the longest path's probes, N seeds
    each, and as many moot probes again per undecided probe it may speculate (the bound that
    tests/study/frontier_oracle.py plays out, in microseconds at any max length)."""
    return cells * options.rule[1] * longest_probes(options) * (1 + options.speculate)
