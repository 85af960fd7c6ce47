"""The memory frontier's Ray Tune scheduler."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray import tune

from study.engine.search.frontier import FrontierSearcher

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec


class FrontierScheduler(tune.schedulers.FIFOScheduler):
    """Runs trials in the order the searcher proposed them and stops, at its next result, a trial
    whose probe is decided or moot (``FrontierSearcher.should_stop``): it ends TERMINATED,
    ``stopped_by`` = scheduler in trials.csv, and is not counted in the frontier's k/n."""

    def __init__(self, searcher: FrontierSearcher) -> None:
        super().__init__()
        self.searcher = searcher

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        self.searcher.observe(trial.trial_id, result)
        if self.searcher.should_stop(trial.trial_id, result):
            return tune.schedulers.TrialScheduler.STOP
        return tune.schedulers.TrialScheduler.CONTINUE


def frontier_scheduler(spec: TunerSpec) -> FrontierScheduler:
    """The scheduler of a frontier's Tuner, on its searcher (``spec.searcher``)."""
    return FrontierScheduler(spec.searcher)
