"""A search as planned: one object from the study file to the Tuner.

``SearchPlan`` holds the study file's ``[search]`` (``study.spec.studyfile.Search``: the space, the
metric and its mode, the samples per cell, ASHA on or off, the sampler's seed; their defaults are
Search's, and only Search's) and what planning derives for Ray Tune: the cells (one Optuna study
per model x length), ASHA's budget in evaluations, the journal's file. study.json keeps it as a
table (``to_meta``); ``from_meta`` reads it back, that of an older study included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from study.basics.layout import CELLS, OPTUNA_JOURNAL
from study.spec.load import search_from_meta
from study.spec.space import Dist, for_model, format_dist
from study.spec.studyfile import Search

SINGLE = "palrnn"  # the Optuna study of a search of one cell


@dataclass(frozen=True)
class SearchPlan:
    """A planned search: its ``settings`` as the study file states them, and what Ray Tune needs."""

    settings: Search
    max_t: int  # ASHA: the evaluations a trial may run (its steps / eval_every, rounded up)
    grace_period: int  # ASHA: the evaluations before it may cut a trial
    cells: list[dict[str, Any]] = field(default_factory=list)  # {"model", "length", "study_name", "experiment"}
    storage: str = OPTUNA_JOURNAL  # the Optuna journal, in the study folder

    @classmethod
    def plan(cls, settings: Search, cells: list[tuple[str, int]], steps: int, eval_every: int) -> SearchPlan:
        """A resolved search over ``cells`` (model, length): one Optuna study and one Ray experiment
        per cell when there are several (``cells/<model>-T<length>/``), else the study folder's."""
        reports = -(-steps // eval_every)
        several = len(cells) > 1
        return cls(settings, max_t=reports, grace_period=max(1, reports // 9),
                   cells=[{"model": m, "length": t, "study_name": f"{SINGLE}-{m}-T{t}" if several else SINGLE,
                           "experiment": f"{CELLS}/{m}-T{t}" if several else None} for m, t in cells])

    def space(self, model: str) -> dict[str, Dist]:
        """The dimensions a cell of ``model`` searches."""
        return for_model(self.settings.space, model)

    def to_meta(self) -> dict[str, Any]:
        """study.json's ``search``: the space as text."""
        s = self.settings
        return {"seed": s.seed, "num_samples": s.num_samples, "max_t": self.max_t, "grace_period": self.grace_period,
                "storage": self.storage, "space": {k: format_dist(d) for k, d in s.space.items()},
                "metric": s.metric, "mode": s.mode, "objectives": [list(o) for o in s.objectives],
                "scheduler": s.scheduler, "sampler": s.sampler,
                **({"perturbation_interval": s.perturbation_interval} if s.perturbation_interval else {}),
                **({"perturb": list(s.perturb)} if s.perturb else {}),
                "cells": [dict(c) for c in self.cells]}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], param_space: Mapping[str, Any]) -> SearchPlan:
        """study.json's ``search`` as a SearchPlan. An older study's lacks what came later: its space
        was the default space, its metric eval_accuracy, its scheduler ASHA, its one cell that of
        ``param_space``."""
        settings = search_from_meta(meta)
        cells = [dict(c) for c in meta.get("cells") or []] or [
            {"model": param_space["model"], "length": param_space["length"], "study_name": SINGLE, "experiment": None}]
        return cls(settings, max_t=int(meta["max_t"]), grace_period=int(meta["grace_period"]), cells=cells,
                   storage=str(meta.get("storage", OPTUNA_JOURNAL)))
