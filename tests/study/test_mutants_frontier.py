"""study.frontier.search's planning numbers, exactly: the mutants that the frontier tests let through
(docs/testing.md, python scripts/mutation.py) each change one of these."""

from study.frontier.options import FrontierOptions
from study.frontier.search import frontier_doubling, frontier_max_trials


def test_doubling_is_capped_at_the_max_length():
    assert frontier_doubling(FrontierOptions(start=5, max_length=100)) == [5, 10, 20, 40, 80, 100]
    assert frontier_doubling(FrontierOptions(start=5, max_length=40)) == [5, 10, 20, 40]
    assert frontier_doubling(FrontierOptions(start=5, max_length=5)) == [5]


def test_max_trials_is_the_longest_path_times_seeds_cells_and_speculation():
    # 5 .. 8: a threshold of 6 or 7 probes every length (5, 8, then 6 and 7): 4 probes.
    assert frontier_max_trials(FrontierOptions(rule=(1, 1), start=5, max_length=8, speculate=0), 1) == 4
    assert frontier_max_trials(FrontierOptions(rule=(2, 3), start=5, max_length=8, speculate=1), 2) == 2 * 3 * 4 * 2
    assert frontier_max_trials(FrontierOptions(rule=(1, 1), start=5, max_length=5, speculate=0), 1) == 1
