"""The median stopping rule (Ray Tune's ``MedianStoppingRule``): a trial whose best result so far
is below the median of the other trials' at the same step is stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray.tune.schedulers import MedianStoppingRule

if TYPE_CHECKING:
    from study.engine.tuner import TunerSpec


def median(spec: TunerSpec) -> MedianStoppingRule:
    """The rule from ASHA's first rung on (``grace_period``, in training steps), once 3 trials have
    reported there."""
    search = spec.plan.search
    assert search is not None
    every = int(spec.param_space.get("eval_every", 1))
    return MedianStoppingRule(time_attr="step", metric=search.settings.metric, mode=search.settings.mode,
                              grace_period=search.grace_period * every, min_samples_required=3)
