"""The driver: runs a planned study on Ray (``execute``), keeps it safe while it runs (``StudyLock``,
``StudyWatch``, storage errors) and writes its tables and final status (``finish``).

Planning (``study.planning``) has checked everything before this starts; what can still go wrong
here is the machine's: a port taken, a cluster too small, a full disk, a Ctrl-C.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from palrnn.config import Config
from study import search, tracking
from study.io import write_csv_atomic, write_json_atomic, write_text_atomic
from study.planning import DASHBOARD_PORT, STUDY_FILE, STUDY_TOML, StudyPlan
from study.studyfile import StudyError

__all__ = ["DASHBOARD_PORT", "STORAGE_ERRNOS", "StorageError", "StudyLock", "StudyWatch", "dashboard_port_for",
           "dashboard_warning", "execute", "finish", "storage_error"]


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
                raise StudyError(f"--name: {folder} already exists; choose another --name") from None
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
            if not resume or not (folder / STUDY_TOML).is_file():
                write_text_atomic(folder / STUDY_TOML, study_toml(plan))
            say(f"study {plan.name}: {plan.count_text()} -> {folder}")
            for line in tracking.watch_lines(folder, search=plan.kind == "optuna", mlflow=plan.mlflow):
                say(line)
            specs = _tuner_specs(plan, adapter, verbose=1 if echo else 0)
            for spec in specs:
                damage = adapter.experiment_state_damage(spec.results_dir / spec.name) if resume else None
                if damage:
                    say(f"Ray's experiment state is damaged ({damage}); Ray starts the trials again, "
                        "and each continues from its own checkpoint")
            columns = [f.name for f in dataclasses.fields(Config)]
            watch = StudyWatch(folder, meta, before, adapter.FinishedTables(folder, columns))
            if plan.kind == "frontier":
                spec = specs[0]
                # A study interrupted before Ray kept any state of its own starts the search again;
                # every trial it had run continues from its own checkpoint.
                again = resume and adapter.can_restore(spec.results_dir / spec.name)
                try:
                    results = adapter.restore_frontier(spec) if again else adapter.run_frontier(spec, plan.frontier)
                finally:
                    elapsed = watch.stop()
                trials, curves = adapter.collect(results, columns, folder, scheduled=plan.kind != "grid")
            elif len(specs) == 1:
                spec = specs[0]
                try:
                    results = adapter.restore_tuner(spec) if resume else adapter.run_tuner(spec)
                finally:
                    elapsed = watch.stop()
                trials, curves = adapter.collect(results, columns, folder, scheduled=plan.kind != "grid")
            else:
                try:
                    trials, curves = _run_cells(specs, adapter, columns, folder, resume, watch, say)
                finally:
                    elapsed = watch.stop()
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
            raise StudyError(f"--resume: study {name!r} is running now ({holder or 'another process'} holds "
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
    """The dashboard's port: ``port`` if it is free, refused (StudyError) if it is not; without a
    ``port``, Ray's default or the next free one, so that a second study on the same machine starts
    its own Ray beside the first instead of failing on the port."""
    if port is not None:
        if not _port_free(host, port):
            raise StudyError(f"--dashboard-port: {port} on {host} is in use (another study's Ray?); "
                             "choose a free port, or leave the option out to take the next free one")
        return port
    for candidate in range(DASHBOARD_PORT, DASHBOARD_PORT + tries):
        if _port_free(host, candidate):
            return candidate
    raise StudyError(f"--dashboard-port: ports {DASHBOARD_PORT}..{DASHBOARD_PORT + tries - 1} on {host} are all "
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
        raise StudyError(f"--cpus-per-trial: {plan.cpus_per_trial:g} asked for, but the largest node of this "
                         f"Ray cluster has {biggest:g} CPUs; trials would wait forever")
    if plan.gpus_per_trial > 0 and adapter.cluster_gpus() == 0:
        raise StudyError(f"--gpus-per-trial: {plan.gpus_per_trial:g} asked for, but this Ray cluster has no GPU")


def _tuner_specs(plan: StudyPlan, adapter: Any, verbose: int) -> list[Any]:
    """The Ray Tuners of a plan: one for a grid; one per model x length cell for a search."""
    if plan.search is None:
        return [adapter.TunerSpec(plan, verbose=verbose)]
    several = len(plan.cells) > 1
    return [adapter.TunerSpec(plan, search=_search_spec(plan, adapter, cell), cell=cell if several else None,
                              verbose=verbose) for cell in plan.cells]


def _search_spec(plan: StudyPlan, adapter: Any, cell: dict[str, Any]) -> dict[str, Any]:
    """A cell's search, ready for Ray: its Optuna distributions, the journal's path, the concurrency."""
    assert plan.search is not None
    cpus = adapter.cluster_cpus()
    fits = max(1, int(cpus // plan.cpus_per_trial)) if plan.cpus_per_trial else 1
    limit = min(fits, plan.max_concurrent) if plan.max_concurrent else fits
    storage = plan.folder.resolve() / plan.search["storage"]
    ready = {k: v for k, v in plan.search.items() if k not in ("cells", "space")}
    return {**ready, "space": search.optuna_space(plan.space(cell["model"])), "storage": storage,
            "max_concurrent": limit, "study_name": cell.get("study_name", "palrnn")}


def _run_cells(specs: list[Any], adapter: Any, columns: list[str], folder: Path, resume: bool, watch: StudyWatch,
               say: Any) -> tuple[Any, Any]:
    """A search over several cells: one Optuna search after the other, each its own Ray experiment
    in the one Ray session. A cell that ends unfinished (Ctrl-C, or a study folder that cannot be
    written) stops the study there; ``--resume`` continues that cell and runs the others."""
    import pandas as pd

    parts = []
    try:
        for i, spec in enumerate(specs):
            experiment = spec.results_dir / spec.name
            again = resume and adapter.can_restore(experiment)
            say(f"cell {i + 1}/{len(specs)}: {spec.cell['model']} T={spec.cell['length']}, "
                f"{spec.search['num_samples']} trials -> {experiment}")
            results = adapter.restore_tuner(spec) if again else adapter.run_tuner(spec)
            trials, curves = adapter.collect(results, columns, folder)  # a search's cells: ASHA may cut
            parts.append((trials, curves))
            unfinished = (int((trials["stopped_by"] == "unfinished").sum()) if len(trials) else 0)
            if unfinished or len(trials) < spec.search["num_samples"] or watch.failure is not None:
                break
    except KeyboardInterrupt:  # between two cells: the next one does not start
        pass
    if not parts:
        return pd.DataFrame(), pd.DataFrame()
    trials = pd.concat([t for t, _ in parts if len(t)], ignore_index=True) if any(len(t) for t, _ in parts) \
        else parts[0][0]
    curves = pd.concat([c for _, c in parts if len(c)], ignore_index=True) if any(len(c) for _, c in parts) \
        else parts[0][1]
    return trials, curves


def study_toml(plan: StudyPlan) -> str:
    """The resolved study, as the study file that plans these very trials again."""
    from study.studyfile import to_toml

    assert plan.study is not None
    folder = shlex.quote(str(plan.folder / STUDY_TOML))
    return to_toml(plan.study, [f"The study {plan.name}, as planned by: {plan.command}",
                                f"Every setting is explicit. Rerun it into a new folder: python -m study.run --study "
                                f"{folder}", "(--sweep, --set, --seeds and the other options change it)"])


def _meta(plan: StudyPlan) -> dict[str, Any]:
    from study.provenance import provenance

    return {**plan.to_meta(), "started": dt.datetime.now().isoformat(timespec="seconds"),
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
    error. ``--resume`` continues the last two (errored trials from their checkpoints).

    A frontier is ``complete`` once its search knows every cell's frontier (a trial that failed
    for good counts as not solved), else ``interrupted``; its frontier.csv and figures/frontier.png
    are written and its table printed (``study.frontier.write_frontier``)."""
    folder = plan.folder
    say = print if echo else (lambda *a, **k: None)
    write_csv_atomic(folder / "trials.csv", trials)
    write_csv_atomic(folder / "curves.csv", curves)
    meta = _read_meta(folder) or _meta(plan)
    unfinished = int((trials["stopped_by"] == "unfinished").sum()) if len(trials) else 0
    errors = int((trials["status"] == "ERROR").sum()) if len(trials) else 0
    if plan.kind == "frontier":
        done = _frontier_done(folder)
        status = "complete" if done else "interrupted"
    else:
        unfinished += max(0, plan.n_trials - len(trials))
        status = "interrupted" if unfinished else "failed" if errors else "complete"
    meta.update(finished=dt.datetime.now().isoformat(timespec="seconds"), wall_seconds=before + elapsed,
                status=status)
    write_json_atomic(folder / STUDY_FILE, meta)
    if plan.kind == "optuna":
        _best(plan, trials, say)
    tables: dict[str, Any] = {"trials": trials, "curves": curves}
    diverged = int(trials["diverged"].fillna(False).astype(bool).sum()) if len(trials) else 0
    say(f"{len(trials)} trials in {elapsed:.0f} s: {errors} failed, {diverged} diverged; tables in {folder}")
    reported = report and len(trials)
    if plan.kind == "frontier" and not reported:  # the report writes and prints the frontier with the rest
        from study import frontier

        if (folder / frontier.FILE).is_file():
            tables["frontier"] = frontier.write_frontier(folder, echo=echo)
    if reported:
        from study.report import write_report

        tables.update(write_report(folder, echo=echo))
    if plan.mlflow:
        try:
            tracking.log_study_figures(plan.mlflow, folder, plan.name)
        except Exception as exc:  # the tables are written; MLflow is a view of them
            say(f"palrnn: MLflow: the study's figures were not logged ({type(exc).__name__}: "
                f"{(str(exc).splitlines() or [''])[0][:200]})")
    hint = f"Resume with:\n  python -m study.run --resume --name {plan.name} --results-dir {plan.results_dir}"
    if plan.kind == "frontier" and status == "interrupted":
        what = f"{unfinished} trials unfinished" if unfinished else "the frontier's search is unfinished"
        say(f"{status}: {what}. {hint}")
    elif plan.kind == "frontier" and errors:
        say(f"{status}: {errors} trials failed; the frontier counted them as not solved")
    elif unfinished or errors:
        what = f"{unfinished} trials unfinished" if unfinished else f"{errors} trials failed"
        say(f"{status}: {what}. {hint}")
    tables["unfinished"] = unfinished
    tables["errors"] = errors
    tables["status"] = status
    tables["tuning_seconds"] = elapsed
    return tables


def _frontier_done(folder: Path) -> bool:
    """Whether the frontier in a study folder knows every cell's frontier (frontier/state.json)."""
    from study import frontier

    try:
        state = frontier.load_frontier(folder)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return state is not None and state.done


def _best(plan: StudyPlan, trials: Any, say: Any) -> None:
    """best.json: the best trial of the search by its metric, with the command that confirms it
    over 5 seeds; a search over several cells adds each cell's best (``cells``)."""
    assert plan.search is not None
    metric, mode = plan.search.get("metric", "eval_accuracy"), plan.search.get("mode", "max")
    best = search.best_trial(trials, metric, mode)
    if best is None:
        return
    cells = plan.cells
    shown = [metric, *[a for a in plan.axes if a != metric], "steps_to_target"]

    def entry(row: dict[str, Any]) -> dict[str, Any]:
        return {**{k: search.plain(v) for k, v in row.items()}, "confirm": search.confirm_command(plan, row)}

    data = entry(best)
    if len(cells) > 1:
        data["cells"] = {}
        for cell in cells:
            part = trials[(trials["model"] == cell["model"]) & (trials["length"] == cell["length"])] \
                if len(trials) else trials
            row = search.best_trial(part, metric, mode)
            if row is not None:
                data["cells"][f"{cell['model']}-T{cell['length']}"] = entry(row)
    write_json_atomic(plan.folder / "best.json", data)
    rows = data["cells"].values() if len(cells) > 1 else [data]
    for row in rows:
        where = f" ({row['model']} T={row['length']})" if len(cells) > 1 else ""
        fields = [k for k in shown if k in row and (k in (metric, "steps_to_target") or
                                                    row["model"] in search.ONLY_FOR.get(k, (row["model"],)))]
        say(f"best trial{where}: " + ", ".join(f"{k}={row.get(k)}" for k in fields))
        say(f"it is one seed's result; confirm it over 5 seeds with:\n  {row['confirm']}")


