"""The memory frontier's Ray Tune searcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray import tune

from palrnn.config import Config
from study.basics.io import write_csv_atomic, write_json_atomic, write_text_atomic
from study.frontier import table as fr
from study.frontier.probe import RUNNING, STOPPED, Trial
from study.frontier.search import Frontier

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec


class FrontierSearcher(tune.search.Searcher):
    """Ray Tune's searcher for ``study.frontier.Frontier``: proposes ``{**base, **cell, "length": T,
    "seed": s}`` as the Frontier asks; ``suggest`` returns None while there is nothing to launch
    until a running trial ends, ``Searcher.FINISHED`` once every cell's frontier is known.

    What a trial's results mean for its seed: solved at its first result with a
    ``steps_to_target`` (``observe``: FrontierScheduler calls it on every result, so a probe can
    be decided before that seed's palrnn run stops at its patience); not solved when it ends
    without one (its steps spent, or diverged); stopped (not counted) when it was stopped before
    its end because its probe was decided or moot; an error (counted as not solved) when Ray gives
    up on it after ``max_failures`` restarts.

    Its state (the Frontier, and which Ray trial is which seed) is saved by Ray with the experiment
    state (``save``/``restore``), so ``Tuner.restore`` continues without rerunning a finished
    probe; ``frontier/state.json`` and ``frontier.csv`` in the study folder are rewritten on every
    change, for the report and for a study that cannot end."""

    CKPT_FILE_TMPL = "frontier-searcher-{}.json"

    def __init__(self, frontier: Any, study_folder: str | Path | None = None) -> None:
        super().__init__(metric=None, mode=None)
        self.frontier = frontier
        self.trials: dict[str, list[int]] = {}  # Ray trial id -> [cell, length, seed], while it runs
        self.folder = None if study_folder is None else str(study_folder)
        self._restored = False  # restore() ran: a resumed driver (pickled False in tuner.pkl)
        self.replay: list[list[int]] = []  # finished seeds that Ray's restored state lacks (reconcile)

    def relocate(self, study_folder: Path) -> None:
        """Keep the frontier's state in ``study_folder`` (a study resumed from another one:
        ``study.engine.tuner.relocate``; ``set_state`` keeps it)."""
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
        key = self.trials.get(trial_id)
        if key is not None:
            return Trial(*key)
        result = result or {}
        config = result.get("config") or {k[7:]: v for k, v in result.items() if k.startswith("config/")}
        return self.frontier.trial_of(config) if config else None

    def observe(self, trial_id: str, result: dict[str, Any]) -> None:
        """A trial's result as it arrives: a seed that has reached the target is solved now."""
        key = self._key(trial_id, result)
        steps = result.get("steps_to_target")
        if key is not None and steps is not None and self.frontier.seed_state(key) == RUNNING:
            self.frontier.record(*key, solved=True, steps_to_target=steps)
            self._changed()

    def should_stop(self, trial_id: str, result: dict[str, Any] | None = None) -> bool:
        """Stop a trial whose seed still runs in a probe that is decided or moot, and the replay of
        a seed stopped so before (``reconcile``) at its first result. A seed already solved runs on
        to its own end (palrnn's patience), as in any study."""
        key = self._key(trial_id, result)
        state = None if key is None else self.frontier.seed_state(key)
        return state == STOPPED or (state == RUNNING and self.frontier.decided(key.cell, key.length))

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.observe(trial_id, result)

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

    def _ended(self, key: Any, result: dict[str, Any]) -> bool:
        if result.get("diverged") or result.get("stopped_early"):
            return True
        budget = self.frontier.config(key).get("steps", Config().steps)
        return result.get("step") is not None and int(result["step"]) >= int(budget)

    def reconcile(self, trials: list[Any]) -> None:
        """Match the Frontier with the trials Ray holds, when a driver starts (``--resume``): a seed
        whose trial Ray no longer has is launched again; a trial that ended unseen is recorded; a
        live trial the Frontier does not know (a state saved before it started) is adopted."""
        from ray.tune.utils import flatten_dict

        if self._restored or trials:
            self._load_newer_state()
        held = {t.trial_id: t for t in trials}
        for trial_id, key in list(self.trials.items()):
            t = held.get(trial_id)
            if t is None:
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
            key = self.frontier.trial_of(t.config or {})
            if key is None:
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
        # A seed that finished after Ray last saved its experiment state (a driver killed within
        # those seconds) is counted in the Frontier but missing from Ray's trials, and so from
        # the tables: its trial runs once more, finds its checkpoint at its end and reports it.
        # A seed stopped so (its probe decided) runs once more too, and is stopped at its first
        # result (should_stop): its row in the tables is its checkpoint's curve.
        replayed = self.frontier.ended() + self.frontier.stopped()
        self.replay = [list(k) for k in replayed if tuple(k) not in seen | mine]
        self._changed()

    def _load_newer_state(self) -> None:
        """Take the study folder's frontier/state.json when it is further on than the state Ray
        restored: Ray copies its experiment and searcher state to the study folder only every few
        minutes, this file is written on every change."""

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
    """The searcher of a frontier's Tuner: its cells the combinations of ``spec.plan.grid_axes``' values
    (``frontier_cells``), under the plan's ``frontier`` options; it keeps ``frontier/state.json`` and
    ``frontier.csv`` current as the search goes."""
    from study.frontier.options import check_frontier_options, frontier_cells

    options = check_frontier_options(**dict(spec.plan.frontier or {}))
    base, cells = frontier_cells(spec.param_space, spec.plan.grid_axes)
    frontier = Frontier(cells, rule=options.rule, start=options.start, max_length=options.max_length,
                        speculate=options.speculate, base=base)
    return FrontierSearcher(frontier, spec.study_folder.resolve())
