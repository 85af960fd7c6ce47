"""The intervals the study's tables, figures and README report; nothing here reads or draws.

Accuracy is a proportion, bounded by 0 and 1, and a cell of a study has 3 to 10 seeds. Every
interval here is a 95% interval and stays inside the range of what it estimates:

``accuracy_interval``
    The mean accuracy across seeds (``summary.csv``'s ``eval_accuracy_low/_high``, the curve bands,
    the printed "mean [95% CI, t(0.995) | Wilson]"). Each seed's accuracy p_i is a proportion of the m_i
    held-out examples it was evaluated on (``palrnn.data.eval_count``: about 100 at T = 5, 988 at
    T = 6 and 7, 9,912 at T = 8 and 9, 4,096 from T = 10). The interval is the union of two:

    - a Student t interval on the raw scale, mean(p) -+ t(q, n - 1) sd(p) / sqrt(n) (sd with
      ddof = 1), clipped to [0, 1], with its quantile q = ``T_QUANTILE``;
    - Wilson's score interval of the pooled count, sum_i round(p_i m_i) of sum_i m_i examples:
      what the held-out examples alone allow, so that seeds that agree (all at 1, or all one
      example short of it) never give a zero-width interval.

    The quantile is not the textbook 0.975: it was chosen by the coverage simulation kept as
    tests/study/test_coverage.py (docs/statistics.md has its table). Accuracies near 1 are skewed:
    most seeds at 0.99-1.00 and a few well below (the references have 0.9777, 0.998, 1.0, 0.9261,
    0.999 at one cell). There the 0.975 quantile covers the true mean only 0.88-0.89 of the time at
    3 to 10 seeds, 0.9875 and 0.99 about 0.91; q = ``T_QUANTILE`` = 0.995 is the smallest of those
    four that covers it at >= 0.93 in every scenario of the simulation (0.94 at worst). It is still a
    95% interval: 95% is the coverage it was chosen for, not the level of its t quantile. The price
    is width at 3 seeds: 1.00, 0.99 and 0.96 of 100 examples give [0.864, 1.000] (0.975 would give
    [0.932, 1.000], and cover 0.88 in the heavy-tailed scenario those seeds look like). It contains
    the mean and lies in [0, 1]. One seed: low and high are NaN (one seed says nothing of the spread
    across seeds). Without the examples' counts (``examples`` None) only the t part is computed.

``wilson_interval``
    A success rate k/n (``solved_low/_high``: the seeds that reached the target): Wilson's score
    interval, inside [0, 1] by construction.

``mover_interval``
    A linear combination of independent group means, c = sum_i w_i m_i, here the odd-vs-even
    contrast c(T) = m(T) - (m(T - 1) + m(T + 1)) / 2, which lies in [-1, 1]. Zou and Donner's
    MOVER (method of variance estimates recovery; Newcombe's 1998 hybrid interval for a
    difference of proportions is its two-group case) recovers the combination's interval from each
    group's own interval (l_i, u_i) around m_i (here each ``accuracy_interval``):

        low  = c - sqrt(sum_i (w_i m_i - min(w_i l_i, w_i u_i))^2)
        high = c + sqrt(sum_i (max(w_i l_i, w_i u_i) - w_i m_i)^2)

    Since sqrt(a^2 + b^2) <= a + b for a, b >= 0, low >= sum_i min(w_i l_i, w_i u_i) and high <=
    sum_i max(w_i l_i, w_i u_i): the interval stays within what the groups' own intervals allow
    (inside [-1, 1] for the contrast) and contains c. Deterministic (no resampling, which with 3
    seeds a group would have only 10 distinct bootstrap samples). NaN when any group has no interval.

References: Zou, G. Y. and Donner, A. (2008), Construction of confidence limits about effect
measures: a general approach, Statistics in Medicine 27(10); Newcombe, R. G. (1998), Interval
estimation for the difference between independent proportions, Statistics in Medicine 17(8);
Wilson, E. B. (1927), JASA 22(158).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
T_QUANTILE = 0.995  # the t quantile of accuracy_interval, chosen by tests/study/test_coverage.py
METHOD = "t(0.995) | Wilson"  # the name the tables give the accuracy interval (module docstring)
Z_975 = float(stats.norm.ppf(0.975))  # 1.959964


def t_quantile(df: int, level: float = LEVEL) -> float:
    """The two-sided ``level`` Student t quantile t((1 + level) / 2, df) (scipy); NaN for df < 1."""
    if df < 1:
        return math.nan
    return float(stats.t.ppf((1 + level) / 2, df))


def finite_values(values: Sequence[float] | pd.Series | np.ndarray) -> np.ndarray:
    """The finite numbers among ``values`` (text that is not a number and NaN are dropped)."""
    x = np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=float)
    return x[np.isfinite(x)]


def accuracy_intervals(p: np.ndarray, examples: np.ndarray | float | None,
                       quantile: float = T_QUANTILE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high) of each row of ``p`` (R, n): n >= 2 seeds' accuracies, each a proportion
    of ``examples`` held-out examples (a number, or an array broadcast to p's shape; None: the t
    part only). Vectorised ``accuracy_interval`` (module docstring), for the coverage simulation."""
    p = np.asarray(p, dtype=float)
    n = p.shape[1]
    mean = p.mean(axis=1)
    half = float(stats.t.ppf(quantile, n - 1)) * p.std(axis=1, ddof=1) / math.sqrt(n)
    low, high = np.clip(mean - half, 0.0, 1.0), np.clip(mean + half, 0.0, 1.0)
    if examples is not None:
        m = np.broadcast_to(np.asarray(examples, dtype=float), p.shape)
        k, total = np.rint(p * m).sum(axis=1), m.sum(axis=1)
        w_low, w_high = wilson_bounds(k, total)
        low, high = np.minimum(low, w_low), np.maximum(high, w_high)
    return mean, low, high


def accuracy_interval(values: Sequence[float] | pd.Series | np.ndarray,
                      examples: Sequence[float] | np.ndarray | float | None = None,
                      quantile: float = T_QUANTILE) -> tuple[int, float, float, float]:
    """(n, mean, low, high) of the finite ``values`` (seeds' accuracies in [0, 1]), each a proportion
    of ``examples`` held-out examples (one number for all, or one per value; None: unknown): the t
    interval joined with the pooled Wilson interval (module docstring). n = 0: all NaN; n = 1:
    low, high NaN. Raises ValueError for a value outside [0, 1]: the interval is for proportions."""
    raw = np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=float)
    keep = np.isfinite(raw)
    x = raw[keep]
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    if (x < 0).any() or (x > 1).any():
        raise ValueError(f"accuracy_interval: values must lie in [0, 1], got {x.min():g} ... {x.max():g}")
    mean = float(x.mean())
    if n == 1:
        return 1, mean, math.nan, math.nan
    m = None
    if examples is not None:
        m = np.asarray(examples, dtype=float)
        m = m[keep] if m.ndim else np.full(n, float(m))
        if not (np.isfinite(m).all() and (m >= 1).all()):
            m = None  # a count not known for every seed: the t part alone
    _, low, high = accuracy_intervals(x[None, :], None if m is None else m[None, :], quantile)
    return n, mean, float(min(low[0], mean)), float(max(high[0], mean))


def wilson_bounds(k: np.ndarray, n: np.ndarray, z: float = Z_975) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised ``wilson_interval`` (n > 0): exactly 0 at k = 0 and 1 at k = n."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    low = np.where(k <= 0, 0.0, np.maximum(0.0, centre - half))
    high = np.where(k >= n, 1.0, np.minimum(1.0, centre + half))
    return low, high


def wilson_interval(k: int, n: int, z: float = Z_975) -> tuple[float, float]:
    """The 95% Wilson score interval of a success rate k/n (NaN, NaN for n = 0):

        centre +- half, centre = (p + z^2 / 2n) / (1 + z^2 / n),
        half = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n),  p = k / n, z = 1.959964.

    It says what n seeds can show: 3/3 solved means a rate of at least 0.44, 0/3 at most 0.56.
    """
    if n <= 0:
        return math.nan, math.nan
    low, high = wilson_bounds(k, n, z)
    return float(low), float(high)


def mover_interval(estimates: Sequence[float], intervals: Sequence[tuple[float, float]],
                   weights: Sequence[float]) -> tuple[float, float, float]:
    """(c, low, high) for c = sum_i w_i m_i from each independent m_i's interval (l_i, u_i): MOVER.

    Formula in the module docstring. low, high are NaN when any interval is missing (NaN).
    """
    m = np.asarray(estimates, dtype=float)
    w = np.asarray(weights, dtype=float)
    lu = np.asarray(intervals, dtype=float).reshape(len(m), 2)
    c = float(np.dot(w, m))
    if not np.isfinite(lu).all():
        return c, math.nan, math.nan
    wl, wu, wm = w * lu[:, 0], w * lu[:, 1], w * m
    down = np.minimum(wl, wu)
    up = np.maximum(wl, wu)
    low = c - math.sqrt(float(np.sum((wm - down) ** 2)))
    high = c + math.sqrt(float(np.sum((up - wm) ** 2)))
    return c, low, high


def contrast_interval(groups: Sequence[Sequence[float] | np.ndarray], weights: Sequence[float],
                      examples: Sequence[float | None] | None = None) -> tuple[float, float, float]:
    """(c, low, high): ``mover_interval`` of sum_i w_i mean(groups[i]), each group's interval its
    ``accuracy_interval`` (groups are accuracies of independent seeds; ``examples[i]`` the held-out
    examples behind group i's accuracies, None where unknown)."""
    counts = list(examples) if examples is not None else [None] * len(groups)
    parts = [accuracy_interval(g, m) for g, m in zip(groups, counts, strict=True)]
    if any(n == 0 for n, *_ in parts):
        return math.nan, math.nan, math.nan
    return mover_interval([p[1] for p in parts], [(p[2], p[3]) for p in parts], weights)
