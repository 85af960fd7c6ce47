"""A cell's solve rate fitted against T, beside the rule's frontier: P(solved | T) = expit(logit(rate) + b (log T
- log T*)), b <= 0, by maximum likelihood, with T*'s profile-likelihood interval (docs/frontier.md, "The fitted
crossing"). The profile is unimodal in log T* (the lines of constant T* pass through one point of the (intercept,
slope) plane and the likelihood's upper level sets are convex), so the interval is one interval; as T* goes to
+inf (-inf) it tends to the best constant rate >= (<=) ``rate``: within the cutoff, that end is open."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize, root
from scipy.special import expit, log_expit, logit, xlogy
from scipy.stats import chi2

LEVEL = 0.95
STEEPEST = 1e6  # |b| beyond this stands for an infinite slope (a step between lengths 1e-5 apart in log T)

FITTED, QUASI, SEPARATED, FLAT = "fitted", "quasi-separated", "separated", "flat"
TOO_FEW, NO_SEEDS, CERTAIN = "too few lengths", "no finished seed", "rule K/N = 1"
NOTES = {
    FITTED: "maximum-likelihood fit",
    QUASI: "every seed solved below one length and none above it: the slope runs off to infinity and the "
           "estimate is that length",
    SEPARATED: "every seed solved up to one length and none from the next probed one: any crossing between "
               "them fits perfectly, no point estimate",
    FLAT: "the solve rates do not fall with T: no point estimate",
    TOO_FEW: "fewer than 2 lengths with finished seeds",
    NO_SEEDS: "no finished seed",
    CERTAIN: "the rule asks for every seed: a logistic curve never reaches rate 1",
}

# The curves calibrated_cutoff simulates the search on: T* at these fractions of the way from the
# start length to the max length (in log T), with these slopes; this many searches each.
PANEL_PLACES = (0.2, 0.5, 0.8)
PANEL_SLOPES = (-2.0, -5.0, -12.0)
PANEL_RUNS = 100
PANEL_SEED = 0


@dataclass(frozen=True)
class Crossing:
    """``length``: NaN where there is no point estimate; ``low`` 0 and ``high`` inf: no end on that side; all
    three NaN when not fitted. ``note``: one of ``NOTES``' keys."""

    length: float = math.nan
    low: float = math.nan
    high: float = math.nan
    note: str = TOO_FEW


class _Profile:
    """The binomial log-likelihood of (log T*, b) on aggregated data, and its profile over b <= 0."""

    def __init__(self, x: np.ndarray, k: np.ndarray, n: np.ndarray, rate: float) -> None:
        self.x, self.k, self.n, self.a0 = x, k, n, float(logit(rate))

    def loglik(self, eta: np.ndarray) -> float:
        return float(self.k @ log_expit(eta) + (self.n - self.k) @ log_expit(-eta))

    def slope(self, m: float) -> float:
        """The b <= 0 that maximises the likelihood at log T* = m (concave in b: its score's root)."""
        d = self.x - m

        def score(u: float) -> float:  # d loglik / db at b = -exp(u): rises with u
            return float(d @ (self.k - self.n * expit(self.a0 - math.exp(u) * d)))

        lo, hi = math.log(1e-9), math.log(STEEPEST)
        if score(lo) >= 0:
            return 0.0
        if score(hi) <= 0:
            return -STEEPEST
        return -math.exp(brentq(score, lo, hi, xtol=1e-10))

    def __call__(self, m: float) -> float:
        return self.loglik(self.a0 + self.slope(m) * (self.x - m))

    def constant(self, p: float) -> float:  # the log-likelihood of one solve rate p at every length
        return float(np.sum(xlogy(self.k, p) + xlogy(self.n - self.k, 1 - p)))

    @property
    def pooled(self) -> float:
        return float(self.k.sum() / self.n.sum())


def fit_crossing(lengths: Iterable[float], solved: Iterable[int], finished: Iterable[int], rate: float,
                 cutoff: float | None = None) -> Crossing:
    """T* and its profile-likelihood interval at ``cutoff`` (twice the log-likelihood drop; None: chi2(1)'s 95%
    point, 3.84), from each probe's ``solved`` of ``finished`` seeds at its length."""
    prof = _profile(lengths, solved, finished, rate)
    if isinstance(prof, str):
        return Crossing(note=prof)
    margin = (chi2.ppf(LEVEL, 1) if cutoff is None else cutoff) / 2
    note, best, start, estimate = _maximum(prof, rate, margin)
    low = _end(prof, start, -1.0, best - margin, prof.constant(min(prof.pooled, rate)))
    high = _end(prof, start, 1.0, best - margin, prof.constant(max(prof.pooled, rate)))
    return Crossing(length=_length(estimate), low=_length(low), high=_length(high), note=note)


def _length(m: float | None) -> float:
    """T from log T (None: NaN); an end further out than a float reaches is no end (0 or inf)."""
    if m is None:
        return math.nan
    return math.inf if m > 700 else 0.0 if m < -700 else math.exp(m)


def _profile(lengths: Iterable[float], solved: Iterable[int], finished: Iterable[int],
             rate: float) -> _Profile | str:
    """The data pooled by length (lengths without a finished seed left out), or why not fitted."""
    if rate >= 1:
        return CERTAIN
    if not 0 < rate:
        raise ValueError(f"rate: must be in (0, 1), got {rate}")
    pooled: dict[float, np.ndarray] = {}
    for t, s, f in zip(lengths, solved, finished, strict=True):
        if f:
            pooled[float(t)] = pooled.get(float(t), 0) + np.array([int(s), int(f)], dtype=float)
    if len(pooled) < 2:
        return TOO_FEW if pooled else NO_SEEDS
    ts = sorted(pooled)
    k, n = np.array([pooled[t] for t in ts]).T.copy()
    return _Profile(np.log(np.array(ts)), k, n, rate)


def _maximum(prof: _Profile, rate: float, margin: float) -> tuple[str, float, float, float | None]:
    """(note, the supremum of the log-likelihood, a log T* where the profile is within ``margin``
    / 2 of it, the point estimate's log T* or None)."""
    x, k, n = prof.x, prof.k, prof.n
    full, none = k == n, k == 0
    for j in range(len(x) + 1):  # every seed solved below the cut, none from it on
        if full[:j].all() and none[j:].all():
            start = x[0] - 1.0 if j == 0 else x[-1] + 1.0 if j == len(x) else (x[j - 1] + x[j]) / 2
            return SEPARATED, 0.0, float(start), None
    for j in range(len(x)):  # one mixed length, every seed below it solved, none above
        if full[:j].all() and none[j + 1:].all():
            # The supremum: that length at its own rate, every other exact, as b -> -inf and
            # log T* -> x[j] from the side where the steep curve passes through that rate.
            mixed = k[j] / n[j]
            best = float(xlogy(k[j], mixed) + xlogy(n[j] - k[j], 1 - mixed))
            return QUASI, best, float(x[j] + (logit(mixed) - prof.a0) / (STEEPEST / 10)), float(x[j])
    p = prof.pooled
    if x @ (k - n * p) >= 0:  # at the best constant rate the likelihood does not rise as b falls below 0
        best = prof.constant(p)
        far, step = float(x[-1] if p >= rate else x[0]), 1.0 if p >= rate else -1.0
        while prof(far) < best - margin / 2 and abs(far) < 1e6:  # the profile tends to best that way
            far, step = far + step, step * 2
        return FLAT, best, far, None
    m, b = _fit(prof)
    return FITTED, prof.loglik(prof.a0 + b * (x - m)), m, m


def _fit(prof: _Profile) -> tuple[float, float]:
    """The maximum-likelihood (log T*, b) of data neither separated nor flat: the logistic regression of solved on
    centred log T (the score's root, by minimisation where that fails), then T*."""
    x, k, n = prof.x, prof.k, prof.n
    centre = float(np.average(x, weights=n))
    xc = x - centre

    def score(theta: np.ndarray) -> np.ndarray:
        resid = k - n * expit(theta[0] + theta[1] * xc)
        return np.array([resid.sum(), resid @ xc])

    def information(theta: np.ndarray) -> np.ndarray:
        p = expit(theta[0] + theta[1] * xc)
        w = n * p * (1 - p)
        return np.array([[w.sum(), w @ xc], [w @ xc, w @ xc**2]])

    start = np.array([float(logit(prof.pooled)), 0.0])
    res = root(score, start, jac=lambda t: -information(t), method="hybr")
    theta = res.x
    if not res.success or theta[1] >= 0 or np.abs(score(theta)).max() > 1e-6:
        theta = minimize(lambda t: (-prof.loglik(t[0] + t[1] * xc), -score(t)), start, jac=True,
                         hess=information, method="trust-exact").x
    intercept, b = float(theta[0]), float(theta[1])
    return centre + (prof.a0 - intercept) / b, b


def _end(prof: _Profile, start: float, direction: float, cutoff: float, limit: float) -> float:
    """The interval's end on one side of ``start`` (log T*): where the profile falls to ``cutoff``;
    +-inf when its limit on that side stays at or above it."""
    if limit >= cutoff:
        return direction * math.inf
    inside, step = start, 0.125
    for _ in range(80):
        out = start + direction * step
        if prof(out) < cutoff:
            return brentq(lambda m: prof(m) - cutoff, min(inside, out), max(inside, out), xtol=1e-7)
        inside, step = out, step * 2
    return direction * math.inf  # not reached: still within the cutoff 2^80 away


def deviance_at(lengths: Iterable[float], solved: Iterable[int], finished: Iterable[int], rate: float,
                crossing: float) -> float | None:
    """Twice the profile log-likelihood's drop from its maximum to T* = ``crossing`` (the interval at cutoff c
    holds ``crossing`` when this is <= c); None when not fitted."""
    prof = _profile(lengths, solved, finished, rate)
    if isinstance(prof, str):
        return None
    _, best, _, _ = _maximum(prof, rate, chi2.ppf(LEVEL, 1) / 2)
    return max(0.0, 2 * (best - prof(math.log(crossing))))


def simulate_search(rule: tuple[int, int], start: int, max_length: int, solve_rate: Callable[[int], float],
                    rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """One frontier search (``Frontier``, one cell, seeds one at a time: speculate 0) whose seeds
    solve length T with probability ``solve_rate(T)``: (length, solved, finished) per probe."""
    from study.frontier.search import DONE, Frontier

    fr = Frontier([{"model": "RNN"}], rule=rule, start=start, max_length=max_length, speculate=0)
    while (trial := fr.next_trial()) not in (DONE, None):
        fr.record(*trial, solved=bool(rng.random() < solve_rate(trial.length)))
    return [(p.length, p.solved, p.finished) for p in fr._probes[0].values()]


@functools.lru_cache(maxsize=16)
def calibrated_cutoff(rule: tuple[int, int], start: int, max_length: int, level: float = LEVEL) -> float:
    """The profile-likelihood cutoff whose interval holds the true crossing in ``level`` of the
    frontier searches simulated with this rule, start and max length on the ``PANEL_*`` curves
    (seeded: the same number every time); never below chi2(1)'s ``level`` point."""
    rate = rule[0] / rule[1]
    nominal = float(chi2.ppf(level, 1))
    if rate >= 1:
        return nominal
    rng = np.random.default_rng(PANEL_SEED)
    lo, hi = math.log(start), math.log(max_length)
    stats = []
    for place in PANEL_PLACES:
        crossing = math.exp(lo + place * (hi - lo))
        for slope in PANEL_SLOPES:
            def solve_rate(t: int, slope: float = slope, crossing: float = crossing) -> float:
                return float(expit(logit(rate) + slope * math.log(t / crossing)))

            for _ in range(PANEL_RUNS):
                lengths, solved, finished = zip(*simulate_search(rule, start, max_length, solve_rate, rng),
                                                strict=True)
                stat = deviance_at(lengths, solved, finished, rate, crossing)
                if stat is not None:
                    stats.append(stat)
    return max(nominal, float(np.quantile(stats, level))) if stats else nominal
