"""study.stats: the intervals, worked out by hand, and kept inside the range of what they estimate."""

import math

import numpy as np
import pytest

from study.basics import stats as st
from study.basics.stats import t_quantile, wilson_interval
from study.results import exercise as tb

# t(0.975, df) from a printed t table, not from scipy
T975 = {1: 12.706205, 2: 4.302653, 4: 2.776445, 9: 2.262157}


def expit(z):
    return 1 / (1 + math.exp(-z))


def by_hand(values, eps=1e-4):
    """The logit-t interval from its formula: clip, logit, mean +- t sd / sqrt(n), expit, widen to the mean."""
    x = [min(max(v, eps), 1 - eps) for v in values]
    z = [math.log(p / (1 - p)) for p in x]
    n = len(z)
    centre = sum(z) / n
    sd = math.sqrt(sum((v - centre) ** 2 for v in z) / (n - 1))
    half = T975[n - 1] * sd / math.sqrt(n)
    mean = sum(values) / n
    return mean, min(expit(centre - half), mean), max(expit(centre + half), mean)


def close(x):
    return pytest.approx(x, abs=2e-5)


def test_t_quantile_from_scipy():
    for df, t in T975.items():
        assert st.t_quantile(df) == pytest.approx(t, abs=1e-4)
    assert st.t_quantile(30) == pytest.approx(2.0423, abs=1e-4)
    assert st.t_quantile(200) == pytest.approx(1.9719, abs=1e-4)  # no 1.96 fallback beyond 30
    assert math.isnan(st.t_quantile(0))
    assert t_quantile is st.t_quantile and not hasattr(tb, "T_975")


def test_logit_t_worked_example():
    # logits 0, 1, 2: mean 1, sd 1, half = 4.3027 / sqrt(3) = 2.48414 -> expit(-1.48414), expit(3.48414)
    values = [expit(0), expit(1), expit(2)]  # 0.5, 0.731059, 0.880797
    n, mean, low, high = st.logit_t_interval(values)
    assert n == 3 and mean == pytest.approx((0.5 + 0.731059 + 0.880797) / 3, abs=1e-6)
    assert (low, high) == (close(0.184803), close(0.970233))
    assert (low, high) == (close(expit(1 - 4.3027 / math.sqrt(3))), close(expit(1 + 4.3027 / math.sqrt(3))))


@pytest.mark.parametrize("values", [
    [0.9, 0.8, 0.7],
    [1.0, 0.9, 0.8],
    [0.5, 0.3],
    [1.0, 1.0, 1.0, 1.0, 0.96],
    [0.3, 0.25, 0.28, 0.31, 0.3, 0.29, 0.27, 0.26, 0.33, 0.32],
])
def test_logit_t_matches_the_formula(values):
    n, mean, low, high = st.logit_t_interval(values)
    assert (mean, low, high) == tuple(close(v) for v in by_hand(values))


@pytest.mark.parametrize("values", [
    [1.0] * 3, [1.0] * 10, [0.0] * 3, [0.0] * 10,          # every seed at a bound
    [1.0, 1.0, 0.1], [0.0, 0.0, 0.9],                       # one seed at chance (or solved), the rest not
    [1.0, 0.1, 0.1], [0.5, 0.5, 0.5], [1.0, 0.0, 1.0],
    [1.0] * 9 + [0.0], [0.999] * 9 + [0.1],                 # 10 seeds, one far from the rest
    [0.976, 1.0, 0.9, 1.0, 1.0],
])
def test_logit_t_stays_in_the_unit_interval_and_contains_the_mean(values):
    n, mean, low, high = st.logit_t_interval(values)
    assert n == len(values)
    assert 0.0 <= low <= mean <= high <= 1.0


def test_logit_t_at_the_bounds():
    assert st.logit_t_interval([1.0] * 3) == (3, 1.0, close(1 - 1e-4), 1.0)  # collapses at 1 - eps, widened to 1
    assert st.logit_t_interval([0.0] * 10) == (10, 0.0, 0.0, close(1e-4))
    assert st.logit_t_interval([0.5] * 3) == (3, 0.5, close(0.5), close(0.5))  # no spread, no width


def test_logit_t_widens_to_a_mean_outside_it():
    # Nine seeds at 0.999 and one at 0.1: the logit interval is about [0.981, 0.9997], the mean 0.909.
    values = [0.999] * 9 + [0.1]
    n, mean, low, high = st.logit_t_interval(values)
    z = [math.log(0.999 / 0.001)] * 9 + [math.log(0.1 / 0.9)]
    centre, sd = np.mean(z), np.std(z, ddof=1)
    assert expit(centre - T975[9] * sd / math.sqrt(10)) == pytest.approx(0.981, abs=1e-3)
    assert mean == pytest.approx(0.9091) and low == mean and high == close(expit(centre + T975[9] * sd / 10 ** 0.5))


def test_logit_t_one_value_none_and_bad_input():
    assert st.logit_t_interval([0.7])[:2] == (1, 0.7)
    assert all(math.isnan(v) for v in st.logit_t_interval([0.7])[2:])
    n, *rest = st.logit_t_interval([math.nan, None, "x"])
    assert n == 0 and all(math.isnan(v) for v in rest)
    assert st.logit_t_interval([0.5, math.nan, 0.7])[0] == 2
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        st.logit_t_interval([0.5, 1.2])


def test_random_seeds_stay_inside():
    rng = np.random.default_rng(0)
    for n in (3, 5, 10):
        for _ in range(200):
            values = rng.choice([0.0, 0.1, 0.5, 0.97, 1.0], size=n) if rng.random() < 0.5 else rng.random(n)
            _, mean, low, high = st.logit_t_interval(values)
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
