"""python -m study.bench: a study's wall time, Ray's overhead per trial, CPU use and peak memory (PSS of the
driver and every process below it), sampled from /proc every half second; with --storage URI, what that storage
costs against a local folder, the study run --repeats times in each, alternating (docs/speed.md)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from palrnn.cli import fail
from study import run
from study.basics.errors import StudyError
from study.basics.io import write_json_atomic
from study.basics.layout import CHECKPOINTS
from study.basics.provenance import provenance
from study.basics.store import Store, endpoint_of, has_scheme, study_store
from study.driver import shared
from study.planning.build import plan_from_args
from study.planning.overlay import from_args, int_option
from study.planning.plan import StudyPlan

PROG = "python -m study.bench"
ARMS = ("storage", "local")
REPEATS = 3  # --repeats' default


class RunFailed(RuntimeError):
    """A run of the storage benchmark did not complete (a trial failed): no timing is written."""


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
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)


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
    parser = run.build_parser(PROG)
    parser.add_argument("--json", metavar="FILE", help="also write the figures, with the machine, versions and "
                                                       "commit, to FILE (JSON): docs/speed.md's table is made from it")
    parser.add_argument("--repeats", metavar="N",
                        help=f"with --storage: runs of each arm, the storage and a local folder, in alternating "
                             f"order (default: {REPEATS})")
    args = parser.parse_args(argv)
    if args.json and not Path(args.json).absolute().parent.is_dir():
        fail(PROG, f"--json: no folder {Path(args.json).absolute().parent}")
    try:
        if args.storage is not None and args.list is None:
            if not any((args.grid, args.study, args.sweep, args.search, args.frontier)):
                args.grid = "smoke"  # the storage's cost, not the study's: a small grid
            data = run_storage(args, argv)
            if data is not None:
                report_storage(data)
                _write(args.json, {"command": " ".join([PROG, *argv]), **data}, argv)
            return 0
        if args.repeats is not None:
            fail(PROG, "--repeats: only with --storage, whose cost it measures against a local folder")
        if args.list is not None:
            print(run.list_text(args))
            return 0
        if args.name is None and args.out is None and not args.resume:
            what = args.grid or (args.search and "optuna") or (args.frontier and "frontier") or \
                (args.study and Path(args.study).stem) or ("sweep" if args.sweep else "lengths")
            args.name = f"bench-{what}-{time.strftime('%Y%m%d-%H%M%S')}"
        plan = plan_from_args(args, argv, PROG)  # the one planning path, as python -m study.run's
        if args.dry_run:
            print(plan.text())
            print("--dry-run: nothing was run, nothing written")
            return 0
        sampler = Sampler()
        sampler.start()
        start = time.perf_counter()
        try:
            tables = run.run_plan(plan, report=False, echo=True)
        finally:
            wall = time.perf_counter() - start
            sampler.stop_event.set()
    except StudyError as exc:
        fail(PROG, str(exc))
    except RunFailed as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    sampler.join()
    _report(plan, tables, wall, sampler, args.json, argv)
    return 0


def _write(json_file: str | None, data: dict[str, Any], argv: list[str]) -> None:
    """With --json: ``data`` written with the machine's provenance."""
    if json_file:
        write_json_atomic(json_file, {**data, "machine": provenance(argv)})
        print(f"wrote {json_file}")


def _report(plan: Any, tables: dict[str, Any], wall: float, sampler: Sampler, json_file: str | None,
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
    figures = {"trials": n, "planned": plan.n_trials, "concurrency": concurrency, "wall_seconds": wall,
               "training_seconds": train_sum, "tuning_seconds": tuning, "overhead_per_trial": overhead_loop,
               "overhead_per_trial_with_start": overhead, "cpu_busy": sampler.busy(), "cpus": cpus,
               "peak_memory_gib": sampler.peak / 2**30}
    _write(json_file, {"command": " ".join([PROG, *argv]), "study": plan.name, "figures": figures}, argv)


def plans(args: argparse.Namespace, argv: list[str]) -> tuple[int, list[tuple[int, str, StudyPlan]]]:
    """(repeats, [(repeat, arm, plan)] in the order they run), each checked as study.run checks one."""
    repeats = int_option("--repeats", args.repeats, 1) if args.repeats is not None else REPEATS
    if args.resume:
        raise StudyError("--resume: not with --storage in python -m study.bench, which times new studies")
    req = from_args(args, argv, PROG)  # --out split into --results-dir and --name as study.run does
    base = req.get("name") or f"bench-{args.grid or 'study'}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = []
    for repeat in range(1, repeats + 1):
        for arm in ARMS if repeat % 2 else ARMS[::-1]:
            one = argparse.Namespace(**vars(args))
            one.out, one.name = None, f"{base}-{arm}{repeat}"
            one.results_dir = str(req.get("results_dir")) if (args.out or args.results_dir) else None
            one.storage = args.storage if arm == "storage" else None
            out.append((repeat, arm, plan_from_args(one, argv, PROG)))
    return repeats, out


def run_storage(args: argparse.Namespace, argv: list[str]) -> dict[str, Any] | None:
    """Plan, check the storage (before Ray), run every plan; the JSON's content, or None after a --dry-run."""
    repeats, planned = plans(args, argv)
    storage_plan = next(p for _, arm, p in planned if arm == "storage")
    if args.dry_run:
        print(storage_plan.text())
        print(f"--dry-run: would run it {repeats} time(s) with --storage {args.storage} and {repeats} time(s) in "
              "its local folder, alternating; nothing was run, nothing written")
        return None
    shared.check_storage(storage_plan)  # a missing bucket, no credentials: before any run
    runs = []
    for i, (repeat, arm, plan) in enumerate(planned, 1):
        start = time.perf_counter()
        tables = run.run_plan(plan, report=False, echo=False)
        wall = time.perf_counter() - start
        if tables["status"] != "complete":
            raise RunFailed(f"run {plan.name} ended {tables['status']} ({tables['errors']} errors): no timing")
        trials = tables["trials"]
        runs.append({"repeat": repeat, "arm": arm, "order": i, "study": plan.name, "trials": len(trials),
                     "wall_seconds": wall, "tuning_seconds": float(tables["tuning_seconds"]),
                     "training_seconds": float(trials["wall_seconds"].sum()), "kept": kept(plan)})
        print(f"{i}/{len(planned)}  {arm:<7}  {wall:6.1f} s  (tuning loop {tables['tuning_seconds']:.1f} s)  "
              f"{len(trials)} trials  {plan.name}", flush=True)
    return {"study": storage_plan.name.rsplit("-", 1)[0], "storage": describe(args.storage),
            "settings": {"what": getattr(storage_plan.study, "name", None), "trials": storage_plan.n_trials,
                         "repeats": repeats,
                         "order": "alternating: storage first in odd repeats, local first in even ones"},
            "runs": runs, "figures": figures(runs)}


def kept(plan: StudyPlan) -> dict[str, int]:
    """Checkpoints and every file (how many, bytes) the run left where its trials kept their files."""
    entries = study_store(plan.storage, plan.folder).entries()
    checkpoints = [size for key, size, _ in entries if key.startswith(CHECKPOINTS + "/")]
    return {"checkpoints": len(checkpoints), "checkpoint_bytes": sum(checkpoints), "files": len(entries),
            "bytes": sum(size for _, size, _ in entries)}


def describe(uri: str) -> dict[str, Any]:
    """The storage's URI (planning refused one holding credentials), scheme and endpoint (None: not remote)."""
    store = Store(uri)
    scheme = urlsplit(uri).scheme if has_scheme(uri) else "path"
    return {"uri": store.uri, "scheme": scheme, "endpoint": endpoint_of(store) if store.remote else None}


def figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each arm's medians, and storage / local."""
    out: dict[str, Any] = {}
    for arm in ARMS:
        mine = [r for r in runs if r["arm"] == arm]
        out[arm] = {"runs": len(mine), "wall_seconds_median": statistics.median(r["wall_seconds"] for r in mine),
                    "tuning_seconds_median": statistics.median(r["tuning_seconds"] for r in mine)}
    for what in ("wall_seconds", "tuning_seconds"):
        out[f"{what}_ratio"] = out["storage"][f"{what}_median"] / out["local"][f"{what}_median"]
    return out


def report_storage(data: dict[str, Any]) -> None:
    """The medians and ratios, printed."""
    f, where = data["figures"], data["storage"]
    print()
    print(f"storage {where['uri']} ({where['scheme']}, endpoint {where['endpoint'] or 'none'}) against a local "
          f"folder: {data['settings']['trials']} trials a run, {data['settings']['repeats']} run(s) of each")
    for arm in ARMS:
        print(f"{arm:<8} wall time median {f[arm]['wall_seconds_median']:7.1f} s   tuning loop median "
              f"{f[arm]['tuning_seconds_median']:7.1f} s")
    print(f"storage / local: wall time {f['wall_seconds_ratio']:.2f}x, tuning loop {f['tuning_seconds_ratio']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
