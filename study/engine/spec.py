"""One Ray Tuner of a planned study, as the searchers, schedulers and callbacks see it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from study.basics.store import Store, study_store

if TYPE_CHECKING:
    from study.planning.kinds import TunerParts
    from study.planning.plan import StudyPlan


@dataclass
class TunerSpec:
    """One Ray Tuner of a planned study: ``plan`` (Ray-free) and what the driver knows once Ray is up. A
    search over several model x length cells runs one Tuner per ``cell``, its Ray experiment in
    ``cells/<model>-T<length>/`` (``name``, ``results_dir``); ``study_folder`` is the study's."""

    plan: StudyPlan
    cell: dict[str, Any] | None = None  # {"model", "length", "study_name", "experiment"}; None: the whole plan
    verbose: int = 1
    max_concurrent: int = 0  # a search's trials at once: what fits the cluster, at most --max-concurrent
    searcher: Any = None  # its searcher, once built (``searching``): a scheduler or callback may work with it

    @property
    def parts(self) -> TunerParts:  # what the study's kind runs its Tuners with (``Kind.tuner``)
        return self.plan.kind_of.tuner(self.plan)

    @property
    def study_folder(self) -> Path:
        return Path(self.plan.results_dir) / self.plan.name

    @property
    def store(self) -> Store:  # where the trials keep their checkpoints: the study folder, or --storage's place
        return study_store(self.plan.storage, self.study_folder)

    def experiment_store(self, *parts: str) -> Store:
        """Where Ray keeps this Tuner's experiment (with ``parts``: a folder of it)."""
        relative = (self.results_dir / self.name / Path(*parts)).relative_to(self.study_folder) \
            if self.cell else Path(*parts)
        return self.store.child(*relative.parts)

    @property
    def name(self) -> str:  # Ray's experiment name (its folder under ``results_dir``)
        experiment = (self.cell or {}).get("experiment")
        return Path(experiment).name if experiment else self.plan.name

    @property
    def results_dir(self) -> Path:
        experiment = (self.cell or {}).get("experiment")
        return (self.study_folder / experiment).parent if experiment else Path(self.plan.results_dir)

    @property
    def param_space(self) -> dict[str, Any]:
        """Config field -> value, or a list of values to grid over (``grid_axes``); a cell's model and length."""
        if self.cell is None:
            return dict(self.plan.param_space)
        return {**self.plan.param_space, "model": self.cell["model"], "length": self.cell["length"]}

    @property
    def search_cell(self) -> dict[str, Any] | None:
        """The cell this Tuner runs where its kind runs one per cell (of one cell: its only one), else None."""
        return (self.cell or self.plan.cells[0]) if self.parts.per_cell else None
