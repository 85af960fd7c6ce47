"""A plan's Ray Tuners: built, run and restored (their results become the study's tables in
``study.engine.collect``).

A study's kind names its Tuners' parts (``study.planning.kinds.TunerParts``), looked up in the
engine's registries (``SEARCHERS``, ``SCHEDULERS``, ``CALLBACKS``): one Tuner, or one per model x
length cell (a search), and how --resume restores it. Trials keep their checkpoints themselves
(``study.results.checkpoints`` says why). With --storage, the trials' checkpoints, PBT's states
and Ray's own experiment live in that storage, under the study's name."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray import tune

from study.basics.layout import FINISHED, PBT_LOG
from study.basics.store import Store
from study.engine.callbacks import CALLBACKS
from study.engine.collect import ray_trials
from study.engine.logger.callbacks import study_callbacks
from study.engine.progress import ProgressLine
from study.engine.schedulers import scheduler
from study.engine.schedulers.pbt import domains as pbt_domains
from study.engine.search import SEARCHERS
from study.engine.session import cluster_cpus
from study.engine.spec import TunerSpec
from study.engine.trainable import palrnn_trial
from study.results.checkpoints import saved_curve
from study.results.pbt import log_path as pbt_log_path
from study.spec.search import interval as pbt_interval

if TYPE_CHECKING:
    from study.planning.plan import StudyPlan


def tuner_specs(plan: StudyPlan, verbose: int) -> list[TunerSpec]:
    """The Ray Tuners of a plan: one, or one per cell where its kind says so (a search's model x length)."""
    if not plan.kind_of.tuner(plan).per_cell:
        return [TunerSpec(plan, verbose=verbose)]
    fits = max(1, int(cluster_cpus() // plan.cpus_per_trial)) if plan.cpus_per_trial else 1
    limit = min(fits, plan.max_concurrent) if plan.max_concurrent else fits
    several = len(plan.cells) > 1
    return [TunerSpec(plan, cell=cell if several else None, verbose=verbose, max_concurrent=limit)
            for cell in plan.cells]


def _trainable(spec: TunerSpec) -> Any:
    plan = spec.plan
    folder = spec.store.uri  # the study folder as an absolute path, as always; or --storage's place
    fn = tune.with_parameters(palrnn_trial, study_folder=folder, checkpoint_every=plan.checkpoint_every,
                              threads=max(1, int(plan.cpus_per_trial)), pbt=_pbt_settings(spec))
    return tune.with_resources(fn, {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial})


def _pbt_settings(spec: TunerSpec) -> dict[str, Any] | None:
    """What a PBT trial needs to know (study.engine.trainable), or None where its trials are no population."""
    if not spec.parts.population:
        return None
    search, params = spec.plan.search, spec.param_space
    assert search is not None
    every = pbt_interval(search.settings, int(params["steps"]), int(params.get("eval_every", 1)))
    log = spec.experiment_store().uri_of(PBT_LOG) if spec.plan.storage else \
        str(pbt_log_path(spec.results_dir / spec.name).resolve())
    return {"every": every, "log": log}


def _param_space(spec: TunerSpec) -> dict[str, Any] | None:
    """Ray's param space: the grid's axes as grid_search; None where the searcher proposes whole configs."""
    parts = spec.parts
    if not parts.space:
        return None
    space = {k: tune.grid_search(v) if k in spec.plan.grid_axes else v for k, v in spec.param_space.items()}
    if parts.population:  # Ray draws PBT's first configs from the space itself
        assert spec.plan.search is not None
        space.update(pbt_domains(spec.plan.search.space(str(space["model"]))))
    return space


def _run_config(spec: TunerSpec) -> tune.RunConfig:
    """Ray's run settings; ``spec``'s searcher built where its kind's callbacks work with it."""
    total = spec.parts.num_samples
    reporter = ProgressLine(total=total if total and total > 0 else None) if spec.verbose else None
    storage_path, filesystem = ray_storage(spec)
    return tune.RunConfig(
        name=spec.name,
        storage_path=storage_path,
        storage_filesystem=filesystem,
        failure_config=tune.FailureConfig(max_failures=spec.plan.max_failures),
        progress_reporter=reporter,
        verbose=spec.verbose,
        # Ray adds its CSV and JSON loggers itself (collect() reads them); its TensorBoard logger
        # is replaced by TensorBoardCallback (a subclass, so Ray does not add its own).
        callbacks=[*study_callbacks(spec), *(CALLBACKS[name](spec) for name in spec.parts.callbacks)],
    )


def ray_storage(spec: TunerSpec, experiment: bool = False) -> tuple[str, Any]:
    """(Ray's storage_path, its storage_filesystem) for this Tuner: the folder above its experiment
    (with ``experiment``: the experiment's own folder), on --storage's file system, else on this
    machine's (None: Ray's default)."""
    if not spec.plan.storage:
        folder = spec.results_dir / spec.name if experiment else spec.results_dir
        return str(folder.resolve()), None
    if experiment:
        store = spec.experiment_store()
    elif spec.cell and spec.cell.get("experiment"):
        store = spec.store.child(*Path(spec.cell["experiment"]).parent.parts)  # <name>/cells
    else:
        store = Store(spec.plan.storage)
    return (str(store.local.resolve()), None) if store.local is not None else (store.root, store.filesystem)


def searching(spec: TunerSpec) -> TunerSpec:
    """``spec`` with its kind's searcher built (``SEARCHERS``), where it has one."""
    name = spec.parts.searcher
    if spec.searcher is not None or name is None:
        return spec
    return dataclasses.replace(spec, searcher=SEARCHERS[name](spec))


def _tune_config(spec: TunerSpec, searched: bool = True) -> tune.TuneConfig:
    """``searched``: with its kind's searcher, scheduler and number of samples, if it has a searcher."""
    # reuse_actors: a new trial runs in the finished trial's worker process, so torch and palrnn
    # are imported once per worker, not once per trial (most of Ray's per-trial overhead).
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


def restore_tuner(spec: TunerSpec) -> Any:
    """Continue an interrupted Tuner (``--resume``): Ray restores its searcher and scheduler with
    their state; trials that were running continue from their checkpoints, and those that ended
    in an error too unless its kind says not (a frontier counted them as not solved)."""
    path, filesystem = ray_storage(spec, experiment=True)
    tuner = tune.Tuner.restore(path, trainable=_trainable(spec), resume_unfinished=True,
                               resume_errored=spec.parts.resume_errored, param_space=_param_space(spec),
                               storage_filesystem=filesystem)
    relocate(tuner, spec)
    return _fit(spec, tuner)


def run_or_restore(spec: TunerSpec, resume: bool) -> Any:
    """The Tuner run, or restored with ``resume``; a study whose kind starts again where Ray kept no
    state of it (a frontier interrupted before Ray saved: every trial it ran continues from its checkpoint)."""
    again = resume and (not spec.parts.restart or can_restore(spec))
    return restore_tuner(spec) if again else run_tuner(spec)


def relocate(tuner: Any, spec: TunerSpec) -> None:
    """Point what Ray unpickled from tuner.pkl with the first driver's study folder in it (the
    searcher, the scheduler, the logger callbacks) at this driver's study folder: the same one,
    or another where the study is resumed on another machine from --storage (``relocate`` of
    each; Ray's Tuner.restore takes no new TuneConfig or RunConfig)."""
    internal = getattr(tuner, "_local_tuner", None)
    if internal is None:  # not a Tuner as Ray 2.60 builds it: nothing of ours to point
        return
    search, folder = internal._tune_config.search_alg, spec.study_folder.resolve()
    parts = [search, getattr(search, "searcher", None), internal._tune_config.scheduler,
             *(internal._run_config.callbacks or [])]
    for part in parts:
        if hasattr(part, "relocate"):
            part.relocate(folder)


def _fit(spec: TunerSpec, tuner: Any) -> Any:
    """``tuner.fit()``; then, unless it was interrupted, a grid's trials that Ray holds TERMINATED
    short of their steps are run to their end (``finish_short``): a kind whose scheduler never
    stops a trial short (a grid's)."""
    results, interrupted = fit_noting_interrupt(tuner)
    if not interrupted and not spec.plan.kind_of.scheduled:
        finish_short(spec, results)
    return results


def fit_noting_interrupt(tuner: Any) -> tuple[Any, bool]:
    """``tuner.fit()`` and whether a Ctrl-C (SIGINT) ended it. Ray Tune puts its own SIGINT handler
    in place for the run, and on the first signal stops the run and puts back the handler it found:
    this one, which answers a later Ctrl-C as Python does."""
    import signal
    import threading

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
    """Run to their end the trials Ray holds TERMINATED short of their steps with nothing that stopped
    them on purpose (a grid's, when the study was stopped: a restored experiment never starts a
    TERMINATED trial again), in one Tuner (``finished/``), each from its own checkpoint. Returns how many."""
    from study.results.trials import stopped_by

    def unfinished(config: dict[str, Any], last: dict[str, Any]) -> bool:
        row = {**last, "status": "TERMINATED", "steps": config.get("steps")}
        return stopped_by(row, scheduled=False) == "unfinished"

    short = []
    for trial in ray_trials(results):
        config = dict(trial.config or {})
        if not config or trial.status != "TERMINATED":
            continue
        # A trial saves its last record before it reports it: when Ray's last result says it
        # ended, it did, and its checkpoint is not read (every trial of every grid comes here).
        # Else where it got to is its checkpoint's last record, or Ray's result, or nowhere.
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


def can_restore(path: Path | TunerSpec) -> bool:
    """Whether Ray kept a state of the experiment (a TunerSpec's: in --storage where it has one)."""
    if isinstance(path, TunerSpec):
        where, filesystem = ray_storage(path, experiment=True)
        return tune.Tuner.can_restore(where, storage_filesystem=filesystem)
    return tune.Tuner.can_restore(str(path.resolve()))


def experiment_state_damage(study_folder: str | Path) -> str | None:
    """Why Ray's latest experiment state in the folder cannot be read (a full disk cuts it short:
    Ray copies it without a temporary file), or None when it reads."""
    states = sorted(Path(study_folder).glob("experiment_state-*.json"))
    if not states:
        return None
    try:
        json.loads(states[-1].read_text())
    except (OSError, ValueError) as exc:
        return f"{states[-1].name}: {str(exc).splitlines()[0]}"
    return None
