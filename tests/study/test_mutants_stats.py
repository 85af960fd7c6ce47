"""study.basics.stats at its edges: the mutants that test_stats.py and test_tables.py let through
(docs/testing.md, python scripts/mutation.py) each change one of these answers."""

import math

import numpy as np
import pytest

from study.basics.stats import (
    accuracy_interval,
    accuracy_intervals,
    contrast_interval,
    finite_values,
    mover_interval,
    wilson_interval,
)


def test_finite_values_drops_text_nan_and_infinities_as_floats():
    out = finite_values([1, "x", None, math.nan, math.inf, "2.5"])
    assert out.dtype == np.float64 and list(out) == [1.0, 2.5]
    assert finite_values([1, 2]).dtype == np.float64


def test_mover_interval_of_a_missing_interval_is_nan():
    c, low, high = mover_interval([0.5, 0.25], [(None, None), (0.2, 0.3)], [1, -1])
    assert c == pytest.approx(0.25) and math.isnan(low) and math.isnan(high)


def test_contrast_interval_uses_each_groups_examples():
    groups = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert contrast_interval(groups, [1, -1]) == (0.0, 0.0, 0.0)  # t part alone: seeds that agree
    c, low, high = contrast_interval(groups, [1, -1], examples=[100, 100])  # the pooled Wilson part
    _, _, g_low, _ = accuracy_interval(groups[0], 100)
    assert c == 0.0 and low == pytest.approx(-(1 - g_low) * math.sqrt(1)) and high == pytest.approx(1 - g_low)
    with pytest.raises(ValueError):
        contrast_interval(groups, [1, -1], examples=[100, 100, 100])  # one count per group, no more


def test_accuracy_intervals_row_by_row():
    p = np.array([[1.0, 1.0, 1.0], [0.5, 0.6, 0.7]])
    mean, low, high = accuracy_intervals(p, None)
    assert mean == pytest.approx([1.0, 0.6]) and low[0] == high[0] == 1.0 and low[1] < 0.6 < high[1]
    one = [accuracy_interval(row, 100)[2:] for row in p]
    _, low, high = accuracy_intervals(p, 100)
    assert low == pytest.approx([o[0] for o in one]) and high == pytest.approx([o[1] for o in one])


def test_accuracy_interval_takes_counts_of_at_least_one_and_its_quantile():
    assert accuracy_interval([1.0, 1.0], [0, 100]) == (2, 1.0, 1.0, 1.0)  # a count of 0: the t part alone
    assert accuracy_interval([1.0, 1.0, 1.0], [1, 1, 1])[2] == pytest.approx(wilson_interval(3, 3)[0])
    assert accuracy_interval([0.5, 0.6, 0.7], quantile=0.975)[2] > accuracy_interval([0.5, 0.6, 0.7])[2]


def test_wilson_interval_edges_and_its_z():
    assert wilson_interval(1, 10)[0] > 0 and wilson_interval(0, 10)[0] == 0.0
    # exactly 1 at k = n: the formula alone gives 0.9999999999999999 at n = 10, 13, 25, ...
    assert wilson_interval(3, 3)[1] == 1.0 and wilson_interval(10, 10)[1] == 1.0 and wilson_interval(27, 27)[1] == 1.0
    low, high = wilson_interval(1, 1)
    assert low == pytest.approx(0.2065, abs=1e-4) and high == 1.0
    assert wilson_interval(5, 10, z=1.0)[0] > wilson_interval(5, 10)[0]
