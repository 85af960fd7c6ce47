"""python -m study.bench --storage URI: what a study's --storage costs, A/B against a local folder.

The same study (default: the smoke grid, 12 trials) runs ``--repeats`` times with its trials'
checkpoints and Ray's experiment in the storage (``--storage URI``, docs/storage.md) and as many
times in its local study folder, in one command; the two arms alternate (repeat 1: storage first,
repeat 2: local first, ...), so that the machine's noise hits both. Each run is a whole study as
``python -m study.run`` runs it, Ray started and shut down included (unless joined, --address).
Printed, and with --json written with the machine (study.basics.provenance): each run's wall time
and tuning loop (Tuner.fit alone), each arm's medians, the ratios storage / local, the storage's
scheme and endpoint (never credentials: a URI holding one is refused), and what each run left
where its trials kept their files (checkpoints: how many, bytes; every file: how many, bytes).

For an S3 storage the endpoint comes from AWS_ENDPOINT_URL or the URI's ``?endpoint_override=``,
the credentials from the environment, as for ``python -m study.run``. A local S3 server to run
it against: ``python scripts/moto_server.py -- python -m study.bench --storage s3://palrnn-bench/studies``
(docs/speed.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

from study.basics.errors import StudyError
from study.basics.io import write_json_atomic
from study.basics.layout import CHECKPOINTS
from study.basics.provenance import provenance
from study.basics.store import Store, endpoint_of, has_scheme, study_store
from study.driver import shared
from study.planning.build import plan_from_args
from study.planning.overlay import from_args, int_option
from study.planning.plan import StudyPlan
from study.run import run_plan

ARMS = ("storage", "local")


class RunFailed(RuntimeError):
    """A run of the benchmark did not complete (a trial failed): no timing is written."""

REPEATS = 3  # --repeats' default


def plans(args: argparse.Namespace, argv: list[str], prog: str) -> tuple[int, list[tuple[int, str, StudyPlan]]]:
    """(repeats, [(repeat, arm, plan)] in the order they run), every plan checked as study.run checks
    one (an unknown scheme, credentials in the URI: a StudyError); nothing run, nothing written."""
    repeats = int_option("--repeats", args.repeats, 1) if args.repeats is not None else REPEATS
    if args.resume:
        raise StudyError("--resume: not with --storage in python -m study.bench, which times new studies")
    req = from_args(args, argv, prog)  # --out split into --results-dir and --name as study.run does
    base = req.get("name") or f"bench-{args.grid or 'study'}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = []
    for repeat in range(1, repeats + 1):
        for arm in ARMS if repeat % 2 else ARMS[::-1]:
            one = argparse.Namespace(**vars(args))
            one.out, one.name = None, f"{base}-{arm}{repeat}"
            one.results_dir = str(req.get("results_dir")) if (args.out or args.results_dir) else None
            one.storage = args.storage if arm == "storage" else None
            out.append((repeat, arm, plan_from_args(one, argv, prog)))
    return repeats, out


def run(args: argparse.Namespace, argv: list[str], prog: str) -> dict[str, Any] | None:
    """Plan, check the storage (before Ray, as study.run does), run every plan; the JSON's content,
    or None after a --dry-run. StudyError: a value that cannot work, nothing written."""
    repeats, planned = plans(args, argv, prog)
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
        tables = run_plan(plan, report=False, echo=False)
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
    """What the run left where its trials kept their files (the storage's study place, or the study
    folder): checkpoints (how many, bytes) and every file (how many, bytes)."""
    entries = study_store(plan.storage, plan.folder).entries()
    checkpoints = [size for key, size, _ in entries if key.startswith(CHECKPOINTS + "/")]
    return {"checkpoints": len(checkpoints), "checkpoint_bytes": sum(checkpoints), "files": len(entries),
            "bytes": sum(size for _, size, _ in entries)}


def describe(uri: str) -> dict[str, Any]:
    """The storage as the JSON records it: its URI (which holds no credentials: planning refused
    one that did), scheme and endpoint (None for a path or a local file system)."""
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


def report(data: dict[str, Any], json_file: str | None, command: str, argv: list[str]) -> None:
    """The medians and ratios, printed, and with --json written with the machine's provenance."""
    f, where = data["figures"], data["storage"]
    print()
    print(f"storage {where['uri']} ({where['scheme']}, endpoint {where['endpoint'] or 'none'}) against a local "
          f"folder: {data['settings']['trials']} trials a run, {data['settings']['repeats']} run(s) of each")
    for arm in ARMS:
        print(f"{arm:<8} wall time median {f[arm]['wall_seconds_median']:7.1f} s   tuning loop median "
              f"{f[arm]['tuning_seconds_median']:7.1f} s")
    print(f"storage / local: wall time {f['wall_seconds_ratio']:.2f}x, tuning loop {f['tuning_seconds_ratio']:.2f}x")
    if json_file:
        write_json_atomic(json_file, {"command": command, **data, "machine": provenance(argv)})
        print(f"wrote {json_file}")

