"""python -m study.bench: a study's wall time, Ray's overhead per trial, CPU use and peak memory.

Takes every option of ``python -m study.run`` (default: the lengths grid, 3 seeds) and runs the
study while a sampler thread reads /proc (Linux) every half second:

  overhead/trial   (wall time x achieved concurrency - sum of the trials' own training time)
                   / trials: what Ray adds per trial (worker start, scheduling, checkpoints,
                   result files), beyond what the trials spend training
  CPU busy         share of the machine's CPUs busy over the run (from /proc/stat)
  peak memory      the largest sum, over one sample, of the proportional set size (PSS, shared
                   pages split among their users) of the driver and every process below it:
                   Ray's GCS, raylet, dashboard and the trial workers

With --storage URI it measures what that storage costs instead (study.bench_storage): the study
(default: the smoke grid) run --repeats times with its checkpoints in the storage and as many
times in a local folder, alternating, with the medians and their ratio.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from palrnn.cli import fail
from study import bench_storage, run
from study.basics.errors import StudyError
from study.basics.io import write_json_atomic
from study.basics.provenance import provenance
from study.planning.build import plan_from_args


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_bytes(root: int) -> int:
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss_kib(pid)
        todo.extend(tree.get(pid, []))
    return total * 1024


def _cpu_times() -> tuple[float, float]:
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Sampler(threading.Thread):
    def __init__(self, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every, self.peak, self.stop_event = every, 0, threading.Event()
        self.start_cpu = _cpu_times()
        self.busy_samples: list[float] = []

    def run(self) -> None:
        last = _cpu_times()
        while not self.stop_event.wait(self.every):
            self.peak = max(self.peak, tree_pss_bytes(os.getpid()))
            now = _cpu_times()
            if now[1] > last[1]:
                self.busy_samples.append((now[0] - last[0]) / (now[1] - last[1]))
            last = now

    def busy(self) -> float:
        end = _cpu_times()
        return (end[0] - self.start_cpu[0]) / max(end[1] - self.start_cpu[1], 1e-9)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    prog = "python -m study.bench"
    parser = run.build_parser(prog)
    parser.add_argument("--json", metavar="FILE", help="also write the figures, with the machine, versions and "
                                                       "commit, to FILE (JSON): docs/speed.md's table is made from it")
    parser.add_argument("--repeats", metavar="N",
                        help=f"with --storage: runs of each arm, the storage and a local folder, in alternating "
                             f"order (default: {bench_storage.REPEATS})")
    args = parser.parse_args(argv)
    if args.json and not Path(args.json).absolute().parent.is_dir():
        fail(prog, f"--json: no folder {Path(args.json).absolute().parent}")
    if args.storage is not None and args.list is None:
        return _storage(args, argv, prog)
    if args.repeats is not None:
        fail(prog, "--repeats: only with --storage, whose cost it measures against a local folder")
    try:
        if args.list is not None:
            print(run.list_text(args))
            return 0
        if args.name is None and args.out is None and not args.resume:
            what = args.grid or (args.search and "optuna") or (args.frontier and "frontier") or \
                (args.study and Path(args.study).stem) or \
                ("sweep" if args.sweep else "lengths")
            args.name = f"bench-{what}-{time.strftime('%Y%m%d-%H%M%S')}"
        plan = plan_from_args(args, argv, prog)  # the one planning path, as python -m study.run's
    except StudyError as exc:
        fail(prog, str(exc))
    if args.dry_run:
        print(plan.text())
        print("--dry-run: nothing was run, nothing written")
        return 0
    sampler = Sampler()
    sampler.start()
    start = time.perf_counter()
    try:
        tables = run.run_plan(plan, report=False, echo=True)
    except StudyError as exc:
        sampler.stop_event.set()
        fail(prog, str(exc))
    wall = time.perf_counter() - start
    sampler.stop_event.set()
    sampler.join()
    _report(plan, tables, wall, sampler, args.json, " ".join([prog, *argv]), argv)
    return 0


def _storage(args: Any, argv: list[str], prog: str) -> int:
    """--storage URI: the study with its checkpoints there against a local folder (study.bench_storage)."""
    if not any((args.grid, args.study, args.sweep, args.search, args.frontier)):
        args.grid = "smoke"  # the storage's cost, not the study's: a small grid
    try:
        data = bench_storage.run(args, argv, prog)
    except StudyError as exc:
        fail(prog, str(exc))
    except bench_storage.RunFailed as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    if data is not None:
        bench_storage.report(data, args.json, " ".join([prog, *argv]), argv)
    return 0


def _report(plan: Any, tables: dict[str, Any], wall: float, sampler: Sampler, json_file: str | None, command: str,
            argv: list[str]) -> None:
    """The benchmark's figures, printed, and with --json written with the machine's provenance."""
    trials = tables["trials"]
    n = len(trials)
    cpus = os.cpu_count() or 1
    concurrency = plan.max_concurrent or max(1, int((plan.options.num_cpus or cpus) // plan.cpus_per_trial))
    concurrency = min(concurrency, n) if n else concurrency
    train_sum = float(trials["wall_seconds"].sum()) if n else 0.0
    overhead = (wall * concurrency - train_sum) / n if n else float("nan")
    tuning = tables["tuning_seconds"]
    overhead_loop = (tuning * concurrency - train_sum) / n if n else float("nan")
    busy = sorted(sampler.busy_samples)
    print()
    print(f"study {plan.name}: {n} trials, {plan.n_trials} planned, concurrency {concurrency}")
    print(f"wall time             {wall:8.1f} s  (Ray start and shutdown included)")
    print(f"trials' training      {train_sum:8.1f} s  summed; mean {train_sum / max(n, 1):.1f} s per trial")
    print(f"tuning loop           {tuning:8.1f} s  (Tuner.fit alone)")
    print(f"overhead per trial    {overhead_loop:8.2f} s  in the tuning loop: (loop x concurrency - training) / trials")
    print(f"  with Ray's start    {overhead:8.2f} s  (wall x concurrency - training) / trials")
    print(f"CPU busy              {sampler.busy():8.0%}  of {cpus} CPUs; median sample "
          f"{busy[len(busy) // 2] if busy else float('nan'):.0%}")
    print(f"peak memory (PSS)     {sampler.peak / 2**30:8.2f} GiB  driver + Ray + workers")
    if json_file:
        figures = {"trials": n, "planned": plan.n_trials, "concurrency": concurrency, "wall_seconds": wall,
                   "training_seconds": train_sum, "tuning_seconds": tuning, "overhead_per_trial": overhead_loop,
                   "overhead_per_trial_with_start": overhead, "cpu_busy": sampler.busy(), "cpus": cpus,
                   "peak_memory_gib": sampler.peak / 2**30}
        write_json_atomic(json_file, {"command": command, "study": plan.name, "figures": figures,
                                      "machine": provenance(argv)})
        print(f"wrote {json_file}")


if __name__ == "__main__":
    sys.exit(main())
