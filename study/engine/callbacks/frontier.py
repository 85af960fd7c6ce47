"""The memory frontier's Ray Tune callback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray import tune

from study.engine.search.frontier import FrontierSearcher

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec


class FrontierCallback(tune.Callback):
    """Before the first step of a driver, the searcher takes the study folder's newer state if any
    and is matched with the trials Ray restored (``FrontierSearcher.reconcile``), so that no
    finished seed runs again and no seed waits for a trial that is gone."""

    def __init__(self, searcher: FrontierSearcher) -> None:
        self.searcher = searcher
        self._matched = False

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if not self._matched:
            self._matched = True
            self.searcher.reconcile(trials)


def frontier_callback(spec: TunerSpec) -> FrontierCallback:
    """The callback of a frontier's Tuner, on its searcher (``spec.searcher``)."""
    return FrontierCallback(spec.searcher)
