"""study.stats: the intervals, worked out by hand, and kept inside the range of what they estimate."""

import math

import numpy as np
import pytest

from study.basics import stats as st
from study.basics.stats import t_quantile, wilson_interval
from study.results import exercise as tb

# t(0.975, df) from a printed t table, not from scipy
T975 = {1: 12.706205, 2: 4.302653, 4: 2.776445, 9: 2.262157}


# t(0.995, df) from a printed t table (the 99% two-sided column), not from scipy
T995 = {1: 63.656741, 2: 9.924843, 4: 4.604095, 9: 3.249836}


def wilson_by_hand(k, n, z=1.959964):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def by_hand(values, m=None):
    """The interval from its formula: mean -+ t(0.995, n - 1) sd / sqrt(n), clipped to [0, 1], joined with
    the Wilson interval of the pooled count (m examples a seed)."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = T995[n - 1] * sd / math.sqrt(n)
    low, high = max(0.0, mean - half), min(1.0, mean + half)
    if m is not None:
        k = sum(round(v * m) for v in values)
        wl, wh = wilson_by_hand(k, n * m)
        low, high = min(low, 0.0 if k == 0 else wl), max(high, 1.0 if k == n * m else wh)
    return mean, low, high


def close(x):
    return pytest.approx(x, abs=2e-5)


def test_t_quantile_from_scipy():
    for df, t in T975.items():
        assert st.t_quantile(df) == pytest.approx(t, abs=1e-4)
    assert st.t_quantile(30) == pytest.approx(2.0423, abs=1e-4)
    assert st.t_quantile(200) == pytest.approx(1.9719, abs=1e-4)  # no 1.96 fallback beyond 30
    assert math.isnan(st.t_quantile(0))
    assert t_quantile is st.t_quantile and not hasattr(tb, "T_975")


def test_worked_example_of_the_issue():
    # 1.00, 0.99, 0.96 of 100 held-out examples (T = 5): mean 0.98333, sd 0.020817, half = 9.9248 * 0.020817
    # / sqrt(3) = 0.11928 -> [0.864, 1]. The logit-t interval gave [0.102, 1.000], below every seed.
    n, mean, low, high = st.accuracy_interval([1.0, 0.99, 0.96], 100)
    assert n == 3 and mean == pytest.approx(0.98333, abs=1e-5)
    assert (low, high) == (close(0.98333 - 0.11928), 1.0)
    assert low > 0.85


@pytest.mark.parametrize("values,m", [
    ([0.9, 0.8, 0.7], 4096), ([1.0, 0.9, 0.8], 100), ([0.5, 0.3, 0.4], None),
    ([1.0, 1.0, 1.0, 1.0, 0.96], 100), ([0.3, 0.25, 0.28, 0.31, 0.3, 0.29, 0.27, 0.26, 0.33, 0.32], 988),
    ([1.0, 1.0, 1.0], 4096), ([1 - 1 / 4096] * 3, 4096), ([0.5] * 3, 100),
])
def test_the_interval_matches_the_formula(values, m):
    n, mean, low, high = st.accuracy_interval(values, m)
    assert (mean, low, high) == tuple(close(v) for v in by_hand(values, m))


def test_agreeing_seeds_never_give_a_zero_width_interval():
    # Every seed one example short of 1 (or all at 1): the held-out examples alone leave room.
    for values, m in (([1 - 1 / 4096] * 3, 4096), ([1.0] * 3, 4096), ([1.0] * 10, 100), ([0.5] * 3, 988)):
        _, mean, low, high = st.accuracy_interval(values, m)
        assert low < high and low <= mean <= high
    assert st.accuracy_interval([1.0] * 3, 4096)[2] == close(wilson_by_hand(3 * 4096, 3 * 4096)[0])
    # Without the count, agreeing seeds have no spread and the t part alone has no width: the count matters.
    assert st.accuracy_interval([0.5] * 3)[2:] == (0.5, 0.5)


def test_each_seed_may_have_its_own_count_and_nan_seeds_drop_with_theirs():
    n, mean, low, high = st.accuracy_interval([1.0, math.nan, 1.0], [100, 5, 4096])
    assert n == 2 and low == close(wilson_by_hand(4196, 4196)[0])
    # A count missing for a seed: the t part alone, as when no count is known.
    assert st.accuracy_interval([0.5, 0.5], [100, math.nan])[2:] == (0.5, 0.5)


@pytest.mark.parametrize("values", [
    [1.0] * 3, [1.0] * 10, [0.0] * 3, [0.0] * 10,          # every seed at a bound
    [1.0, 1.0, 0.1], [0.0, 0.0, 0.9],                       # one seed at chance (or solved), the rest not
    [1.0, 0.1, 0.1], [0.5, 0.5, 0.5], [1.0, 0.0, 1.0],
    [1.0] * 9 + [0.0], [0.999] * 9 + [0.1],                 # 10 seeds, one far from the rest
    [0.976, 1.0, 0.9, 1.0, 1.0],
])
def test_the_interval_stays_in_the_unit_interval_and_contains_the_mean(values):
    for m in (None, 100, 4096):
        n, mean, low, high = st.accuracy_interval(values, m)
        assert n == len(values)
        assert 0.0 <= low <= mean <= high <= 1.0


def test_one_value_none_and_bad_input():
    assert st.accuracy_interval([0.7], 100)[:2] == (1, 0.7)
    assert all(math.isnan(v) for v in st.accuracy_interval([0.7], 100)[2:])
    n, *rest = st.accuracy_interval([math.nan, None, "x"])
    assert n == 0 and all(math.isnan(v) for v in rest)
    assert st.accuracy_interval([0.5, math.nan, 0.7])[0] == 2
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        st.accuracy_interval([0.5, 1.2])


def test_random_seeds_stay_inside():
    rng = np.random.default_rng(0)
    for n in (3, 5, 10):
        for _ in range(200):
            values = rng.choice([0.0, 0.1, 0.5, 0.97, 1.0], size=n) if rng.random() < 0.5 else rng.random(n)
            _, mean, low, high = st.accuracy_interval(values, int(rng.choice([100, 988, 4096])))
            assert 0.0 <= low <= mean <= high <= 1.0


def test_wilson_interval():
    assert st.wilson_interval(3, 3) == (pytest.approx(0.43850, abs=1e-4), 1.0)
    assert st.wilson_interval(0, 3) == (0.0, pytest.approx(0.56150, abs=1e-4))
    # 2/3 by hand: den = 1 + z^2/3 = 2.28054, centre = (2/3 + z^2/6) / den = 0.57309, half = 0.36545
    assert st.wilson_interval(2, 3) == (pytest.approx(0.20765, abs=1e-4), pytest.approx(0.93854, abs=1e-4))
    assert all(math.isnan(v) for v in st.wilson_interval(0, 0))
    assert wilson_interval is st.wilson_interval


def test_mover_difference_by_hand():
    # p1 = 0.8 in (0.7, 0.9), p2 = 0.5 in (0.3, 0.6): d = 0.3,
    # low = d - sqrt((0.8 - 0.7)^2 + (0.6 - 0.5)^2), high = d + sqrt((0.9 - 0.8)^2 + (0.5 - 0.3)^2)
    c, low, high = st.mover_interval([0.8, 0.5], [(0.7, 0.9), (0.3, 0.6)], [1, -1])
    assert c == pytest.approx(0.3)
    assert (low, high) == (pytest.approx(0.3 - math.sqrt(0.02)), pytest.approx(0.3 + math.sqrt(0.05)))
    c, low, high = st.mover_interval([0.8, 0.5], [(0.7, 0.9), (math.nan, math.nan)], [1, -1])
    assert c == pytest.approx(0.3) and math.isnan(low) and math.isnan(high)


def test_contrast_by_hand():
    groups = [[1.0, 0.8], [0.6, 0.4], [0.5, 0.3]]  # c = 0.9 - (0.5 + 0.4) / 2 = 0.45
    parts = [by_hand(g) for g in groups]
    (m0, l0, u0), (m1, l1, u1), (m2, l2, u2) = parts
    c, low, high = st.contrast_interval(groups, [1, -0.5, -0.5])
    assert c == pytest.approx(0.45)
    assert low == close(c - math.sqrt((m0 - l0) ** 2 + ((u1 - m1) / 2) ** 2 + ((u2 - m2) / 2) ** 2))
    assert high == close(c + math.sqrt((u0 - m0) ** 2 + ((m1 - l1) / 2) ** 2 + ((m2 - l2) / 2) ** 2))


@pytest.mark.parametrize("groups", [
    [[1.0] * 3, [0.0] * 3, [0.0] * 3],          # c = 1, the most it can be
    [[0.0] * 3, [1.0] * 3, [1.0] * 3],          # c = -1
    [[1.0, 1.0, 0.1], [0.0, 0.0, 0.9], [0.5, 0.6, 0.7]],
    [[1.0, 0.1, 0.1], [1.0, 1.0, 0.1], [1.0, 1.0, 1.0]],
    [[0.99, 1.0, 1.0, 1.0, 0.96], [1.0] * 5, [0.999, 1.0, 0.998, 1.0, 1.0]],
])
def test_contrast_stays_in_its_range_and_contains_c(groups):
    c, low, high = st.contrast_interval(groups, [1, -0.5, -0.5])
    assert -1.0 <= low <= c <= high <= 1.0


def test_contrast_needs_two_seeds_everywhere():
    c, low, high = st.contrast_interval([[0.9], [0.5, 0.4], [0.3, 0.2]], [1, -0.5, -0.5])
    assert c == pytest.approx(0.9 - 0.7 / 2) and math.isnan(low) and math.isnan(high)
