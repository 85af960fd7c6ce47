"""Population Based Training (Ray Tune's synchronous ``PopulationBasedTraining``; docs/search.md), each
random draw seeded by the search seed, step and member, each decision in the decision log before Ray acts
on it. Restored as it was pickled at the start (tuner.pkl), the scheduler takes its place in the rounds and
each trial's config back from the log as Ray adds the trials again."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import PopulationBasedTraining
from ray.tune.search import BasicVariantGenerator

from study.basics.layout import PBT_LOG
from study.engine.trainable import mirror_log
from study.results.pbt import append_log, decision, last_round, log_path, member, read_log
from study.spec.search import interval, perturbed

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec

RESAMPLE_PROBABILITY = 0.25
QUANTILE = 0.25


def domains(space: dict[str, Any]) -> dict[str, Any]:
    """The search space as Ray Tune's distributions (PBT's first configs, and its resampling)."""
    return {name: tune.choice(list(values)) if kind == "choice" else tune.uniform(*values) if kind == "uniform"
            else tune.loguniform(*values) if kind == "loguniform" else tune.randint(values[0], values[1] + 1)
            for name, (kind, values) in space.items()}


def pbt_searcher(spec: TunerSpec) -> BasicVariantGenerator:
    """The population's first configs, drawn by Ray (which refuses a searcher beside PBT), seeded; all
    at once: PBT compares every member at each round, and pauses those the cluster cannot fit."""
    return BasicVariantGenerator(random_state=spec.plan.search.settings.seed, max_concurrent=0)


class StudyPBT(PopulationBasedTraining):
    def __init__(self, log: Path, seed: int, space: dict[str, Any], mirror: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self._log, self._seed, self._space = Path(log), seed, space
        self._mirror = mirror  # --storage: the log's copy there, which members on every node read

    def relocate(self, study_folder: Path) -> None:  # ``tuner.relocate``
        self._log = log_path(study_folder)

    def _append(self, entry: dict[str, Any]) -> None:
        """One entry in the log, and in its copy in the storage, before Ray acts on it."""
        append_log(self._log, entry)
        mirror_log(self._log, getattr(self, "_mirror", None))  # a scheduler pickled before --storage: none

    def _draws(self, step: int, who: int) -> None:
        key = f"{self._seed}/{step}/{who}"
        random.seed(key)
        np.random.seed(int.from_bytes(hashlib.sha1(key.encode()).digest()[:4], "big"))  # hash() differs by process

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        super().on_trial_add(tune_controller, trial)
        log = read_log(self._log)
        if (done := last_round(log)) is None:  # a new study: the whole population is added before its first round
            return
        # A restored study: this trial is where the log's last round left it, with its config then.
        state = self._trial_state[trial]
        state.last_perturbation_time = state.last_train_time = done
        self._next_perturbation_sync = max(self._next_perturbation_sync, done + self._perturbation_interval)
        if mine := [e for e in log if e.get("member") == member(trial.trial_id)]:
            trial.set_config({**trial.config, **mine[-1]["config"]})

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        before = self._next_perturbation_sync
        out = super().on_trial_result(tune_controller, trial, result)
        if self._next_perturbation_sync != before:  # every trial got there: a round was decided
            self._append({"round": int(result[self._time_attr])})
        return out

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        """Ray's choice; where none is left because every live trial waits at the round while the trial
        that would have completed it ended instead (at the target, or diverged), the round is decided
        here: Ray's synchronous PBT decides a round only on a result, and would wait for ever."""
        if (chosen := super().choose_trial_to_run(tune_controller)) is not None:
            return chosen
        live = list(tune_controller.get_live_trials())
        waiting = [t for t in live if t.status in (Trial.PAUSED, Trial.PENDING)]
        if not waiting or len(waiting) < len(live) or any(
                self._trial_state[t].last_train_time < self._next_perturbation_sync for t in waiting):
            return None
        self._round(tune_controller)
        return super().choose_trial_to_run(tune_controller)

    def _round(self, tune_controller: Any) -> None:
        """As Ray's synchronous PBT decides a round in ``on_trial_result`` when the last trial gets there."""
        step = self._next_perturbation_sync
        lower, upper = self._quantiles()
        middle = [t for t in tune_controller.get_trials() if t not in lower and t not in upper]
        for t in upper + middle + lower:
            self._trial_state[t].last_perturbation_time = step
            self._checkpoint_or_exploit(t, tune_controller, upper, lower)
        times = [self._trial_state[t].last_train_time for t in tune_controller.get_trials()]
        self._next_perturbation_sync = max(self._next_perturbation_sync + self._perturbation_interval, max(times))
        self._append({"round": int(step)})

    def _checkpoint_or_exploit(self, trial: Any, tune_controller: Any, upper: list[Any], lower: list[Any]) -> None:
        self._draws(int(self._trial_state[trial].last_train_time), member(trial.trial_id))
        super()._checkpoint_or_exploit(trial, tune_controller, upper, lower)

    def _get_new_config(self, trial: Any, trial_to_clone: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        step, who = int(self._trial_state[trial].last_train_time), member(trial.trial_id)
        logged = decision(read_log(self._log), who, step)
        if logged is not None:  # decided before the driver was stopped: decided again the same
            return {**trial_to_clone.config, **logged["config"]}, {}
        new, operations = super()._get_new_config(trial, trial_to_clone)
        for name in self._hyperparam_mutations:
            new[name] = inside(self._space[name], new[name])
        self._append({"step": step, "member": who, "from": member(trial_to_clone.trial_id),
                               "config": {k: new[k] for k in self._space if k in new}})
        return new, operations


def inside(dist: tuple[str, Any], value: Any) -> Any:
    """A perturbed value kept within its distribution's bounds (Ray's factors of 0.8 and 1.2 can leave it)."""
    kind, values = dist
    if kind == "choice" or value is None:
        return value
    low, high = values
    value = min(max(value, low), high)
    return int(round(value)) if kind == "int" else float(value)


def mutation(dist: tuple[str, Any]) -> Any:
    """How Ray's PBT changes a field: a choice's list (shifted one place either way), else its distribution."""
    return list(dist[1]) if dist[0] == "choice" else domains({"x": dist})["x"]


def pbt(spec: TunerSpec) -> StudyPBT:
    search = spec.plan.search
    steps, every = int(spec.param_space["steps"]), int(spec.param_space.get("eval_every", 1))
    space = search.space(str(spec.param_space["model"]))
    fields = [f for f in perturbed(search.settings) if f in space]
    return StudyPBT(log_path(spec.results_dir / spec.name), search.settings.seed, space,
                    mirror=spec.experiment_store().uri_of(PBT_LOG) if spec.plan.storage else None,
                    time_attr="step", metric=search.settings.metric, mode=search.settings.mode,
                    perturbation_interval=interval(search.settings, steps, every),
                    hyperparam_mutations={f: mutation(space[f]) for f in fields},
                    quantile_fraction=QUANTILE, resample_probability=RESAMPLE_PROBABILITY, synch=True,
                    log_config=False)  # its decisions are in pbt/decisions.json
