"""The intervals the study's tables, figures and README report; nothing here reads or draws.

Accuracy is a proportion, bounded by 0 and 1, and a cell of a study has 3 to 10 seeds. Every
interval here is a 95% interval and stays inside the range of what it estimates:

``logit_t_interval``
    The mean accuracy across seeds (``summary.csv``'s ``eval_accuracy_low/_high``, the curve
    bands, the printed "mean [95% CI, logit-t]"): a Student t interval on the logit scale. Each
    seed's accuracy p_i is clipped to [eps, 1 - eps] with ``EPS`` = 1e-4 (about half an example
    of the 4,096-example held-out sample, 1/8192 = 1.2e-4, so that a seed at exactly 0 or 1 has
    a finite logit), z_i = logit(p_i) = log(p_i / (1 - p_i)), and

        low, high = expit(mean(z) -+ t(0.975, n - 1) * sd(z) / sqrt(n)),

    sd with ddof = 1, t from ``scipy.stats.t.ppf``, expit(z) = 1 / (1 + exp(-z)). The interval
    lies in (0, 1) by construction. The point estimate reported with it stays the arithmetic mean
    of the (unclipped) seeds. That mean need not lie inside the back-transformed interval: the
    interval is centred on expit(mean(z)), and the two differ when the seeds are skewed (every
    seed at exactly 1 collapses the interval to [1 - eps, 1 - eps] while the mean is 1; nine seeds
    at 0.999 and one at 0.1 give [0.981, 0.9997] while their mean is 0.909). Then the interval is
    widened to reach the mean, ``low = min(low, mean)``, ``high = max(high, mean)``, so that a
    figure's error bar is never negative and a table never prints a mean outside its interval.
    One value: low and high are NaN.

``wilson_interval``
    A success rate k/n (``solved_low/_high``: the seeds that reached the target): Wilson's score
    interval, inside [0, 1] by construction.

``mover_interval``
    A linear combination of independent group means, c = sum_i w_i m_i, here the odd-vs-even
    contrast c(T) = m(T) - (m(T - 1) + m(T + 1)) / 2, which lies in [-1, 1]. Zou and Donner's
    MOVER (method of variance estimates recovery; Newcombe's 1998 hybrid interval for a
    difference of proportions is its two-group case) recovers the combination's interval from each
    group's own interval (l_i, u_i) around m_i (here each ``logit_t_interval``):

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
from scipy import special, stats

LEVEL = 0.95
EPS = 1e-4  # accuracy clipped to [EPS, 1 - EPS] before the logit: about half an example in 4,096
METHOD = "logit-t"  # the name the tables give the accuracy interval
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


def logit_t_interval(values: Sequence[float] | pd.Series | np.ndarray, eps: float = EPS,
                     level: float = LEVEL) -> tuple[int, float, float, float]:
    """(n, mean, low, high) of the finite ``values``, proportions in [0, 1]: the logit-scale t interval.

    ``mean`` is the arithmetic mean; (low, high) the back-transformed t interval of the clipped
    logits, widened to include the mean (module docstring). n = 0: all NaN; n = 1: low, high NaN.
    Raises ValueError for a value outside [0, 1]: the interval is for proportions only.
    """
    x = finite_values(values)
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    if (x < 0).any() or (x > 1).any():
        raise ValueError(f"logit_t_interval: values must lie in [0, 1], got {x.min():g} ... {x.max():g}")
    mean = float(x.mean())
    if n == 1:
        return 1, mean, math.nan, math.nan
    z = special.logit(np.clip(x, eps, 1 - eps))
    centre = float(z.mean())
    half = t_quantile(n - 1, level) * float(z.std(ddof=1)) / math.sqrt(n)
    low, high = float(special.expit(centre - half)), float(special.expit(centre + half))
    return n, mean, min(low, mean), max(high, mean)


def wilson_interval(k: int, n: int, z: float = Z_975) -> tuple[float, float]:
    """The 95% Wilson score interval of a success rate k/n (NaN, NaN for n = 0):

        centre +- half, centre = (p + z^2 / 2n) / (1 + z^2 / n),
        half = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n),  p = k / n, z = 1.959964.

    It says what n seeds can show: 3/3 solved means a rate of at least 0.44, 0/3 at most 0.56.
    """
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    # k = 0 and k = n give exactly 0 and 1 (centre and half are then equal): no rounding residue.
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    high = 1.0 if k >= n else min(1.0, centre + half)
    return low, high


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
                      eps: float = EPS, level: float = LEVEL) -> tuple[float, float, float]:
    """(c, low, high): ``mover_interval`` of sum_i w_i mean(groups[i]), each group's interval its
    ``logit_t_interval`` (groups are accuracies of independent seeds)."""
    parts = [logit_t_interval(g, eps=eps, level=level) for g in groups]
    if any(n == 0 for n, *_ in parts):
        return math.nan, math.nan, math.nan
    return mover_interval([p[1] for p in parts], [(p[2], p[3]) for p in parts], weights)
