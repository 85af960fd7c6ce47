"""ASHA (Ray Tune's ``ASHAScheduler``): stops a search's poor trials early."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray.tune.schedulers import ASHAScheduler

if TYPE_CHECKING:
    from study.engine.tuner import TunerSpec


def asha(spec: TunerSpec) -> ASHAScheduler:
    """ASHA over the search's budget (``max_t`` and ``grace_period``, in evaluations), reduction 3.

    It counts training steps, not reports: a trial resumed from its checkpoint reports its steps on
    from there, while Ray's training_iteration would start again at 1."""
    search = spec.plan.search
    assert search is not None
    every = int(spec.param_space.get("eval_every", 1))
    return ASHAScheduler(time_attr="step", metric=search.settings.metric, mode=search.settings.mode,
                         max_t=search.max_t * every, grace_period=search.grace_period * every, reduction_factor=3)
