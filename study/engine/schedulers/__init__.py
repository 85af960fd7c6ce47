"""Ray Tune schedulers: ASHA, HyperBand, the median rule, PBT (pbt.py), the frontier's (in search/frontier.py).
``SCHEDULERS``: the name a study's kind gives its scheduler (``Kind.tuner``) -> its maker (docs/extending.md).
Each counts training steps, not reports (a trial resumed from its checkpoint reports its steps on from
there); the budget (``max_t``, ``grace_period``) is in evaluations."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler, MedianStoppingRule

from study.engine.schedulers.pbt import pbt
from study.engine.search.frontier import frontier_scheduler

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec


def _budget(spec: TunerSpec) -> tuple[Any, dict[str, Any], int]:
    """The search's plan, the keywords every scheduler takes, and a trial's steps per evaluation."""
    search = spec.plan.search
    s = search.settings
    return search, {"time_attr": "step", "metric": s.metric, "mode": s.mode}, int(spec.param_space.get("eval_every", 1))


def asha(spec: TunerSpec) -> ASHAScheduler:
    search, kw, every = _budget(spec)
    return ASHAScheduler(**kw, max_t=search.max_t * every, grace_period=search.grace_period * every,
                         reduction_factor=3)


def hyperband(spec: TunerSpec) -> HyperBandScheduler:
    search, kw, every = _budget(spec)
    return HyperBandScheduler(**kw, max_t=search.max_t * every, reduction_factor=3)


def median(spec: TunerSpec) -> MedianStoppingRule:
    """A trial whose best result so far is below the median of the others' at the same step is stopped,
    from ASHA's first rung on (``grace_period``), once 3 trials have reported there."""
    search, kw, every = _budget(spec)
    return MedianStoppingRule(**kw, grace_period=search.grace_period * every, min_samples_required=3)


SCHEDULERS: dict[str, Callable[[Any], Any]] = {
    "asha": asha,
    "hyperband": hyperband,
    "median": median,
    "pbt": pbt,
    "frontier": frontier_scheduler,
}


def scheduler(spec: Any) -> Any:
    """The scheduler of a Tuner, as its study's kind names it; None: Ray's FIFO, every trial to its end."""
    name = spec.parts.scheduler
    return SCHEDULERS[name](spec) if name else None
