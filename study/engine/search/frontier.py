"""The memory frontier on Ray (docs/frontier.md): ``FrontierSearcher`` (a ``Searcher``) proposes its
seeds, ``FrontierScheduler`` stops those whose probe is decided, ``FrontierCallback`` reconciles a
resumed driver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray import tune
from ray.tune.utils import flatten_dict

from palrnn.config import Config
from study.basics.io import write_csv_atomic, write_json_atomic, write_text_atomic
from study.frontier import table as fr
from study.frontier.options import check_frontier_options, frontier_cells
from study.frontier.probe import RUNNING, STOPPED, Trial
from study.frontier.search import Frontier

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec


class FrontierSearcher(tune.search.Searcher):
    """Proposes the configs ``study.frontier.Frontier`` asks for (None while nothing can launch) and records
    each seed: solved at its first result with a ``steps_to_target``, not solved when it ends without one
    or errs, stopped (not counted) before its end. ``frontier/state.json`` is rewritten on every change."""

    CKPT_FILE_TMPL = "frontier-searcher-{}.json"

    def __init__(self, frontier: Any, study_folder: str | Path | None = None) -> None:
        super().__init__(metric=None, mode=None)
        self.frontier = frontier
        self.trials: dict[str, list[int]] = {}  # Ray trial id -> [cell, length, seed], while it runs
        self.folder = None if study_folder is None else str(study_folder)
        self._restored = False  # restore() ran: a resumed driver (pickled False in tuner.pkl)
        self.replay: list[list[int]] = []  # finished seeds that Ray's restored state lacks (reconcile)

    def relocate(self, study_folder: Path) -> None:  # ``tuner.relocate``; ``set_state`` keeps it
        self.folder = str(study_folder)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the Frontier makes every config; there is no search space to take

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.replay:  # a finished or stopped seed's trial again: it reports its checkpoint (a stopped one stops)
            key = self.replay.pop(0)
            self.trials[trial_id] = key
            return self.frontier.config(Trial(*key))
        nxt = self.frontier.next_trial()
        if not isinstance(nxt, Trial):
            return None if nxt is None else tune.search.Searcher.FINISHED
        self.trials[trial_id] = list(nxt)
        self._changed(table=False)
        return self.frontier.config(nxt)

    def _key(self, trial_id: str, result: dict[str, Any] | None = None) -> Any:
        if (key := self.trials.get(trial_id)) is not None:
            return Trial(*key)
        result = result or {}
        config = result.get("config") or {k[7:]: v for k, v in result.items() if k.startswith("config/")}
        return self.frontier.trial_of(config) if config else None

    def observe(self, trial_id: str, result: dict[str, Any]) -> None:
        key = self._key(trial_id, result)
        steps = result.get("steps_to_target")
        if key is not None and steps is not None and self.frontier.seed_state(key) == RUNNING:
            self.frontier.record(*key, solved=True, steps_to_target=steps)
            self._changed()

    def should_stop(self, trial_id: str, result: dict[str, Any] | None = None) -> bool:
        """A seed still running in a decided or moot probe, or the replay of a seed stopped so before
        (``reconcile``). A seed already solved runs on to its own end (palrnn's patience)."""
        key = self._key(trial_id, result)
        state = None if key is None else self.frontier.seed_state(key)
        return state == STOPPED or (state == RUNNING and self.frontier.decided(key.cell, key.length))

    on_trial_result = observe

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        key = self._key(trial_id, result)
        self.trials.pop(trial_id, None)
        if key is None:
            return
        result = result or {}
        steps = result.get("steps_to_target")
        if error:
            self.frontier.record(*key, solved=False, error=True)
        elif steps is not None:
            self.frontier.record(*key, solved=True, steps_to_target=steps)
        elif self._ended(key, result):
            self.frontier.record(*key, solved=False)
        else:  # stopped before its end: its probe was decided (or Ray stopped it: launched again)
            self.frontier.stop(*key)
        self._changed()

    def _ended(self, key: Any, result: dict[str, Any]) -> bool:  # diverged, stopped early, or its steps spent
        budget = int(self.frontier.config(key).get("steps", Config().steps))
        return bool(result.get("diverged") or result.get("stopped_early")) or int(result.get("step") or 0) >= budget

    def reconcile(self, trials: list[Any]) -> None:
        """Match the Frontier with the trials Ray holds when a driver starts (docs/frontier.md, Resuming)."""
        if self._restored or trials:
            self._load_newer_state()
        held = {t.trial_id: t for t in trials}
        for trial_id, key in list(self.trials.items()):
            if (t := held.get(trial_id)) is None:
                self.trials.pop(trial_id)
                self.frontier.release(*key)
            elif t.status == "TERMINATED":
                self.on_trial_complete(trial_id, flatten_dict(dict(t.last_result or {})))
            elif t.status == "ERROR":
                self.on_trial_complete(trial_id, error=True)
        seen = set()  # the seeds of the trials Ray holds, besides those in self.trials
        for t in trials:
            if t.trial_id in self.trials:
                continue
            if (key := self.frontier.trial_of(t.config or {})) is None:
                continue
            seen.add(tuple(key))
            if t.status in ("PENDING", "RUNNING", "PAUSED"):
                if self.frontier.adopt(*key):
                    self.trials[t.trial_id] = list(key)
            elif t.status == "TERMINATED" and self.frontier.seed_state(key) is None:
                self.on_trial_complete(t.trial_id, flatten_dict(dict(t.last_result or {})))
        mine = {tuple(k) for k in self.trials.values()}
        for key in self.frontier.running():  # running in the Frontier, but no trial of Ray's
            if tuple(key) not in mine:
                self.frontier.release(*key)
        # A seed ended or stopped after Ray last saved (a killed driver) is in the Frontier, not in Ray's trials or
        # the tables: it runs once more from its checkpoint (a stopped one is stopped at its first result).
        replayed = self.frontier.ended() + self.frontier.stopped()
        self.replay = [list(k) for k in replayed if tuple(k) not in seen | mine]
        self._changed()

    def _load_newer_state(self) -> None:
        """frontier/state.json, where it is further on than Ray's restored state (Ray copies its
        state to the study folder only every few minutes; this file is written on every change)."""
        try:
            state = json.loads((Path(self.folder) / fr.FILE).read_text()) if self.folder else None
            newer = Frontier.from_dict(state) if state else None
        except (OSError, ValueError, KeyError, TypeError):
            return
        if newer is not None and newer.same_search(self.frontier) and newer.progress() > self.frontier.progress():
            self.frontier = newer
            self.trials = {k: list(v) for k, v in (state.get("ray_trials") or {}).items()}

    def _changed(self, table: bool = True) -> None:
        if self.folder is None:
            return
        folder = Path(self.folder)
        (folder / fr.FILE).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / fr.FILE, {**self.frontier.to_dict(), "ray_trials": self.trials})
        if table:
            write_csv_atomic(folder / fr.CSV, fr.frontier_table(self.frontier))

    def get_state(self) -> dict[str, Any]:
        return {"frontier": self.frontier.to_dict(), "trials": self.trials, "folder": self.folder}

    def set_state(self, state: dict[str, Any]) -> None:
        self.frontier = Frontier.from_dict(state["frontier"])
        self.trials = {k: list(v) for k, v in state["trials"].items()}
        self._restored = True

    def save(self, checkpoint_path: str) -> None:
        write_text_atomic(checkpoint_path, json.dumps(self.get_state(), default=str))

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(json.loads(Path(checkpoint_path).read_text()))


def frontier_searcher(spec: TunerSpec) -> FrontierSearcher:
    """Its cells the combinations of ``spec.plan.grid_axes``' values, under the plan's ``frontier`` options."""
    options = check_frontier_options(**dict(spec.plan.frontier or {}))
    base, cells = frontier_cells(spec.param_space, spec.plan.grid_axes)
    frontier = Frontier(cells, rule=options.rule, start=options.start, max_length=options.max_length,
                        speculate=options.speculate, base=base)
    return FrontierSearcher(frontier, spec.study_folder.resolve())


class FrontierScheduler(tune.schedulers.FIFOScheduler):
    """Trials in the order proposed; one whose probe is decided or moot is stopped at its next result
    (``should_stop``): TERMINATED, ``stopped_by`` = scheduler, not counted in k/n."""

    def __init__(self, searcher: FrontierSearcher) -> None:
        super().__init__()
        self.searcher = searcher

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        self.searcher.observe(trial.trial_id, result)
        if self.searcher.should_stop(trial.trial_id, result):
            return tune.schedulers.TrialScheduler.STOP
        return tune.schedulers.TrialScheduler.CONTINUE


class FrontierCallback(tune.Callback):
    """Before a driver's first step, the searcher takes the study folder's newer state if any and is
    matched with the trials Ray restored (``reconcile``): no finished seed runs again, none waits for a
    trial that is gone."""

    def __init__(self, searcher: FrontierSearcher) -> None:
        self.searcher = searcher
        self._matched = False

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if not self._matched:
            self._matched = True
            self.searcher.reconcile(trials)


def frontier_scheduler(spec: TunerSpec) -> FrontierScheduler:
    return FrontierScheduler(spec.searcher)  # built first: ``tuner.searching``


def frontier_callback(spec: TunerSpec) -> FrontierCallback:
    return FrontierCallback(spec.searcher)
