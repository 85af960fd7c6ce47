"""Ray started or joined (``ray_fixes`` applied); a plan's Tuners, of the parts its kind names in the
registries (``SEARCHERS``, ``SCHEDULERS``, ``CALLBACKS``), run or restored, their results the study's
tables (``collect``). With --storage, checkpoints, PBT's states and Ray's experiment live there."""

from __future__ import annotations

import dataclasses
import importlib
import json
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import ray
from ray import tune

from study.basics.errors import StudyError
from study.basics.layout import FINISHED, PBT_LOG
from study.basics.store import Store
from study.engine import ray_fixes
from study.engine.logger import CALLBACKS, study_callbacks
from study.engine.schedulers import scheduler
from study.engine.schedulers.pbt import domains as pbt_domains
from study.engine.search import SEARCHERS
from study.engine.spec import TunerSpec
from study.engine.trainable import palrnn_trial
from study.results.checkpoints import saved_curve
from study.results.pbt import log_path as pbt_log_path
from study.results.trials import stopped_by, trial_tables
from study.spec.search import interval as pbt_interval

if TYPE_CHECKING:
    from study.planning.plan import StudyPlan


def init_ray(address: str | None, num_cpus: int | None, dashboard_host: str, dashboard_port: int,
             object_store_mb: int, num_gpus: int | None = None) -> str | None:
    """Join a cluster (``address``) or start this study's own Ray (``address="local"``: else Ray would join
    one ``ray start`` left on the machine, and refuse the CPUs asked for); returns the dashboard's address."""
    ray_fixes.apply()
    if ray.is_initialized():
        return None
    if address:
        ctx = ray.init(address=address, log_to_driver=True)
    else:
        ctx = ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=True,
                       dashboard_host=dashboard_host, dashboard_port=dashboard_port,
                       object_store_memory=object_store_mb * 1024**2, log_to_driver=True)
    return getattr(ctx, "dashboard_url", None) or None


def ray_running() -> bool:
    return ray.is_initialized()


def shutdown_ray() -> None:
    if ray.is_initialized():
        ray.shutdown()


def check_resources(plan: StudyPlan) -> None:
    """A StudyError where a trial cannot be placed on this Ray cluster."""
    biggest = max((float(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=0.0)
    if plan.cpus_per_trial > biggest:
        raise StudyError(f"--cpus-per-trial: {plan.cpus_per_trial:g} asked for, but the largest node of this "
                         f"Ray cluster has {biggest:g} CPUs; trials would wait forever")
    if plan.gpus_per_trial > 0 and float(ray.cluster_resources().get("GPU", 0)) == 0:
        raise StudyError(f"--gpus-per-trial: {plan.gpus_per_trial:g} asked for, but this Ray cluster has no GPU")


class ProgressLine(tune.ProgressReporter):
    """One line of at most 79 columns every ``every`` seconds instead of Ray's wide table, e.g.
    ``16:52:43  4/36 done  2 running  0 errors  LSTM T=7 s1 step 4000 acc 0.998``."""

    def __init__(self, every: float = 20.0, stream: Any = None, total: int | None = None) -> None:
        # total: the trials to come (a search's num_samples): Ray only knows those proposed so far.
        self.every, self.stream, self.total, self._last = every, stream, total, 0.0

    def should_report(self, trials: list[Any], done: bool = False) -> bool:
        return done or time.monotonic() - self._last >= self.every

    def report(self, trials: list[Any], done: bool, *sys_info: str) -> None:
        self._last = time.monotonic()
        count = Counter(t.status for t in trials)
        total = max(len(trials), getattr(self, "total", None) or 0)  # a reporter restored from an older pickle
        line = (f"{time.strftime('%H:%M:%S')}  {count.get('TERMINATED', 0)}/{total} done  "
                f"{count.get('RUNNING', 0)} running  {count.get('ERROR', 0)} errors")
        reported = [t for t in trials if t.last_result and "step" in t.last_result]
        latest = max(reported, key=lambda t: t.last_result.get("timestamp", 0), default=None)
        if latest is not None and not done:
            c, r = latest.config, latest.last_result
            line += (f"  {c.get('model')} T={c.get('length')} s{c.get('seed')} step {r.get('step')} "
                     f"acc {r.get('eval_accuracy', float('nan')):.3f}")
        print(line[:79], file=self.stream or sys.stdout, flush=True)


def tuner_specs(plan: StudyPlan, verbose: int) -> list[TunerSpec]:
    """One Tuner, or one per cell where the plan's kind says so (a search's model x length)."""
    if not plan.kind_of.tuner(plan).per_cell:
        return [TunerSpec(plan, verbose=verbose)]
    cpus = float(ray.cluster_resources().get("CPU", 0))
    fits = max(1, int(cpus // plan.cpus_per_trial)) if plan.cpus_per_trial else 1
    limit = min(fits, plan.max_concurrent) if plan.max_concurrent else fits
    several = len(plan.cells) > 1
    return [TunerSpec(plan, cell=cell if several else None, verbose=verbose, max_concurrent=limit)
            for cell in plan.cells]


def _trainable(spec: TunerSpec) -> Any:
    plan, pbt = spec.plan, None
    if spec.parts.population:  # what a PBT trial needs to know (study.engine.trainable)
        params = spec.param_space
        every = pbt_interval(plan.search.settings, int(params["steps"]), int(params.get("eval_every", 1)))
        log = spec.experiment_store().uri_of(PBT_LOG) if plan.storage else \
            str(pbt_log_path(spec.results_dir / spec.name).resolve())
        pbt = {"every": every, "log": log}
    # study_folder: the study folder as an absolute path, as always; or --storage's place
    fn = tune.with_parameters(palrnn_trial, study_folder=spec.store.uri, checkpoint_every=plan.checkpoint_every,
                              threads=max(1, int(plan.cpus_per_trial)), pbt=pbt)
    return tune.with_resources(fn, {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial})


def _param_space(spec: TunerSpec) -> dict[str, Any] | None:
    """Ray's param space: the grid's axes as grid_search; None where the searcher proposes whole configs."""
    if not spec.parts.space:
        return None
    space = {k: tune.grid_search(v) if k in spec.plan.grid_axes else v for k, v in spec.param_space.items()}
    if spec.parts.population:  # Ray draws PBT's first configs from the space itself
        space.update(pbt_domains(spec.plan.search.space(str(space["model"]))))
    return space


def _run_config(spec: TunerSpec) -> tune.RunConfig:
    total = spec.parts.num_samples
    storage_path, filesystem = ray_storage(spec)
    return tune.RunConfig(
        name=spec.name, storage_path=storage_path, storage_filesystem=filesystem,
        failure_config=tune.FailureConfig(max_failures=spec.plan.max_failures),
        progress_reporter=ProgressLine(total=total if total and total > 0 else None) if spec.verbose else None,
        verbose=spec.verbose,
        # Ray adds its CSV and JSON loggers (collect reads them), not its TensorBoard one (ours subclasses it).
        callbacks=[*study_callbacks(spec), *(CALLBACKS[name](spec) for name in spec.parts.callbacks)],
    )


def ray_storage(spec: TunerSpec, experiment: bool = False) -> tuple[str, Any]:
    """(Ray's storage_path, storage_filesystem) of the folder above the experiment, or its own (``experiment``)."""
    if not spec.plan.storage:
        return str((spec.results_dir / spec.name if experiment else spec.results_dir).resolve()), None
    if experiment:
        store = spec.experiment_store()
    elif spec.cell and spec.cell.get("experiment"):
        store = spec.store.child(*Path(spec.cell["experiment"]).parent.parts)  # <name>/cells
    else:
        store = Store(spec.plan.storage)
    return (str(store.local.resolve()), None) if store.local is not None else (store.root, store.filesystem)


def searching(spec: TunerSpec) -> TunerSpec:
    """``spec`` with its kind's searcher built (``SEARCHERS``), for a scheduler or callback to work with."""
    name = spec.parts.searcher
    if spec.searcher is not None or name is None:
        return spec
    return dataclasses.replace(spec, searcher=SEARCHERS[name](spec))


def _tune_config(spec: TunerSpec, searched: bool = True) -> tune.TuneConfig:
    """``searched``: with its kind's searcher, scheduler and number of samples, if it has a searcher."""
    # reuse_actors: torch and palrnn imported once per worker, not per trial (most of Ray's per-trial overhead).
    kw: dict[str, Any] = {"trial_dirname_creator": _dirname, "reuse_actors": True}
    parts = spec.parts
    searched = searched and parts.searcher is not None
    if spec.plan.max_concurrent and not (searched and parts.per_cell):  # a cell's searcher limits its own
        kw["max_concurrent_trials"] = spec.plan.max_concurrent
    if not searched:
        return tune.TuneConfig(**kw)
    if parts.num_samples is not None:
        kw["num_samples"] = parts.num_samples
    spec = searching(spec)
    return tune.TuneConfig(search_alg=spec.searcher, scheduler=scheduler(spec), **kw)


def _dirname(trial: Any) -> str:
    return f"trial_{trial.trial_id}"


def run_tuner(spec: TunerSpec) -> Any:
    spec = searching(spec)
    tuner = tune.Tuner(_trainable(spec), param_space=_param_space(spec), tune_config=_tune_config(spec),
                       run_config=_run_config(spec))
    return _fit(spec, tuner)


# Modules a study made from the layer split (ced1942) to 629cb91 names in its tuner.pkl, since folded.
MOVED = {"study.engine.progress": "study.engine.tuner", "study.engine.logger.tensorboard": "study.engine.logger",
         "study.engine.logger.mlflow": "study.engine.logger", "study.engine.logger.common": "study.engine.logger",
         "study.engine.callbacks.frontier": "study.engine.search.frontier",
         "study.engine.schedulers.frontier": "study.engine.search.frontier"}


def find_moved() -> None:
    """Each of MOVED's old module paths names its new module, for unpickling."""
    for old, new in MOVED.items():
        sys.modules.setdefault(old, importlib.import_module(new))


def restore_tuner(spec: TunerSpec) -> Any:
    """``--resume``: running trials continue from their checkpoints, errored ones too unless the kind says not."""
    find_moved()
    path, filesystem = ray_storage(spec, experiment=True)
    tuner = tune.Tuner.restore(path, trainable=_trainable(spec), resume_unfinished=True,
                               resume_errored=spec.parts.resume_errored, param_space=_param_space(spec),
                               storage_filesystem=filesystem)
    relocate(tuner, spec)
    return _fit(spec, tuner)


def run_or_restore(spec: TunerSpec, resume: bool) -> Any:
    """The Tuner run, or restored with ``resume``; run again where the kind restarts and Ray kept no state
    (a frontier interrupted before Ray saved: every trial it ran continues from its checkpoint)."""
    again = resume and (not spec.parts.restart or can_restore(spec))
    return restore_tuner(spec) if again else run_tuner(spec)


def relocate(tuner: Any, spec: TunerSpec) -> None:
    """Point what Ray unpickled from tuner.pkl (searcher, scheduler, callbacks) at this driver's study folder,
    also where it is resumed elsewhere from --storage (Ray's Tuner.restore takes no new TuneConfig)."""
    internal = getattr(tuner, "_local_tuner", None)
    if internal is None:  # not a Tuner as Ray 2.60 builds it: nothing of ours to point
        return
    search, folder = internal._tune_config.search_alg, spec.study_folder.resolve()
    for part in [search, getattr(search, "searcher", None), internal._tune_config.scheduler,
                 *(internal._run_config.callbacks or [])]:
        if hasattr(part, "relocate"):
            part.relocate(folder)


def _fit(spec: TunerSpec, tuner: Any) -> Any:
    """``tuner.fit()``; then, unless interrupted, ``finish_short`` where no scheduler stops trials short (a grid)."""
    results, interrupted = fit_noting_interrupt(tuner)
    if not interrupted and not spec.plan.kind_of.scheduled:
        finish_short(spec, results)
    return results


def fit_noting_interrupt(tuner: Any) -> tuple[Any, bool]:
    """``tuner.fit()`` and whether a Ctrl-C ended it. Ray Tune sets its own SIGINT handler for the run and
    on the first signal stops the run and puts back the handler it found: this one, answering as Python."""
    if threading.current_thread() is not threading.main_thread():
        return tuner.fit(), False  # no signal handler can be set here, nor by Ray
    before = signal.getsignal(signal.SIGINT)

    def later(signum: int, frame: Any) -> Any:
        handler = before if callable(before) else signal.default_int_handler
        return handler(signum, frame)

    signal.signal(signal.SIGINT, later)
    try:
        results = tuner.fit()
        # Ray's handler still in place: no Ctrl-C. (With TUNE_DISABLE_SIGINT_HANDLER=1 Ray sets none,
        # and every run reads as interrupted: nothing more is started on its own, the safe side.)
        return results, signal.getsignal(signal.SIGINT) is later
    finally:
        signal.signal(signal.SIGINT, before)


def finish_short(spec: TunerSpec, results: Any) -> int:
    """Run to their end, in one Tuner (``finished/``) each from its checkpoint, the trials Ray holds
    TERMINATED short of their steps that nothing stopped on purpose (a grid's, when the study was stopped:
    a restored experiment never starts a TERMINATED trial again). Returns how many."""
    def unfinished(config: dict[str, Any], last: dict[str, Any]) -> bool:
        row = {**last, "status": "TERMINATED", "steps": config.get("steps")}
        return stopped_by(row, scheduled=False) == "unfinished"

    short = []
    for trial in ray_trials(results):
        config = dict(trial.config or {})
        if not config or trial.status != "TERMINATED":
            continue
        # A trial saves its last record before reporting it: if Ray's last result says it ended, it did (no
        # checkpoint read: every grid's trials come here); else its checkpoint's last record, or Ray's result.
        last = dict(trial.last_result or {})
        if unfinished(config, last) and unfinished(config, (saved_curve(spec.store, config) or [last])[-1]):
            short.append(config)
    if not short:
        return 0
    # Each config once: Ray's points to evaluate, over a space that holds every value they take.
    space: dict[str, Any] = {}
    for key in short[0]:
        values = [c.get(key) for c in short]
        space[key] = values[0] if all(v == values[0] for v in values) else tune.choice(
            [v for i, v in enumerate(values) if v not in values[:i]])
    tune_config = dataclasses.replace(_tune_config(spec, searched=False), num_samples=len(short),
                                      search_alg=tune.search.BasicVariantGenerator(points_to_evaluate=short))
    store = spec.store  # Ray's experiment finished/ beside the checkpoints
    run_config = dataclasses.replace(_run_config(spec), name=FINISHED, storage_path=(
        str(store.local.resolve()) if store.local is not None else store.root))
    tune.Tuner(_trainable(spec), param_space=space, tune_config=tune_config, run_config=run_config).fit()
    return len(short)


def can_restore(spec: TunerSpec) -> bool:
    """Whether Ray kept a state of the experiment (in --storage where it has one)."""
    where, filesystem = ray_storage(spec, experiment=True)
    return tune.Tuner.can_restore(where, storage_filesystem=filesystem)


def experiment_state_damage(study_folder: str | Path) -> str | None:
    """Why Ray's latest experiment state in the folder cannot be read (a full disk cuts it short: Ray
    copies it without a temporary file), or None."""
    if not (states := sorted(Path(study_folder).glob("experiment_state-*.json"))):
        return None
    try:
        json.loads(states[-1].read_text())
    except (OSError, ValueError) as exc:
        return f"{states[-1].name}: {str(exc).splitlines()[0]}"
    return None


def collect(results: Any, config_columns: list[str], study_folder: str | Path | Store | None = None,
            scheduled: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ray's ResultGrid -> (trials, curves), a trial's curve its checkpoint's where it has one (Ray's log of
    its results lacks what a driver killed outright never saw)."""
    entries = []
    held = {t.trial_id: t for t in ray_trials(results)}
    for result in results:
        last = result.metrics or {}
        trial_id = Path(result.path).name.removeprefix("trial_")
        trial = held.get(trial_id)
        # A trial that never reported (it ran in finish_short's Tuner) may have a checkpoint: Ray's Trial's config.
        config = result.config or dict(getattr(trial, "config", None) or {})
        saved = saved_curve(study_folder, config, trial_id) if study_folder is not None and config else None
        if saved:
            df = pd.DataFrame(saved)
            if int(df["step"].max()) >= int(last.get("step") or 0):
                last = {**last, **saved[-1]}
        else:
            df = result.metrics_dataframe
        if "step" not in last and result.error is None:
            continue  # never started (an interrupted study): nothing to tabulate yet
        error = None if result.error is None else str(result.error).strip().splitlines()[-1][:200]
        entries.append((trial_id, config, last, df, getattr(trial, "status", "TERMINATED"), error))
    return trial_tables(entries, config_columns, scheduled)


def ray_trials(results: Any) -> list[Any]:
    """Ray's Trial objects of a ResultGrid (status; config before a first result), on its analysis object."""
    return list(getattr(getattr(results, "_experiment_analysis", None), "trials", None) or [])
