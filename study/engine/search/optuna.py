"""A search's searcher: Ray Tune's OptunaSearch (``ray.tune.search.Searcher``), as a study uses it."""

from __future__ import annotations

import logging
import math
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState
from ray.tune.search import ConcurrencyLimiter, Searcher
from ray.tune.search.optuna import OptunaSearch
from ray.tune.utils.util import unflatten_dict

from study.results.trials import RECORDED, stopped_by
from study.spec.objectives import NOT_PER_EVALUATION
from study.spec.space import Dist

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec


class PalrnnOptunaSearch(OptunaSearch):
    """Ray's OptunaSearch, recording intermediate values at the training step (Ray's report count starts
    again when a trial restarts) and the user attributes of docs/watching.md; what Optuna learns is the same.
    A driver killed outright leaves the journal ahead of Ray's saved state: restored, the searcher gives the
    journal's trials Ray does not know, params and all, to the first new Ray trials (``suggest``), which
    continue from their checkpoints: each trial once in the journal and trials.csv, num_samples kept. One
    Ray holds as running that the journal had finished reports again: the journal keeps its record."""

    def save(self, checkpoint_path: str) -> None:
        """With --storage, the journal copied there first (``mirror``, a Store): the copy a resume on
        another machine reads (``study.planning.build.fetch_state``) knows every trial the saved searcher names."""
        mirror, journal = getattr(self, "mirror", None), journal_file(self._ot_study)
        if mirror is not None and journal is not None and Path(journal).is_file():
            data = Path(journal).read_bytes()
            mirror.write(Path(journal).name, data[:data.rfind(b"\n") + 1])  # Optuna's whole lines
        super().save(checkpoint_path)

    def relocate(self, study_folder: Path) -> None:
        """The journal in ``study_folder`` (``tuner.relocate``), also once ``restore`` has put back
        the Optuna study Ray saved, whose storage names the first driver's folder."""
        if (journal := journal_file(self._ot_study)) is not None:
            self._journal_here = str(study_folder / Path(journal).name)

    def restore(self, checkpoint_path: str) -> None:
        here = getattr(self, "_journal_here", None)
        super().restore(checkpoint_path)  # the searcher's __dict__ as Ray saved it
        self._orphans: list[Any] | None = None  # found at the first suggest
        if here is not None and journal_file(self._ot_study) != here:
            self._journal_here = here
            self._reopen(here)

    def _reopen(self, journal: str) -> None:
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
        old = self._ot_study
        self._ot_study = optuna.load_study(study_name=old.study_name, storage=storage, sampler=old.sampler)
        self._storage = storage
        self._ot_trials = {tid: optuna.trial.Trial(self._ot_study, t._trial_id) for tid, t in self._ot_trials.items()}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if trial_id not in self._ot_trials and not callable(self._space):
            if (orphan := self._next_orphan()) is not None:
                self._ot_trials[trial_id] = optuna.trial.Trial(self._ot_study, orphan._trial_id)
                return unflatten_dict(dict(orphan.params))
        return super().suggest(trial_id)

    def _next_orphan(self) -> Any:
        """The next journal trial no Ray trial holds (only in a restored searcher)."""
        if not hasattr(self, "_orphans"):
            return None
        if self._orphans is None:
            held = {t.number for t in self._ot_trials.values()}
            states = (TrialState.RUNNING, TrialState.COMPLETE)
            self._orphans = [t for t in self._ot_study.get_trials(deepcopy=False, states=states)
                             if t.number not in held]
        return self._orphans.pop(0) if self._orphans else None

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if isinstance(self.metric, list) or trial_id in self._completed_trials or result.get("step") is None:
            return super().on_trial_result(trial_id, result)
        self._report(trial_id, result)

    def _report(self, trial_id: str, result: dict[str, Any]) -> None:
        if result.get(self.metric) is None or result.get("step") is None:
            return
        trial = self._ot_trials[trial_id]
        # A trial that ended after Ray last saved the searcher, its driver then killed, is finished in the
        # journal, yet continued on resume: the journal keeps its record (Optuna refuses to update it).
        if trial.storage.get_trial(trial._trial_id).state.is_finished():
            return
        with warnings.catch_warnings():  # a restarted trial reports a step again: Optuna keeps the first
            warnings.simplefilter("ignore")
            trial.report(result[self.metric], int(result["step"]))

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is not None and trial_id not in self._completed_trials:
            last = result or {}
            steps = last.get("config/steps", (last.get("config") or {}).get("steps"))  # Ray flattens the result
            row = {"status": "ERROR" if error else "TERMINATED", **{k: last.get(k) for k in RECORDED}, "steps": steps}
            try:
                # The result that ends a trial (its last, or ASHA's cut) reaches the searcher only here.
                if not isinstance(self.metric, list):
                    self._report(trial_id, last)
                ot_trial.set_user_attr("ray_trial_id", trial_id)
                ot_trial.set_user_attr("stopped_by", stopped_by(row))
                if last.get("step") is not None:
                    ot_trial.set_user_attr("step", int(last["step"]))
            except Exception as exc:  # never lose the result for an attribute
                logging.getLogger(__name__).warning("optuna: %s", exc)
        super().on_trial_complete(trial_id, result=self._valued(result), error=error)

    def _valued(self, result: dict[str, Any] | None) -> dict[str, Any] | None:
        """A trial that never reached the target took, to Optuna, infinitely many steps (the worst
        value its direction allows): a missing value would leave it PRUNED, out of the Pareto front."""
        if not result:
            return result
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        modes = self.mode if isinstance(self.mode, list) else [self.mode]
        gaps = {m: math.inf if d == "min" else -math.inf for m, d in zip(metrics, modes, strict=True)
                if m in NOT_PER_EVALUATION and result.get(m) is None}
        return {**result, **gaps} if gaps else result


def journal_file(study: Any) -> str | None:
    """The file of an Optuna study's journal storage (Optuna 5's JournalStorage and JournalFileBackend), or None."""
    part = getattr(study, "_storage", None)
    for _ in range(3):  # a cache over the storage, the storage over its backend
        if hasattr(part, "_file_path"):
            return str(part._file_path)
        part = getattr(part, "_backend", None)
    return None


class StudyConcurrencyLimiter(ConcurrencyLimiter):
    """Ray's ConcurrencyLimiter forgets on restore which trials were live, and would keep a restored
    trial's end from its searcher: here an end the searcher waits for reaches it."""

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        inner = self.searcher
        waiting = (trial_id not in self.live_trials and trial_id in getattr(inner, "_ot_trials", {})
                   and trial_id not in getattr(inner, "_completed_trials", {trial_id}))
        (inner if waiting else super()).on_trial_complete(trial_id, result=result, error=error)


def optuna_space(space_: dict[str, Dist]) -> dict[str, Any]:
    d = optuna.distributions
    return {name: d.CategoricalDistribution(values) if kind == "choice" else
            d.IntDistribution(int(values[0]), int(values[1])) if kind == "int" else
            d.FloatDistribution(values[0], values[1], log=kind == "loguniform")
            for name, (kind, values) in space_.items()}


def optuna_sampler(name: str, seed: int) -> Any:
    """Optuna's sampler ``name`` (``study.spec.fields.SAMPLERS``), seeded. CMA-ES and quasi-Monte
    Carlo leave a mixed space's choices to Optuna's independent (random) sampling, seeded too."""
    with warnings.catch_warnings():  # QMC and GP are "experimental" in Optuna: the choice is the user's
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        s = optuna.samplers
        if name in ("cmaes", "qmc"):
            cls = s.CmaEsSampler if name == "cmaes" else s.QMCSampler
            return cls(seed=seed, independent_sampler=s.RandomSampler(seed=seed), warn_independent_sampling=False)
        if name == "nsga2":
            sampler = s.NSGAIISampler(seed=seed)
            if hasattr(sampler, "_thread_lock"):  # Optuna 5.1's genetic samplers hold a lock Ray cannot pickle
                sampler._thread_lock = PicklableLock()
            return sampler
        classes = {"tpe": "TPESampler", "random": "RandomSampler", "gp": "GPSampler"}
        if name not in classes:
            raise ValueError(f"unknown sampler {name!r}")
        return getattr(s, classes[name])(seed=seed)


class PicklableLock:
    """A ``threading.Lock`` that pickles as a new, unheld lock. Optuna 5.1's NSGA-II sampler keeps a
    lock, which Ray must pickle with the searcher (tuner.pkl, and its saved state for --resume)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:  # acquire, release, locked
        return getattr(self._lock, name)

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()


def optuna_searcher(spec: TunerSpec) -> Searcher:
    """The plan's Optuna sampler, seeded, over the cell's space, its trials in the study's journal (one
    Optuna study per cell), as many at once as ``spec.max_concurrent``."""
    search = spec.plan.search
    cell = spec.search_cell
    s = search.settings
    journal = optuna.storages.journal.JournalFileBackend(str(spec.study_folder.resolve() / search.storage))
    # Several objectives: Ray's OptunaSearch takes them as lists, and Optuna searches them all.
    metric: Any = [m for m, _ in s.objectives] if s.more else s.metric
    mode: Any = [d for _, d in s.objectives] if s.more else s.mode
    searcher = PalrnnOptunaSearch(space=optuna_space(search.space(cell["model"])), metric=metric, mode=mode,
                                  sampler=optuna_sampler(s.sampler, s.seed),
                                  study_name=cell.get("study_name", "palrnn"),
                                  storage=optuna.storages.JournalStorage(journal))
    # The journal names the sampler and seed that chose its trials (a resume restores them with Ray's state).
    searcher._ot_study.set_user_attr("sampler", s.sampler)
    searcher._ot_study.set_user_attr("sampler_seed", s.seed)
    searcher.mirror = spec.store if spec.plan.storage else None  # where save() copies the journal
    return StudyConcurrencyLimiter(searcher, max_concurrent=spec.max_concurrent)
