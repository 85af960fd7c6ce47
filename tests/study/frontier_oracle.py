"""The frontier's trial bound played out (the tests' oracle for ``study.frontier.max_trials``,
which the planner uses: the bound by arithmetic, in microseconds at any max length)."""

from typing import Any

from study.frontier.search import DONE, Frontier


def frontier_max_trials(options: Any, cells: int) -> int:
    """At most how many trials a frontier of ``cells`` cells runs: the probes of the longest path of
    doubling and bisection (every path is some monotone solve rate's, so each threshold T is
    tried), N seeds each, and as many moot probes again per undecided probe it may speculate."""
    longest = 0
    for threshold in range(options.start - 1, options.max_length + 1):
        fr = Frontier([{"model": "RNN"}], rule=options.rule, start=options.start, max_length=options.max_length,
                      speculate=0)
        while (trial := fr.next_trial()) not in (DONE, None):
            fr.record(*trial, solved=trial.length <= threshold)
        longest = max(longest, len(fr.probes(0)))
    return cells * options.rule[1] * longest * (1 + options.speculate)
