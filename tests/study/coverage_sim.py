"""The coverage simulation that chooses the mean-accuracy interval (study.basics.stats.accuracy_interval).

Seeds are drawn from generators like the ones the studies meet, each seed's accuracy a binomial
proportion of its m held-out examples, and each candidate interval's coverage of the true mean
accuracy is counted over ``REPS`` replications. tests/study/test_coverage.py keeps the choice;
docs/statistics.md shows this module's table, written by

    .venv/bin/python tests/study/coverage_sim.py          (prints the Markdown table)

Scenarios (n = 3, 5 and 10 seeds; m = 100, 1,000 and 4,096 held-out examples, the sizes at T = 5,
T = 6-7 and T >= 10):
- equal: every seed's true accuracy the same (0.5, 0.9, 0.99, 0.999, 1 - 1/4096);
- clustered near 1: deficits 1 - accuracy gamma-distributed with shape 2, mean 0.002, 0.01, 0.03;
- heavy tail near 1: deficits exponential (most seeds at 0.99-1.00, a few well below), same means;
- spread: accuracies from a beta of mean 0.4 or 0.7, sd 0.15 (a length the model half learns);
- solve/fail mixture: each seed solves (accuracy ~0.995) with probability 0.5 or 0.8, else stays
  near chance (~0.15). When every seed lands on one side, nothing in the seeds shows the other
  side, and no interval made from them can reach the mean but by being useless everywhere else
  (at n = 3 and 0.8 that is 51% of the draws: the solve count's Wilson interval speaks for it);
  so the mixture's coverage is counted over the draws that show both outcomes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from study.basics.stats import accuracy_intervals  # noqa: E402

REPS = 2000
SEEDS = (3, 5, 10)
EXAMPLES = (100, 1000, 4096)
TARGET = 0.93  # the coverage the chosen interval must reach in every scenario


@dataclass(frozen=True)
class Scenario:
    family: str
    label: str
    n: int
    m: int
    truth: float
    draw: Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray | None]]


def _beta(mu: float, sd: float) -> tuple[float, float]:
    k = mu * (1 - mu) / sd**2 - 1
    return mu * k, (1 - mu) * k


def scenarios() -> Iterator[Scenario]:
    for n in SEEDS:
        for m in EXAMPLES:
            for th in (0.5, 0.9, 0.99, 0.999, 1 - 1 / 4096):
                yield Scenario("equal", f"{th:.5g}", n, m, th, lambda g, r, n, th=th: (np.full((r, n), th), None))
            for d in (0.002, 0.01, 0.03):
                yield Scenario("clustered near 1", f"deficit {d}", n, m, 1 - d,
                               lambda g, r, n, d=d: (1 - np.minimum(g.gamma(2.0, d / 2, (r, n)), 1), None))
                yield Scenario("heavy tail near 1", f"deficit {d}", n, m, 1 - d,
                               lambda g, r, n, d=d: (1 - np.minimum(g.exponential(d, (r, n)), 1), None))
            for mu in (0.4, 0.7):
                a, b = _beta(mu, 0.15)
                yield Scenario("spread", f"mean {mu}", n, m, mu, lambda g, r, n, a=a, b=b: (g.beta(a, b, (r, n)), None))
        for pi in (0.5, 0.8):
            (a1, b1), (a0, b0) = _beta(0.995, 0.004), _beta(0.15, 0.05)

            def mixture(g, r, n, pi=pi, a1=a1, b1=b1, a0=a0, b0=b0):
                solved = g.random((r, n)) < pi
                return np.where(solved, g.beta(a1, b1, (r, n)), g.beta(a0, b0, (r, n))), solved

            yield Scenario("solve/fail mixture", f"solve rate {pi}", n, 4096, pi * 0.995 + (1 - pi) * 0.15, mixture)


def _logit_t(p: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The interval the tables gave before: t on the logit scale, seeds clipped to [1e-4, 1 - 1e-4]."""
    n = p.shape[1]
    z = special.logit(np.clip(p, 1e-4, 1 - 1e-4))
    half = stats.t.ppf(0.975, n - 1) * z.std(axis=1, ddof=1) / math.sqrt(n)
    mean, centre = p.mean(axis=1), z.mean(axis=1)
    return np.minimum(special.expit(centre - half), mean), np.maximum(special.expit(centre + half), mean)


def _bootstrap(p: np.ndarray, m: int, b: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap of the mean (``b`` resamples, seeded)."""
    idx = np.random.default_rng(1).integers(0, p.shape[1], (b, p.shape[1]))
    means = p[:, idx].mean(axis=2)
    return np.quantile(means, 0.025, axis=1), np.quantile(means, 0.975, axis=1)


def _product(quantile: float, wilson: bool) -> Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]:
    def interval(p: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        _, low, high = accuracy_intervals(p, m if wilson else None, quantile)
        return low, high
    return interval


CANDIDATES = {
    "logit-t (before)": _logit_t,
    "t": _product(0.975, wilson=False),
    "bootstrap": _bootstrap,
    "t | Wilson": _product(0.975, wilson=True),
    "t(0.9875) | Wilson": _product(0.9875, wilson=True),
    "t(0.99) | Wilson": _product(0.99, wilson=True),
    "t(0.995) | Wilson": _product(0.995, wilson=True),
}
# Which product setting each candidate is: (T_QUANTILE, with the pooled Wilson part).
PRODUCT = {"t | Wilson": 0.975, "t(0.9875) | Wilson": 0.9875, "t(0.99) | Wilson": 0.99, "t(0.995) | Wilson": 0.995}


def run(reps: int = REPS) -> list[dict]:
    """One row per scenario and candidate: coverage (over the draws that count) and median width."""
    rows = []
    for i, sc in enumerate(scenarios()):
        g = np.random.default_rng(1000 + i)
        theta, solved = sc.draw(g, reps, sc.n)
        p = g.binomial(sc.m, theta) / sc.m
        counts = np.ones(reps, bool) if solved is None else solved.any(axis=1) & ~solved.all(axis=1)
        for name, interval in CANDIDATES.items():
            low, high = interval(p, sc.m)
            hit = (low <= sc.truth) & (sc.truth <= high)
            rows.append({"family": sc.family, "label": sc.label, "n": sc.n, "m": sc.m, "candidate": name,
                         "coverage": float(hit[counts].mean()), "width": float(np.median(high - low)),
                         "zero_width": float((high - low <= 0)[counts].mean())})
    return rows


def summary(rows: list[dict]) -> dict[tuple[str, int], dict[str, tuple[float, float]]]:
    """(family, n) -> candidate -> (lowest coverage over the family's scenarios, median width)."""
    out: dict[tuple[str, int], dict[str, tuple[float, float]]] = {}
    for r in rows:
        out.setdefault((r["family"], r["n"]), {}).setdefault(r["candidate"], []).append(r)
    return {k: {c: (min(x["coverage"] for x in v), float(np.median([x["width"] for x in v])))
                for c, v in cands.items()} for k, cands in out.items()}


def chosen(rows: list[dict]) -> str:
    """The narrowest candidate (median width over every scenario) that covers >= TARGET everywhere."""
    ok = [c for c in CANDIDATES if min(r["coverage"] for r in rows if r["candidate"] == c) >= TARGET]
    return min(ok, key=lambda c: float(np.median([r["width"] for r in rows if r["candidate"] == c])))


def markdown(rows: list[dict]) -> str:
    names = list(CANDIDATES)
    lines = ["| scenario | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for (family, n), cands in summary(rows).items():
        cells = [f"{cands[c][0]:.3f} ({cands[c][1]:.3f})" for c in names]
        lines.append(f"| {family} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mover(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised ``study.basics.stats.mover_interval`` of B - A from each side's (mean, low, high)
    (test_coverage checks it against the product's function)."""
    (ma, la, ha), (mb, lb, hb) = a, b
    c = mb - ma
    return c - np.sqrt((mb - lb) ** 2 + (ha - ma) ** 2), c + np.sqrt((hb - mb) ** 2 + (ma - la) ** 2)


def differences(reps: int = 1000) -> list[dict]:
    """B - A's MOVER interval (from the chosen intervals) over every pair of scenarios of one family,
    n and m (A and B alike, and unlike): its coverage of the true difference."""
    rows = []
    every = list(scenarios())
    for i, a in enumerate(every):
        for j, b in enumerate(every):
            if (a.family, a.n, a.m) != (b.family, b.n, b.m) or a.family == "solve/fail mixture":
                continue
            g = np.random.default_rng(100_000 + 1000 * i + j)
            sides = []
            for sc in (a, b):
                theta, _ = sc.draw(g, reps, sc.n)
                sides.append(accuracy_intervals(g.binomial(sc.m, theta) / sc.m, sc.m))
            low, high = mover(*sides)
            truth = b.truth - a.truth
            rows.append({"family": a.family, "n": a.n, "m": a.m, "a": a.label, "b": b.label,
                         "coverage": float(((low <= truth) & (truth <= high)).mean()),
                         "width": float(np.median(high - low))})
    return rows


def difference_markdown(rows: list[dict]) -> str:
    lines = ["| scenario (A and B) | n | lowest coverage of B − A | its pair (A, B, m) | median width |",
             "|---|---|---|---|---|"]
    for family in dict.fromkeys(r["family"] for r in rows):
        for n in SEEDS:
            group = [r for r in rows if r["family"] == family and r["n"] == n]
            w = min(group, key=lambda r: r["coverage"])
            lines.append(f"| {family} | {n} | {w['coverage']:.3f} | {w['a']}, {w['b']}, {w['m']} | "
                         f"{float(np.median([r['width'] for r in group])):.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    rows = run()
    print(markdown(rows))
    print(f"\nchosen: {chosen(rows)}\n")
    print(difference_markdown(differences()))
