"""study.basics.stats at its edges: the mutants that test_stats.py and test_tables.py let through
(docs/testing.md, python scripts/mutation.py) each change one of these answers."""

import math

import numpy as np
import pytest

from study.basics.stats import accuracy_interval, contrast_interval, finite_values, mover_interval


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
