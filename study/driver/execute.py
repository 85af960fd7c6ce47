"""Run a planned study on Ray (``execute``): Ray started here or joined, the study folder made and
locked, study.json and study.toml written, the plan's Tuners run by the engine while the watch keeps
the tables current, then ``finish``.

Planning (``study.planning``) has checked everything before this starts; what can still go wrong
here is the machine's: a port taken, a cluster too small, a full disk, a Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from palrnn.config import field_names
from study.basics.errors import StudyError
from study.basics.io import write_json_atomic, write_text_atomic
from study.basics.layout import STUDY_FILE, STUDY_TOML
from study.basics.tracking import watch_lines
from study.driver import shared
from study.driver.finish import finish, read_study_meta, silent, study_meta, study_toml
from study.driver.lock import StudyLock, dashboard_port_for, dashboard_warning, ray_start_lock
from study.driver.watch import STORAGE_ERRNOS, StudyWatch, storage_error, unwritable
from study.planning.build import write_state
from study.planning.kinds.search import uses_optuna
from study.planning.plan import StudyPlan

COLUMNS = field_names()  # the config columns of the trials table


def execute(plan: StudyPlan, *, resume: bool = False, address: str | None = None, num_cpus: int | None = None,
            dashboard_host: str = "127.0.0.1", dashboard_port: int | None = None, object_store_mb: int = 128,
            report: bool = True, echo: bool = True) -> dict[str, Any]:
    """Start or join Ray, run (or resume) the study, write its tables; return them as DataFrames.
    With no ``address``, ``RAY_ADDRESS`` where it is set (a Ray Job's driver has it): that cluster."""
    say = print if echo else silent
    address = cluster_address(address)
    warning = dashboard_warning(dashboard_host, address)
    if warning:
        print(warning, file=sys.stderr)
    shared.check_storage(plan)  # --storage reachable from here: before Ray, before anything is written
    if plan.fetched:  # --resume on a machine without the study folder: its state, as read from --storage
        write_state(plan.folder, plan.fetched)
    lock = StudyLock(plan.folder, plan.name) if resume else None  # before Ray: one driver per study
    try:
        with ray_session(address, num_cpus, dashboard_host, dashboard_port, object_store_mb) as url:
            _check_resources(plan)
            shared.check_nodes(plan)  # every node reaches what trials share, before the study folder is made
            if url:
                say(f"Ray dashboard: http://{url}  (token: ~/.ray/auth_token)")
            lock = lock or _new_folder(plan)
            meta, before = _started(plan, resume)
            shared.upload(plan, (STUDY_FILE, STUDY_TOML))  # --storage: the study's plan beside its trials
            say(f"study {plan.name}: {plan.count_text()} -> {plan.folder}")
            for line in plan.estimated().lines():  # docs/estimates.md
                say(line)
            for line in watch_lines(plan.folder, search=uses_optuna(meta.get("search")), mlflow=plan.mlflow):
                say(line)
            watch = StudyWatch(plan.folder, meta, before, _finished_tables(plan), mirror=shared.mirror(plan))
            try:
                trials, curves = _run(plan, resume, verbose=1 if echo else 0, watch=watch, say=say)
            except Exception:
                # A full disk can break Ray itself on the way out (it reads back a trial's error file
                # that was written empty): the study's verdict is still the folder that cannot be written.
                failure = watch.failure or unwritable(plan.folder)
                if failure is not None:
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
    """The cluster a study joins: ``address``, else ``RAY_ADDRESS`` where it is set (a Ray Job's
    driver has it), else none (the study starts its own Ray)."""
    return address or os.environ.get("RAY_ADDRESS") or None


@contextmanager
def ray_session(address: str | None, num_cpus: int | None, dashboard_host: str, dashboard_port: int | None,
                object_store_mb: int) -> Iterator[str | None]:
    """Ray for one study: joined (``address``), or started here and shut down at the end; yields
    the dashboard's address when Ray was started here."""
    from study.engine import session

    started_here = not session.ray_running()
    with ray_start_lock():
        # Two studies started at the same moment would both find the same port free; one at a
        # time, each Ray's dashboard holds its port before the next study looks for one.
        if started_here and not address:
            dashboard_port = dashboard_port_for(dashboard_host, dashboard_port)
        url = session.init_ray(address, num_cpus, dashboard_host, dashboard_port, object_store_mb, num_gpus=None)
    try:
        yield url
    finally:
        if started_here:
            session.shutdown_ray()


def _new_folder(plan: StudyPlan) -> StudyLock:
    """The study folder of a new study (another study of this name may have started since the
    plan was checked), locked; a resumed study's folder exists and was locked before Ray."""
    try:
        plan.folder.mkdir(parents=True)
    except FileExistsError:
        raise StudyError(f"--name: {plan.folder} already exists; choose another --name") from None
    return StudyLock(plan.folder, plan.name)


def _started(plan: StudyPlan, resume: bool) -> tuple[dict[str, Any], float]:
    """study.json at the start of a run, and the seconds earlier runs of the study took; study.toml."""
    folder = plan.folder
    meta = study_meta(plan)
    before = 0.0
    if resume:  # keep when it started and how long it has run so far: this run's time is added
        earlier = read_study_meta(folder)
        meta["started"] = earlier.get("started", meta["started"])
        # The first run's provenance stays the study's; each resumed run's is kept beside it.
        meta["resumed"] = [*earlier.get("resumed", []), meta["provenance"]]
        meta["provenance"] = earlier.get("provenance", meta["provenance"])
        before = float(earlier.get("wall_seconds") or 0.0)
    meta["wall_seconds"] = before
    write_json_atomic(folder / STUDY_FILE, meta)
    if not resume or not (folder / STUDY_TOML).is_file():
        write_text_atomic(folder / STUDY_TOML, study_toml(plan))
    return meta, before


def _finished_tables(plan: StudyPlan) -> Any:
    from study.basics.store import study_store
    from study.results.trials import FinishedTables

    return FinishedTables(study_store(plan.storage, plan.folder) if plan.storage else plan.folder, COLUMNS)


def _run(plan: StudyPlan, resume: bool, verbose: int, watch: StudyWatch, say: Callable[..., None]) -> tuple[Any, Any]:
    """Run the plan's Ray experiments: one, or one per cell where its kind runs several (a search
    over several cells), one after the other (``_run_cells``)."""
    from study.engine import tuner
    from study.engine.collect import collect

    specs = tuner.tuner_specs(plan, verbose=verbose)
    for spec in specs:
        damage = tuner.experiment_state_damage(spec.results_dir / spec.name) if resume and not plan.storage else None
        if damage:
            say(f"Ray's experiment state is damaged ({damage}); Ray starts the trials again, "
                "and each continues from its own checkpoint")
    if len(specs) > 1:
        return _run_cells(specs, resume, watch, say)
    spec = specs[0]
    results = tuner.run_or_restore(spec, resume)
    where = spec.store if plan.storage else plan.folder  # the trials' checkpoints
    return collect(results, COLUMNS, where, scheduled=plan.kind_of.scheduled)


def _check_resources(plan: StudyPlan) -> None:
    from study.engine import session

    biggest = session.max_node_cpus()
    if plan.cpus_per_trial > biggest:
        raise StudyError(f"--cpus-per-trial: {plan.cpus_per_trial:g} asked for, but the largest node of this "
                         f"Ray cluster has {biggest:g} CPUs; trials would wait forever")
    if plan.gpus_per_trial > 0 and session.cluster_gpus() == 0:
        raise StudyError(f"--gpus-per-trial: {plan.gpus_per_trial:g} asked for, but this Ray cluster has no GPU")


def _run_cells(specs: list[Any], resume: bool, watch: StudyWatch, say: Callable[..., None]) -> tuple[Any, Any]:
    """A study over several cells (a search's): one cell after the other, each its own Ray experiment
    in the one Ray session. A cell that ends unfinished (Ctrl-C, or a study folder that cannot be
    written) stops the study there; ``--resume`` continues that cell and runs the others."""
    import pandas as pd

    from study.engine import tuner
    from study.engine.collect import collect

    parts = []
    try:
        for i, spec in enumerate(specs):
            experiment = spec.results_dir / spec.name
            again = resume and tuner.can_restore(spec)
            samples = spec.parts.num_samples
            say(f"cell {i + 1}/{len(specs)}: {spec.cell['model']} T={spec.cell['length']}, "
                f"{samples} trials -> {experiment}")
            results = tuner.restore_tuner(spec) if again else tuner.run_tuner(spec)
            trials, curves = collect(results, COLUMNS, spec.store)  # a search's cells: ASHA may cut
            parts.append((trials, curves))
            unfinished = (int((trials["stopped_by"] == "unfinished").sum()) if len(trials) else 0)
            if unfinished or len(trials) < samples or watch.failure is not None:
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
