"""Ray Tune schedulers: the three that cut a search's poor trials (below), and one per file for
those of our own:

    pbt.py        ``StudyPBT`` (Ray's ``PopulationBasedTraining``): the bottom trials go on from the
                  top ones' weights, perturbed; seeded, logged, resumable
    frontier.py   ``FrontierScheduler`` (a ``FIFOScheduler``): a frontier's decided probes stopped

``SCHEDULERS``: a name -> the function that builds it from a ``TunerSpec``; a study's kind names
the one its Tuners run (``Kind.tuner``: a search's settings choose; None, Ray's FIFO). A new
scheduler is a function (here, or a file beside these) and its line below (docs/extending.md).

Each counts training steps (``time_attr="step"``), not reports: a trial resumed from its
checkpoint reports its steps on from there, while Ray's training_iteration would start again at 1.
The search's budget (``max_t``, ``grace_period``) is in evaluations, ``eval_every`` steps each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler, MedianStoppingRule

from study.engine.schedulers.frontier import frontier_scheduler
from study.engine.schedulers.pbt import pbt

if TYPE_CHECKING:
    from study.engine.spec import TunerSpec


def _budget(spec: TunerSpec) -> tuple[Any, dict[str, Any], int]:
    """The search's plan, the keywords every scheduler takes, and a trial's steps per evaluation."""
    search = spec.plan.search
    assert search is not None
    s = search.settings
    return search, {"time_attr": "step", "metric": s.metric, "mode": s.mode}, int(spec.param_space.get("eval_every", 1))


def asha(spec: TunerSpec) -> ASHAScheduler:
    """ASHA (Ray's ``ASHAScheduler``) over the search's budget, reduction 3."""
    search, kw, every = _budget(spec)
    return ASHAScheduler(**kw, max_t=search.max_t * every, grace_period=search.grace_period * every,
                         reduction_factor=3)


def hyperband(spec: TunerSpec) -> HyperBandScheduler:
    """HyperBand (Ray's ``HyperBandScheduler``): ASHA's cut in brackets, over ``max_t``, reduction 3."""
    search, kw, every = _budget(spec)
    return HyperBandScheduler(**kw, max_t=search.max_t * every, reduction_factor=3)


def median(spec: TunerSpec) -> MedianStoppingRule:
    """The median stopping rule (Ray's ``MedianStoppingRule``): a trial whose best result so far is
    below the median of the others' at the same step is stopped, from ASHA's first rung on
    (``grace_period``), once 3 trials have reported there."""
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
