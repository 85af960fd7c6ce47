"""Run a planned study on Ray (``execute``), one driver per study. Planning has checked everything; what
can still fail is the machine's: a port taken, a cluster too small, a full disk, a Ctrl-C."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from palrnn.config import field_names
from study.basics.errors import StudyError
from study.basics.io import write_json_atomic, write_text_atomic
from study.basics.layout import LOCK, STUDY_FILE, STUDY_TOML
from study.basics.store import study_store
from study.basics.tracking import watch_lines
from study.driver import shared
from study.driver.finish import finish, read_study_meta, silent, study_meta, study_toml
from study.driver.shared import STORAGE_ERRNOS, StudyWatch, storage_error, unwritable
from study.engine import tuner
from study.planning.build import write_state
from study.planning.kinds.search import uses_optuna
from study.planning.plan import DASHBOARD_PORT, StudyPlan
from study.results.trials import FinishedTables

COLUMNS = field_names()  # the config columns of the trials table


def execute(plan: StudyPlan, *, resume: bool = False, address: str | None = None, num_cpus: int | None = None,
            dashboard_host: str = "127.0.0.1", dashboard_port: int | None = None, object_store_mb: int = 128,
            report: bool = True, echo: bool = True) -> dict[str, Any]:
    """Start or join Ray (``cluster_address``), run (or resume) the study, write its tables; return them."""
    say = print if echo else silent
    address = cluster_address(address)
    if warning := dashboard_warning(dashboard_host, address):
        print(warning, file=sys.stderr)
    shared.check_storage(plan)  # --storage reachable from here: before Ray, before anything is written
    if plan.fetched:  # --resume on a machine without the study folder: its state, as read from --storage
        write_state(plan.folder, plan.fetched)
    lock = StudyLock(plan.folder, plan.name) if resume else None  # before Ray: one driver per study
    try:
        with ray_session(address, num_cpus, dashboard_host, dashboard_port, object_store_mb) as url:
            tuner.check_resources(plan)
            shared.check_nodes(plan)  # every node reaches what trials share, before the study folder is made
            if url:
                say(f"Ray dashboard: http://{url}  (token: ~/.ray/auth_token)")
            lock = lock or _new_folder(plan)
            meta, before = _started(plan, resume)
            shared.upload(plan, (STUDY_FILE, STUDY_TOML))  # --storage: the study's plan beside its trials
            say(f"study {plan.name}: {plan.count_text()} -> {plan.folder}")
            for line in [*plan.estimated().lines(),  # docs/estimates.md
                         *watch_lines(plan.folder, search=uses_optuna(meta.get("search")), mlflow=plan.mlflow)]:
                say(line)
            tables = FinishedTables(study_store(plan.storage, plan.folder), COLUMNS)
            watch = StudyWatch(plan.folder, meta, before, tables, mirror=shared.mirror(plan))
            try:
                trials, curves = _run(plan, resume, verbose=1 if echo else 0, watch=watch, say=say)
            except Exception:
                # A full disk can break Ray itself on the way out (it reads back a trial's error file
                # that was written empty): the study's verdict is still the folder that cannot be written.
                if (failure := watch.failure or unwritable(plan.folder)) is not None:
                    raise storage_error(plan, failure) from None
                raise
            finally:
                elapsed = watch.stop()
        if watch.failure is not None:
            raise storage_error(plan, watch.failure)
        done = finish(plan, trials, curves, elapsed, before=before, report=report, echo=echo)
        shared.upload(plan)  # --storage: the tables, figures and report beside the trials
        return done
    except OSError as exc:  # the study folder cannot be written: a full disk, a read-only file system
        if exc.errno in STORAGE_ERRNOS and plan.folder.exists():
            raise storage_error(plan, exc) from None
        raise
    finally:
        if lock is not None:
            lock.release()


def cluster_address(address: str | None) -> str | None:
    """``address``, else ``RAY_ADDRESS`` (a Ray Job's driver has it), else None: the study starts its own Ray."""
    return address or os.environ.get("RAY_ADDRESS") or None


@contextmanager
def ray_session(address: str | None, num_cpus: int | None, dashboard_host: str, dashboard_port: int | None,
                object_store_mb: int) -> Iterator[str | None]:
    """Ray joined (``address``), or started here and shut down at the end; yields the dashboard's address."""
    started_here = not tuner.ray_running()
    # One Ray start at a time on a machine, else two studies started at once both find the same port free.
    with FileLock(str(Path(tempfile.gettempdir()) / "palrnn-ray-start.lock"), timeout=300):
        if started_here and not address:
            dashboard_port = dashboard_port_for(dashboard_host, dashboard_port)
        url = tuner.init_ray(address, num_cpus, dashboard_host, dashboard_port, object_store_mb, num_gpus=None)
    try:
        yield url
    finally:
        if started_here:
            tuner.shutdown_ray()


class StudyLock:
    """A study folder's ``.lock`` while one driver runs it: a second ``--resume`` is refused. The OS drops
    it when its process dies, SIGKILL too. ``.lock.holder`` says who (each try truncates the lock file)."""

    def __init__(self, folder: Path, name: str) -> None:
        path = folder / LOCK
        self.lock, self.holder = FileLock(str(path), timeout=0), folder / (LOCK + ".holder")
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


def dashboard_port_for(host: str, port: int | None, tries: int = 100) -> int:
    """``port`` if it is free, else a StudyError; without one, Ray's default or the next free port (a
    second study on the machine starts its own Ray beside the first)."""
    def free(candidate: int) -> bool:
        try:
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
                sock.bind((host, candidate))
        except OSError:
            return False
        return True

    if port is not None:
        if not free(port):
            raise StudyError(f"--dashboard-port: {port} on {host} is in use (another study's Ray?); "
                             "choose a free port, or leave the option out to take the next free one")
        return port
    if (found := next((p for p in range(DASHBOARD_PORT, DASHBOARD_PORT + tries) if free(p)), None)) is None:
        raise StudyError(f"--dashboard-port: ports {DASHBOARD_PORT}..{DASHBOARD_PORT + tries - 1} on {host} are "
                         "all in use; choose a free one")
    return found


def dashboard_warning(host: str, address: str | None) -> str | None:
    """The dashboard can submit jobs that run code: say so when it listens beyond this machine."""
    if address or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"warning: the Ray dashboard will listen on {host}, reachable from other machines; only Ray's "
            "token protects it (prefer 127.0.0.1 and an ssh tunnel)")


def _new_folder(plan: StudyPlan) -> StudyLock:
    """A new study's folder, locked (another study of this name may have started since the plan was checked)."""
    try:
        plan.folder.mkdir(parents=True)
    except FileExistsError:
        raise StudyError(f"--name: {plan.folder} already exists; choose another --name") from None
    return StudyLock(plan.folder, plan.name)


def _started(plan: StudyPlan, resume: bool) -> tuple[dict[str, Any], float]:
    """study.json and study.toml at the start of a run; the seconds earlier runs of the study took."""
    meta, before = study_meta(plan), 0.0
    if resume:  # keep when it started and how long it has run so far: this run's time is added
        earlier = read_study_meta(plan.folder)
        meta["started"] = earlier.get("started", meta["started"])
        # The first run's provenance stays the study's; each resumed run's is kept beside it.
        meta["resumed"] = [*earlier.get("resumed", []), meta["provenance"]]
        meta["provenance"] = earlier.get("provenance", meta["provenance"])
        before = float(earlier.get("wall_seconds") or 0.0)
    meta["wall_seconds"] = before
    write_json_atomic(plan.folder / STUDY_FILE, meta)
    if not resume or not (plan.folder / STUDY_TOML).is_file():
        write_text_atomic(plan.folder / STUDY_TOML, study_toml(plan))
    return meta, before


def _run(plan: StudyPlan, resume: bool, verbose: int, watch: StudyWatch, say: Callable[..., None]) -> tuple[Any, Any]:
    """The plan's Ray experiments, one per cell one after the other where it has several: a cell that ends
    unfinished (Ctrl-C, a full disk) stops there; ``--resume`` continues that cell and runs the others."""
    specs = tuner.tuner_specs(plan, verbose=verbose)
    for spec in specs:
        damage = tuner.experiment_state_damage(spec.results_dir / spec.name) if resume and not plan.storage else None
        if damage:
            say(f"Ray's experiment state is damaged ({damage}); Ray starts the trials again, "
                "and each continues from its own checkpoint")
    if len(specs) == 1:
        return tuner.collect(tuner.run_or_restore(specs[0], resume), COLUMNS, specs[0].store,
                             scheduled=plan.kind_of.scheduled)
    parts = []
    try:
        for i, spec in enumerate(specs):
            samples = spec.parts.num_samples
            say(f"cell {i + 1}/{len(specs)}: {spec.cell['model']} T={spec.cell['length']}, "
                f"{samples} trials -> {spec.results_dir / spec.name}")
            results = tuner.restore_tuner(spec) if resume and tuner.can_restore(spec) else tuner.run_tuner(spec)
            trials, curves = tuner.collect(results, COLUMNS, spec.store)  # a search's cells: ASHA may cut
            parts.append((trials, curves))
            unfinished = int((trials["stopped_by"] == "unfinished").sum()) if len(trials) else 0
            if unfinished or len(trials) < samples or watch.failure is not None:
                break
    except KeyboardInterrupt:  # between two cells: the next one does not start
        pass
    if not parts:
        return pd.DataFrame(), pd.DataFrame()

    def joined(frames: list[Any]) -> Any:
        full = [f for f in frames if len(f)]
        return pd.concat(full, ignore_index=True) if full else frames[0]

    return joined([t for t, _ in parts]), joined([c for _, c in parts])
