"""python -m palrnn.bench: training throughput of every backend, and how close it gets to the machine.

For RNN, LSTM and GRU at T = 10, batch 128, hidden 128 (the exercise's sizes), for each backend and
thread count, it times whole training steps (batch, forward, loss, backward, clip, step) and prints:

  examples/s        sequences trained per second (median of --repeats timings)
  GFLOP/s           of the recurrent matrix products alone: per step, forward h W_h^T for
                    t = 2..T, and backward's two products of the same size (dL/dh and dL/dW_h):
                    3 * 2 * B * n * (G n) * (T - 1) flops, G = 1 (RNN), 4 (LSTM) or 3 (GRU)
  of peak           that GFLOP/s as a fraction of a bare loop of the same three matrix products,
                    timed in the same run with the same threads: the machine's practical peak
                    for these shapes, which no recurrent step can beat.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from palrnn.cli import Parser, any_case
from palrnn.config import BACKENDS, MODELS, Config
from palrnn.io import write_bytes_atomic
from palrnn.provenance import PROJECT_ROOT, cpu_model, git_state
from palrnn.train import new_state, train_step

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def time_training(config: Config, steps: int, repeats: int) -> float:
    """Median examples/s over ``repeats`` runs of ``steps`` whole training steps (after a warm-up)."""
    state = new_state(config)
    rates = []
    for r in range(repeats + 1):
        start = time.perf_counter()
        for _ in range(steps):
            train_step(state)
        if r:  # the first is warm-up
            rates.append(steps * config.batch_size / (time.perf_counter() - start))
    return statistics.median(rates)


def matmul_peak(model: str, batch: int, hidden: int, repeats: int, seconds: float = 0.3) -> float:
    """GFLOP/s of the three recurrent products (forward, dL/dh, dL/dW) in a bare loop."""
    g = GATES[model]
    h, W, dz = torch.randn(batch, hidden), torch.randn(g * hidden, hidden), torch.randn(batch, g * hidden)
    out_f, out_h, out_w = torch.empty(batch, g * hidden), torch.empty(batch, hidden), torch.empty(g * hidden, hidden)
    flops = 3 * 2 * batch * hidden * g * hidden
    rates = []
    for r in range(repeats + 1):
        n, elapsed, start = 0, 0.0, time.perf_counter()
        while elapsed <= seconds:
            torch.mm(h, W.T, out=out_f)
            torch.mm(dz, W, out=out_h)
            torch.mm(dz.T, h, out=out_w)
            n += 1
            elapsed = time.perf_counter() - start
        if r:
            rates.append(n * flops / elapsed / 1e9)
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m palrnn.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--length", type=int, default=10, help="T (default: 10)")
    p.add_argument("--batch-size", type=int, default=128, help="batch (default: 128)")
    p.add_argument("--hidden", type=int, default=128, help="hidden units (default: 128)")
    p.add_argument("--steps", type=int, default=100, help="training steps per timing (default: 100)")
    p.add_argument("--repeats", type=int, default=5, help="timings per cell; the median is shown (default: 5)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)")
    backends = list(BACKENDS[1:])  # scratch, stacked, fused
    p.add_argument("--backends", nargs="+", default=backends, choices=backends, type=any_case(backends),
                   help="(default: all three)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS), type=any_case(MODELS),
                   help="(default: RNN LSTM GRU)")
    p.add_argument("--json", metavar="FILE", help="also write every row, with the machine, versions and commit, to "
                                                  "FILE (JSON, atomically): what docs/speed.md's tables are made from")
    args = p.parse_args(argv)
    if args.json and not Path(args.json).absolute().parent.is_dir():
        p.error(f"--json: no folder {Path(args.json).absolute().parent}")
    from palrnn.models import resolve_backend

    print(f"torch {torch.__version__}, T={args.length}, batch {args.batch_size}, hidden {args.hidden}, "
          f"{args.steps} steps x {args.repeats} timings, median")
    header = f"{'model':<5} {'backend':<8} {'threads':>7} {'examples/s':>11} {'GFLOP/s':>8} {'peak':>7} {'of peak':>8}"
    print(header, "-" * len(header), sep="\n")
    rows: list[dict[str, Any]] = []
    for model in args.models:
        default = resolve_backend(Config(model=model))
        for threads in args.threads:
            torch.set_num_threads(threads)
            peak = matmul_peak(model, args.batch_size, args.hidden, args.repeats)
            for backend in args.backends:
                cfg = Config(model=model, length=args.length, batch_size=args.batch_size, hidden=args.hidden,
                             backend=backend)
                rate = time_training(cfg, args.steps, args.repeats)
                # rate / B steps a second, each 3 * 2 * B * n * (G n) * (T - 1) flops (the module's doc)
                gflops = rate * 3 * 2 * args.hidden * GATES[model] * args.hidden * (args.length - 1) / 1e9
                mark = "*" if backend == default else " "
                print(f"{model:<5} {backend + mark:<8} {threads:>7} {rate:>11,.0f} {gflops:>8.1f} {peak:>7.1f} "
                      f"{gflops / peak:>8.0%}", flush=True)
                rows.append({"model": model, "backend": backend, "default": backend == default, "threads": threads,
                             "examples_per_second": rate, "gflops": gflops, "peak_gflops": peak})
    print("* the default backend (backend=auto) on this device")
    if args.json:
        settings = {k: getattr(args, k) for k in ("length", "batch_size", "hidden", "steps", "repeats")}
        data = {"command": " ".join(["python -m palrnn.bench", *(argv or sys.argv[1:])]), "settings": settings,
                "machine": machine(), "rows": rows}
        write_bytes_atomic(args.json, (json.dumps(data, indent=1) + "\n").encode())
        print(f"wrote {args.json}")
    return 0


def machine() -> dict[str, Any]:
    """Where and with what a benchmark ran: the CPU, the versions, the commit (``palrnn.provenance``)."""
    commit, dirty = git_state(PROJECT_ROOT)
    return {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "commit": commit, "dirty": dirty,
            "date": time.strftime("%Y-%m-%d")}


if __name__ == "__main__":
    raise SystemExit(main())
