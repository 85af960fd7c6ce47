"""python -m study.run: a Ray Tune study from one command: a named grid or an Optuna search.

    python -m study.run --grid lengths                 # the exercise, 3 seeds, 36 trials
    python -m study.run --grid init --seeds 5 --full
    python -m study.run --search optuna --model RNN --length 20 --num-samples 40
    python -m study.run --list
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import errno
import os
import re
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from palrnn.cli import Parser, UsageError, fail
from palrnn.config import Config, parse_value
from study import grids, search
from study.io import write_csv_atomic, write_json_atomic

PROG = "python -m study.run"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
STUDY_FILE = "study.json"
DASHBOARD_PORT = 8265  # Ray's default


@dataclass
class StudyPlan:
    """Everything decided before Ray starts; study.json keeps it for --resume and the report."""

    name: str
    results_dir: str
    kind: str  # grid | optuna
    grid: str | None
    axes: list[str]  # swept config fields besides length and seed
    param_space: dict[str, Any]  # config field -> value or list of values (grid axes)
    grid_axes: list[str]
    trials: int
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    checkpoint_every: int = 1000
    max_failures: int = 2
    max_concurrent: int = 0
    search: dict[str, Any] | None = None
    command: str = ""
    target: float = 0.99
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return Path(self.results_dir) / self.name


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in --help, except "None": those options say in their help what leaving them out does."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def build_parser() -> Parser:
    p = Parser(prog=PROG, description="Run a Ray Tune study of palrnn models: a named grid or an Optuna search.",
               formatter_class=_HelpFormatter)
    what = p.add_argument_group("what to run")
    what.add_argument("--grid", default="lengths", help=f"a named grid: {', '.join(grids.GRIDS)} (see --list)")
    what.add_argument("--search", choices=["optuna"], default=None, help="an Optuna search instead of a grid")
    what.add_argument("--list", action="store_true", help="print the grids, their axes and trial counts, and exit")
    what.add_argument("--seeds", default="3", help="run seeds 0 .. N-1 of every grid cell")
    what.add_argument("--lengths", nargs="+", metavar="T", default=None, help="override the grid's lengths")
    what.add_argument("--models", nargs="+", metavar="M", default=None, help="override the grid's models")
    what.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                      help="fix any palrnn config field for every trial (repeatable), e.g. --set steps=3000")
    what.add_argument("--full", action="store_true",
                      help="train every trial for all its steps, as the exercise did (no stop at the target)")
    what.add_argument("--patience", default="3",
                      help="evaluations in a row at the target (0.99) after which a trial stops; ignored with --full")
    what.add_argument("--smoke-test", action="store_true",
                      help="a tiny budget (1 seed, 200 steps, 16 units) to try the whole pipeline in a minute")
    opt = p.add_argument_group("optuna search")
    opt.add_argument("--model", default=None, help="the model searched (default: RNN)")
    opt.add_argument("--length", default=None, help="the length searched (default: 20)")
    opt.add_argument("--num-samples", default=None, help="trials Optuna proposes (default: 40)")
    opt.add_argument("--search-seed", default=None, help="seed of the TPE sampler (default: 0)")
    out = p.add_argument_group("results")
    out.add_argument("--name", default=None, help="the study's folder name (default: <grid>-<date>-<time>)")
    out.add_argument("--results-dir", default="results", help="where studies are written")
    out.add_argument("--resume", action="store_true",
                     help="continue the interrupted study --name, without rerunning finished trials")
    out.add_argument("--no-report", action="store_true", help="skip summary.csv and figures at the end")
    res = p.add_argument_group("resources and fault tolerance")
    res.add_argument("--cpus-per-trial", default="1", help="CPUs per trial; the trial's torch threads follow it")
    res.add_argument("--gpus-per-trial", default="0", help="GPUs per trial (fractions allowed)")
    res.add_argument("--max-concurrent", default="0", help="trials at once; 0: as many as the resources allow")
    res.add_argument("--num-cpus", default=None, help="CPUs of a Ray started here (default: all of them)")
    res.add_argument("--address", default=None,
                     help="an existing Ray cluster, e.g. 127.0.0.1:6379 (default: start Ray)")
    res.add_argument("--dashboard-host", default="127.0.0.1",
                     help="where a Ray started here serves its dashboard; anything else than 127.0.0.1 exposes it")
    res.add_argument("--dashboard-port", default=None,
                     help=f"the dashboard's port (default: {DASHBOARD_PORT}, or the next free one when another "
                          "study's Ray holds it)")
    res.add_argument("--object-store-mb", default="128", help="object store of a Ray started here, MiB")
    res.add_argument("--checkpoint-every", default="1000", help="steps between a trial's checkpoints")
    res.add_argument("--max-failures", default="2", help="times a failed trial is resumed from its checkpoint")
    return p


def _int(option: str, text: str, low: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: must be an integer >= {low}, got {text!r}") from None
    if value < low:
        raise UsageError(f"{option}: must be an integer >= {low}, got {value}")
    return value


def _float(option: str, text: str, low: float, strict: bool = False) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not (value > low if strict else value >= low):
        raise UsageError(f"{option}: must be a number {'>' if strict else '>='} {low:g}, got {text!r}")
    return value


def _parse_sets(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = grids.field_names()
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set: expected FIELD=VALUE, got {item!r}")
        if key not in names:
            raise UsageError(f"--set: unknown config field {key!r}; allowed: {', '.join(sorted(names))}")
        if key == "seed":
            raise UsageError("--set: seed is swept by --seeds N (seeds 0 .. N-1)")
        try:
            out[key] = parse_value(key, text)
        except ValueError as exc:
            raise UsageError(f"--set: {exc}") from None
    return out


def _check_config(values: dict[str, Any]) -> Config:
    try:
        return Config.from_dict(values)
    except ValueError as exc:
        raise UsageError(f"--set: {exc}") from None


def plan_from_args(args: argparse.Namespace, argv: list[str]) -> StudyPlan:
    """Validate every option and every trial's Config; raise UsageError before anything runs."""
    seeds = _int("--seeds", args.seeds, 1)
    patience = _int("--patience", args.patience, 0)
    cpus = _float("--cpus-per-trial", args.cpus_per_trial, 0, strict=True)
    gpus = _float("--gpus-per-trial", args.gpus_per_trial, 0)
    checkpoint_every = _int("--checkpoint-every", args.checkpoint_every, 1)
    max_failures = _int("--max-failures", args.max_failures, 0)
    max_concurrent = _int("--max-concurrent", args.max_concurrent, 0)
    for option in ("num_cpus", "dashboard_port", "object_store_mb"):
        text = getattr(args, option)
        if text is not None:
            setattr(args, option, _int("--" + option.replace("_", "-"), text, {"object_store_mb": 64}.get(option, 1)))
    if args.dashboard_port is not None and args.dashboard_port > 65535:
        raise UsageError(f"--dashboard-port: must be a port number from 1 to 65535, got {args.dashboard_port}")
    if cpus > 1 and cpus != int(cpus):
        raise UsageError(f"--cpus-per-trial: fractions are allowed below 1 only, got {args.cpus_per_trial}")
    if args.num_cpus is not None and args.address:
        raise UsageError("--num-cpus: only for a Ray started here; a cluster (--address) has its own")
    local_cpus = args.num_cpus or os.cpu_count() or 1
    if not args.address and cpus > local_cpus:
        raise UsageError(f"--cpus-per-trial: {cpus:g} asked for, but this machine's Ray has {local_cpus} CPUs")
    if gpus > 0 and not args.address:
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--gpus-per-trial: {gpus:g} asked for, but this machine has no CUDA GPU; use 0")
    sets = _parse_sets(args.set)
    fixed_by_user = dict(sets)
    if args.smoke_test:
        seeds = 1
        tiny = {"steps": 200, "eval_every": 50} if args.search else {"steps": 200, "eval_every": 50, "hidden": 16}
        sets = {**tiny, **sets}  # a search searches hidden itself

    _check_mode(args)
    if args.search:
        plan = _plan_search(args, sets, patience)
    else:
        plan = _plan_grid(args, sets, seeds, patience)
    plan.cpus_per_trial, plan.gpus_per_trial = cpus, gpus
    plan.checkpoint_every, plan.max_failures, plan.max_concurrent = checkpoint_every, max_failures, max_concurrent
    plan.command = " ".join(["python -m study.run", *argv])
    plan.extra = {"seeds": seeds, "full": args.full, "patience": patience, "set": fixed_by_user}
    plan.name = _check_name(args.name, plan)
    plan.results_dir = args.results_dir
    _check_folder(plan, args.resume)
    return plan


SEARCH_ONLY = ("model", "length", "num_samples", "search_seed")
GRID_ONLY = ("lengths", "models")


def _check_mode(args: argparse.Namespace) -> None:
    """Options of the other kind of study would be silently ignored: refuse them instead."""
    if args.search:
        given = [o for o in GRID_ONLY if getattr(args, o) is not None]
        if given:
            option = "--" + given[0]
            raise UsageError(f"{option}: for a grid; an Optuna search takes one --{given[0][:-1]}")
        return
    given = [o for o in SEARCH_ONLY if getattr(args, o) is not None]
    if given:
        option = "--" + given[0].replace("_", "-")
        hint = f"; a grid takes {option}s" if given[0] in ("model", "length") else ""
        raise UsageError(f"{option}: only with --search optuna{hint}")


def _plan_grid(args: argparse.Namespace, sets: dict[str, Any], seeds: int, patience: int) -> StudyPlan:
    if args.grid not in grids.GRIDS:
        raise UsageError(f"--grid: unknown grid {args.grid!r}; allowed: {', '.join(grids.GRIDS)}")
    grid = grids.GRIDS[args.grid]
    axes = {k: list(v) for k, v in grid.axes.items()}
    if args.lengths is not None:
        axes["length"] = list(dict.fromkeys(_int("--lengths", t, 1) for t in args.lengths))
    if args.models is not None:
        bad = [m for m in args.models if m not in grids.MODELS]
        if bad:
            raise UsageError(f"--models: unknown model {bad[0]!r}; allowed: {', '.join(grids.MODELS)}")
        axes["model"] = list(dict.fromkeys(args.models))
    for key in sets:  # a field fixed with --set is no longer swept
        axes.pop(key, None)
    fixed = {**grid.fixed, "patience": 0 if args.full else patience, **sets}
    base = _check_config({k: v for k, v in fixed.items() if k not in axes})
    g = dataclasses.replace(grid, axes=axes)
    try:
        configs = g.configs(seeds, base)
    except ValueError as exc:
        raise UsageError(f"--grid {grid.name}: {exc}") from None
    space = {**base.to_dict(), **g.settings(seeds)}
    swept = [k for k in axes if k not in ("length",)]
    return StudyPlan(name="", results_dir="", kind="grid", grid=grid.name, axes=swept, param_space=space,
                     grid_axes=list(g.settings(seeds)), trials=len(configs), target=base.target)


def _plan_search(args: argparse.Namespace, sets: dict[str, Any], patience: int) -> StudyPlan:
    model = args.model or "RNN"
    if model not in grids.MODELS:
        raise UsageError(f"--model: unknown model {model!r}; allowed: {', '.join(grids.MODELS)}")
    length = _int("--length", "20" if args.length is None else args.length, 1)
    num_samples = _int("--num-samples", "40" if args.num_samples is None else args.num_samples, 1)
    seed = _int("--search-seed", "0" if args.search_seed is None else args.search_seed, 0)
    clash = sorted(set(sets) & set(search.searched_fields(model)))
    if clash:
        raise UsageError(f"--set: {clash[0]} is searched by Optuna and cannot be fixed")
    fixed = {**grids.EXERCISE, "model": model, "length": length, "patience": 0 if args.full else patience, **sets}
    base = _check_config(fixed)
    for name, dist in search.space(model).items():  # every value Optuna may propose must be valid
        for value in search.values_to_check(dist):
            _check_config({**base.to_dict(), name: value})
    reports = -(-base.steps // base.eval_every)
    spec = {"seed": seed, "num_samples": num_samples, "max_t": reports, "grace_period": max(1, reports // 9),
            "storage": "optuna.journal"}
    return StudyPlan(name="", results_dir="", kind="optuna", grid=None, axes=search.searched_fields(model),
                     param_space=base.to_dict(), grid_axes=[], trials=num_samples, search=spec, target=base.target)


def _check_name(name: str | None, plan: StudyPlan) -> str:
    if name is None:
        return f"{plan.grid or plan.kind}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    if not NAME_RE.fullmatch(name) or ".." in name:
        raise UsageError(f"--name: {name!r} is not allowed; use letters, digits, '.', '_' and '-' "
                         "(no '/', no '..', at most 100 characters)")
    return name


def _check_folder(plan: StudyPlan, resume: bool) -> None:
    root = Path(plan.results_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(f"--results-dir: {root} exists and is not a folder")
    probe = root if root.exists() else next((p for p in root.absolute().parents if p.exists()), Path("/"))
    if not _writable(probe):
        raise UsageError(f"--results-dir: {root} cannot be written (no folder can be made in {probe})")
    folder = plan.folder
    if resume:
        if not (folder / STUDY_FILE).is_file():
            raise UsageError(f"--resume: no study {plan.name!r} in {root} (no {STUDY_FILE}); "
                             "give --name of an existing study")
    elif folder.exists():
        raise UsageError(f"--name: {folder} already exists; choose another --name, or add --resume to continue it")


def _writable(folder: Path) -> bool:
    """Really try (permission bits say nothing for root, nor on a read-only file system)."""
    if not folder.is_dir():
        return False
    try:
        Path(tempfile.mkdtemp(prefix=".palrnn-probe-", dir=folder)).rmdir()
    except OSError:
        return False
    return True


def _resumed_plan(args: argparse.Namespace) -> StudyPlan:
    import json

    if args.name is None:
        raise UsageError("--resume: give the study's --name")
    name = _check_name(args.name, StudyPlan("", "", "grid", None, [], {}, [], 0))
    folder = Path(args.results_dir) / name
    try:
        data = json.loads((folder / STUDY_FILE).read_text())
        plan = StudyPlan(**{f.name: data[f.name] for f in dataclasses.fields(StudyPlan) if f.name in data})
    except FileNotFoundError:
        raise UsageError(f"--resume: no study {name!r} in {args.results_dir} (no {STUDY_FILE}); "
                         "give --name of an existing study") from None
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--resume: {folder / STUDY_FILE} is not a study file ({exc})") from None
    plan.results_dir = args.results_dir
    return plan


# ---- running ------------------------------------------------------------------------------


def execute(plan: StudyPlan, *, resume: bool = False, address: str | None = None, num_cpus: int | None = None,
            dashboard_host: str = "127.0.0.1", dashboard_port: int | None = None, object_store_mb: int = 128,
            report: bool = True, echo: bool = True) -> dict[str, Any]:
    """Start or join Ray, run (or resume) the study, write its tables; return them as DataFrames."""
    from study import trainable as adapter

    say = print if echo else (lambda *a, **k: None)
    warning = dashboard_warning(dashboard_host, address)
    if warning:
        print(warning, file=sys.stderr)
    lock = StudyLock(plan.folder, plan.name) if resume else None  # before Ray: one driver per study
    try:
        started_here = not adapter.ray_running()
        with _ray_start_lock():
            # Two studies started at the same moment would both find the same port free; one at a
            # time, each Ray's dashboard holds its port before the next study looks for one.
            if started_here and not address:
                dashboard_port = dashboard_port_for(dashboard_host, dashboard_port)
            url = adapter.init_ray(address, num_cpus, dashboard_host, dashboard_port, object_store_mb,
                                   num_gpus=None)
        try:
            _check_resources(plan, adapter)
            if url:
                say(f"Ray dashboard: http://{url}  (token: ~/.ray/auth_token)")
            folder = plan.folder
            try:
                folder.mkdir(parents=True, exist_ok=resume)
            except FileExistsError:  # another study of this name started since the check
                raise UsageError(f"--name: {folder} already exists; choose another --name") from None
            lock = lock or StudyLock(folder, plan.name)
            meta = _meta(plan)
            before = 0.0
            if resume:  # keep when it started and how long it has run so far: this run's time is added
                earlier = _read_meta(folder)
                meta["started"] = earlier.get("started", meta["started"])
                # The first run's provenance stays the study's; each resumed run's is kept beside it.
                meta["resumed"] = [*earlier.get("resumed", []), meta["provenance"]]
                meta["provenance"] = earlier.get("provenance", meta["provenance"])
                before = float(earlier.get("wall_seconds") or 0.0)
            meta["wall_seconds"] = before
            write_json_atomic(folder / STUDY_FILE, meta)
            say(f"study {plan.name}: {plan.trials} trials -> {folder}")
            damage = adapter.experiment_state_damage(folder) if resume else None
            if damage:
                say(f"Ray's experiment state is damaged ({damage}); Ray starts the trials again, "
                    "and each continues from its own checkpoint")
            spec = adapter.TunerSpec(
                name=plan.name, results_dir=Path(plan.results_dir), param_space=plan.param_space,
                grid_axes=plan.grid_axes, cpus_per_trial=plan.cpus_per_trial, gpus_per_trial=plan.gpus_per_trial,
                checkpoint_every=plan.checkpoint_every, max_failures=plan.max_failures,
                max_concurrent=plan.max_concurrent, search=_search_spec(plan, adapter), verbose=1 if echo else 0)
            columns = [f.name for f in dataclasses.fields(Config)]
            watch = StudyWatch(folder, meta, before, adapter.FinishedTables(folder, columns))
            try:
                results = adapter.restore_tuner(spec) if resume else adapter.run_tuner(spec)
            finally:
                elapsed = watch.stop()
            trials, curves = adapter.collect(results, columns, folder)
        finally:
            if started_here:
                adapter.shutdown_ray()
        if watch.failure is not None:
            raise storage_error(plan, watch.failure)
        return finish(plan, trials, curves, elapsed, before=before, report=report, echo=echo)
    except OSError as exc:  # the study folder cannot be written: a full disk, a read-only file system
        if exc.errno in STORAGE_ERRNOS and plan.folder.exists():
            raise storage_error(plan, exc) from None
        raise
    finally:
        if lock is not None:
            lock.release()


class StudyLock:
    """An exclusive lock on a study folder (``.lock``, via ``filelock``: flock on POSIX, msvcrt on
    Windows) for as long as one driver runs it: a second ``--resume`` of a running study is refused
    instead of writing Ray's state beside it. The operating system drops the lock when its process
    dies, SIGKILL included, so a dead driver never blocks a resume. Who holds it is written to
    ``.lock.holder`` (the lock file itself is truncated by every attempt to take it)."""

    FILE = ".lock"

    def __init__(self, folder: Path, name: str) -> None:
        from filelock import FileLock, Timeout

        path = folder / self.FILE
        self.lock = FileLock(str(path), timeout=0)
        self.holder = folder / (self.FILE + ".holder")
        try:
            self.lock.acquire()
        except Timeout:
            try:
                holder = self.holder.read_text().strip()
            except OSError:
                holder = ""
            raise UsageError(f"--resume: study {name!r} is running now ({holder or 'another process'} holds "
                             f"{path}); wait for it to end, or stop it (Ctrl-C) and resume it then") from None
        self.holder.write_text(f"pid {os.getpid()}")

    def release(self) -> None:
        if self.lock.is_locked:
            self.lock.release()


class StudyWatch:
    """The driver's watch over a running study, every ``every`` seconds: keeps study.json's
    ``wall_seconds`` current, so that a driver killed outright (SIGKILL, power) leaves its time on
    record and ``--resume`` adds to it; writes trials.csv and curves.csv of the trials finished so
    far (from their checkpoints), so a study that cannot end well keeps them; and when the study
    folder can no longer be written (a full disk, a read-only file system), interrupts the study
    as Ctrl-C would, so that its trials stop at their last checkpoint and ``--resume`` continues."""

    def __init__(self, folder: Path, meta: dict[str, Any], before: float, tables: Any, every: float = 5.0) -> None:
        import threading

        self.folder, self.meta, self.before, self.tables, self.every = folder, meta, before, tables, every
        self.failure: OSError | None = None
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="study-watch", daemon=True)
        self._thread.start()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _run(self) -> None:
        import signal

        while not self._stop.wait(self.every):
            try:
                write_json_atomic(self.folder / STUDY_FILE, {**self.meta, "wall_seconds": self.before + self.elapsed()})
                finished = self.tables.tables()
                if finished is not None and len(finished[0]):
                    write_csv_atomic(self.folder / "trials.csv", finished[0])
                    write_csv_atomic(self.folder / "curves.csv", finished[1])
            except OSError as exc:
                if exc.errno in STORAGE_ERRNOS and self.failure is None and not self._stop.is_set():
                    self.failure = exc
                    os.kill(os.getpid(), signal.SIGINT)  # Ray Tune stops the study gracefully, as on Ctrl-C

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.elapsed()


STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


class StorageError(Exception):
    """The study folder cannot be written; the message is the one line the command prints."""


def storage_error(plan: StudyPlan, exc: OSError) -> StorageError:
    finished = ""
    try:
        import pandas as pd

        finished = f"; its trials.csv holds the {len(pd.read_csv(plan.folder / 'trials.csv'))} trials finished before"
    except Exception:  # no table was written yet
        pass
    reason = exc.strerror or str(exc)
    return StorageError(f"cannot write to {plan.folder} ({reason}): the study stopped{finished}. Free space or "
                        f"make it writable, then resume it: python -m study.run --resume --name {plan.name} "
                        f"--results-dir {shlex.quote(str(plan.results_dir))}")


def _ray_start_lock() -> Any:
    """A machine-wide lock (in the temporary folder) held while a study picks its dashboard port
    and starts Ray."""
    from filelock import FileLock

    return FileLock(str(Path(tempfile.gettempdir()) / "palrnn-ray-start.lock"), timeout=300)


def dashboard_port_for(host: str, port: int | None, tries: int = 100) -> int:
    """The dashboard's port: ``port`` if it is free, refused (UsageError) if it is not; without a
    ``port``, Ray's default or the next free one, so that a second study on the same machine starts
    its own Ray beside the first instead of failing on the port."""
    if port is not None:
        if not _port_free(host, port):
            raise UsageError(f"--dashboard-port: {port} on {host} is in use (another study's Ray?); "
                             "choose a free port, or leave the option out to take the next free one")
        return port
    for candidate in range(DASHBOARD_PORT, DASHBOARD_PORT + tries):
        if _port_free(host, candidate):
            return candidate
    raise UsageError(f"--dashboard-port: ports {DASHBOARD_PORT}..{DASHBOARD_PORT + tries - 1} on {host} are all "
                     "in use; choose a free one")


def _port_free(host: str, port: int) -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.bind((host, port))
    except OSError:
        return False
    return True


def dashboard_warning(host: str, address: str | None) -> str | None:
    """The dashboard can submit jobs that run code: say so when it listens beyond this machine."""
    if address or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"warning: the Ray dashboard will listen on {host}, reachable from other machines; only Ray's "
            "token protects it (prefer 127.0.0.1 and an ssh tunnel)")


def _check_resources(plan: StudyPlan, adapter: Any) -> None:
    biggest = adapter.max_node_cpus()
    if plan.cpus_per_trial > biggest:
        raise UsageError(f"--cpus-per-trial: {plan.cpus_per_trial:g} asked for, but the largest node of this "
                         f"Ray cluster has {biggest:g} CPUs; trials would wait forever")
    if plan.gpus_per_trial > 0 and adapter.cluster_gpus() == 0:
        raise UsageError(f"--gpus-per-trial: {plan.gpus_per_trial:g} asked for, but this Ray cluster has no GPU")


def _search_spec(plan: StudyPlan, adapter: Any) -> dict[str, Any] | None:
    if plan.search is None:
        return None
    cpus = adapter.cluster_cpus()
    fits = max(1, int(cpus // plan.cpus_per_trial)) if plan.cpus_per_trial else 1
    limit = min(fits, plan.max_concurrent) if plan.max_concurrent else fits
    storage = plan.folder.resolve() / plan.search["storage"]
    return {**plan.search, "space": search.optuna_space(plan.param_space["model"]), "storage": storage,
            "max_concurrent": limit}


def _meta(plan: StudyPlan) -> dict[str, Any]:
    from study.provenance import provenance

    return {**dataclasses.asdict(plan), "started": dt.datetime.now().isoformat(timespec="seconds"),
            "finished": None, "wall_seconds": None, "status": "running",
            "provenance": provenance(None, threads_per_trial=max(1, int(plan.cpus_per_trial)))}


def _read_meta(folder: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads((folder / STUDY_FILE).read_text())
    except (OSError, ValueError):
        return {}


def finish(plan: StudyPlan, trials: Any, curves: Any, elapsed: float, *, before: float = 0.0, report: bool,
           echo: bool) -> dict[str, Any]:
    """Write the tables and the study's final status; ``before``: seconds earlier runs of it took.

    The status is ``complete`` only when every planned trial (a search: every sample) finished;
    ``interrupted`` when some never started or did not end; ``failed`` when a trial ended in an
    error. ``--resume`` continues the last two (errored trials from their checkpoints)."""
    folder = plan.folder
    say = print if echo else (lambda *a, **k: None)
    write_csv_atomic(folder / "trials.csv", trials)
    write_csv_atomic(folder / "curves.csv", curves)
    meta = _read_meta(folder) or _meta(plan)
    unfinished = int((trials["stopped_by"] == "unfinished").sum()) if len(trials) else 0
    unfinished += max(0, plan.trials - len(trials))
    errors = int((trials["status"] == "ERROR").sum()) if len(trials) else 0
    status = "interrupted" if unfinished else "failed" if errors else "complete"
    meta.update(finished=dt.datetime.now().isoformat(timespec="seconds"), wall_seconds=before + elapsed,
                status=status)
    write_json_atomic(folder / STUDY_FILE, meta)
    if plan.kind == "optuna":
        best = search.best_trial(trials)
        if best is not None:
            confirm = confirm_command(plan, best)
            write_json_atomic(folder / "best.json", {**{k: _plain(v) for k, v in best.items()}, "confirm": confirm})
            say("best trial: " + ", ".join(f"{k}={_plain(best.get(k))}" for k in
                                           ["eval_accuracy", *plan.axes, "steps_to_target"]))
            say(f"it is one seed's result; confirm it over 5 seeds with:\n  {confirm}")
    tables: dict[str, Any] = {"trials": trials, "curves": curves}
    diverged = int(trials["diverged"].fillna(False).astype(bool).sum()) if len(trials) else 0
    say(f"{len(trials)} trials in {elapsed:.0f} s: {errors} failed, {diverged} diverged; tables in {folder}")
    if report and len(trials):
        from study.report import write_report

        tables.update(write_report(folder, echo=echo))
    if unfinished or errors:
        what = f"{unfinished} trials unfinished" if unfinished else f"{errors} trials failed"
        say(f"{status}: {what}. Resume with:\n  python -m study.run --resume "
            f"--name {plan.name} --results-dir {plan.results_dir}")
    tables["unfinished"] = unfinished
    tables["errors"] = errors
    tables["status"] = status
    tables["tuning_seconds"] = elapsed
    return tables


def confirm_command(plan: StudyPlan, best: dict[str, Any], seeds: int = 5) -> str:
    """The grid command that reruns a search's best config over seeds 0 .. seeds-1, all else equal:
    the searched fields from ``best``, and every other setting of the search (``--set``, --full,
    --patience, --smoke-test) that differs from what the ``lengths`` grid would use."""
    model, length = plan.param_space["model"], plan.param_space["length"]
    grid_base = Config.from_dict({**grids.EXERCISE, "model": model, "length": length, "patience": 3}).to_dict()
    fixed = {k: v for k, v in plan.param_space.items()
             if k not in ("model", "length", "seed") and k in grid_base and v != grid_base[k]}
    fixed.update({k: _plain(best.get(k)) for k in plan.axes})
    words = ["python -m study.run --grid lengths", f"--models {model}", f"--lengths {length}", f"--seeds {seeds}"]
    words += [f"--set {k}={_arg(v)}" for k, v in fixed.items()]
    if plan.results_dir != "results":
        words.append(f"--results-dir {shlex.quote(str(plan.results_dir))}")
    return " ".join(words + [f"--name {plan.name}-confirm"])


def _arg(v: Any) -> str:
    """A --set value that parses back to ``v`` exactly (floats by repr, None as none)."""
    return "none" if v is None else repr(v) if isinstance(v, float) else shlex.quote(str(v))


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.list:
        print(grids.describe())
        print(search.describe())
        return 0
    try:
        plan = _resumed_plan(args) if args.resume else plan_from_args(args, argv)
        if args.resume:
            _check_folder(plan, resume=True)
            dash_port = None if args.dashboard_port is None else _int("--dashboard-port", args.dashboard_port, 1)
            store = _int("--object-store-mb", args.object_store_mb, 64)
            num_cpus = None if args.num_cpus is None else _int("--num-cpus", args.num_cpus, 1)
        else:
            dash_port, store, num_cpus = args.dashboard_port, args.object_store_mb, args.num_cpus
        tables = execute(plan, resume=args.resume, address=args.address, num_cpus=num_cpus,
                         dashboard_host=args.dashboard_host, dashboard_port=dash_port, object_store_mb=store,
                         report=not args.no_report)
    except UsageError as exc:
        fail(PROG, str(exc))
    except StorageError as exc:  # not the user's input: exit status 1
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    return 130 if tables.get("unfinished") else 1 if tables.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
