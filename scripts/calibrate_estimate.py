"""Measure the cost table of study.run's estimates on this machine and write it (docs/estimates.md):

    python scripts/calibrate_estimate.py      # a few minutes; rewrites study/planning/costs.json

Per model and thread count: a training step's and a forward pass's seconds as c0 + T (c1 + c2 B n +
c3 B n^2), the bytes autograd keeps per time step and sequence; Ray's costs from
results/bench/study-bench.json (python -m study.bench --grid lengths --json ...). Planning only reads
the table (study.planning.plan.COSTS).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from study.basics.io import write_text_atomic  # noqa: E402
from study.planning.plan import COSTS  # noqa: E402

SIZES = [(4, 16, 16), (32, 16, 16), (32, 128, 16), (32, 16, 128), (32, 128, 128), (64, 64, 64), (16, 256, 32)]


def _median_seconds(run: Any, repeats: int) -> float:
    run()  # warm-up
    return statistics.median(timeit.repeat(run, number=1, repeat=repeats))


def time_sizes(model: str, repeats: int = 5) -> tuple[list[float], list[float]]:
    """Seconds of one training step and of one forward pass (no gradients) at each of ``SIZES``."""
    import torch

    from palrnn.config import Config
    from palrnn.train import new_state, train_step
    steps, forwards = [], []
    for length, batch, hidden in SIZES:
        state = new_state(Config(model=model, length=length, batch_size=batch, hidden=hidden))
        x, _ = state.data.train_batch(batch, torch.Generator().manual_seed(0))

        def forward(model_: Any = state.model, x_: Any = x) -> None:
            with torch.no_grad():
                model_(x_)

        steps.append(_median_seconds(lambda s=state: train_step(s), repeats))
        forwards.append(_median_seconds(forward, repeats))
    return steps, forwards


def fit(seconds: list[float]) -> list[float]:
    """[c0, c1, c2, c3] of ``seconds(T, B, n) = c0 + T (c1 + c2 B n + c3 B n^2)`` over ``SIZES``, none negative."""
    import numpy as np
    from scipy.optimize import nnls
    rows = np.array([[1.0, t, t * b * n, t * b * n * n] for t, b, n in SIZES])
    y = np.array(seconds)
    coef, _ = nnls(rows / y[:, None], np.ones_like(y))  # relative error, non-negative coefficients
    return [float(c) for c in coef]


PEAK = """
import resource, sys, torch
from palrnn.config import Config
from palrnn.train import evaluate, new_state, train_step
torch.set_num_threads(1)
model, phase, length, batch, hidden, examples = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
state = new_state(Config(model=model, length=length, batch_size=batch, hidden=hidden, eval_size=examples))
state.data.eval_set()
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = peak()
if phase == "train":
    for _ in range(2):
        train_step(state)
elif phase == "eval":
    evaluate(state.model, state.data)
else:
    import ray  # noqa: F401  (a Ray worker's imports)
    before = 0
print(peak() - before)
"""


def peak_bytes(model: str, phase: str, length: int = 400, batch: int = 128, hidden: int = 128,
               examples: int = 512) -> int:
    """A fresh process's peak growth in two training steps or an evaluation; ``worker``: its peak with Ray."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", PEAK, model, phase, str(length), str(batch), str(hidden),
                          str(examples)], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1])


def anchor(step: list[float], bench: dict[str, Any], model: str, threads: int) -> float:
    """The factor that makes a fit's step time at results/bench/palrnn-bench.json's size that benchmark's:
    the fits give how the cost scales, the benchmark, timed on a quiet machine, its level."""
    size = bench["settings"]
    if not (rows := [r for r in bench["rows"] if r["model"] == model and r["default"] and r["threads"] == threads]):
        return 1.0
    seconds = size["batch_size"] / rows[0]["examples_per_second"]
    fitted = step[0] + size["length"] * (step[1] + step[2] * size["batch_size"] * size["hidden"]
                                         + step[3] * size["batch_size"] * size["hidden"] ** 2)
    return seconds / fitted


def calibrate(bench: Path, threads: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """The whole table (``COSTS``): the machine, each model's fits, Ray's costs."""
    import os
    import platform

    import torch

    from palrnn.config import MODELS
    from palrnn.provenance import cpu_model
    palrnn_bench = json.loads((bench.parent / "palrnn-bench.json").read_text())
    before = torch.get_num_threads()
    models: dict[str, Any] = {}
    try:
        for model in MODELS:
            # Bytes per time step and hidden unit: a training step's per sequence, an evaluation's per example.
            entry: dict[str, Any] = {"memory": {"train": peak_bytes(model, "train", length=1000) / (1000 * 128 * 128),
                                                "eval": peak_bytes(model, "eval", length=1000) / (1000 * 512 * 128)}}
            for n in threads:
                torch.set_num_threads(n)
                steps, forwards = time_sizes(model)
                scale = anchor(fit(steps), palrnn_bench, model, n)
                entry[f"threads_{n}"] = {"step": [c * scale for c in fit(steps)],
                                         "forward": [c * scale for c in fit(forwards)], "scaled": scale}
            models[model] = entry
    finally:
        torch.set_num_threads(before)
    # Ray's seconds per trial beyond its training, and to start Ray and finish the study.
    figures = json.loads(bench.read_text())["figures"]
    ray = {"per_trial": figures["overhead_per_trial"], "start": figures["wall_seconds"] - figures["tuning_seconds"],
           "source": str(bench.relative_to(bench.parents[2])) if len(bench.parents) > 2 else str(bench)}
    return {"machine": {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                        "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")},
            "sizes": [list(s) for s in SIZES], "models": models, "ray": ray,
            "worker_bytes": peak_bytes("LSTM", "worker", length=10)}


if __name__ == "__main__":
    table = calibrate(ROOT / "results" / "bench" / "study-bench.json")
    write_text_atomic(COSTS, json.dumps(table, indent=1) + "\n")
    print(f"wrote {COSTS.relative_to(ROOT)}")
