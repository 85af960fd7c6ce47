"""HyperBand (Ray Tune's ``HyperBandScheduler``): a search's poor trials stopped early, in brackets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray.tune.schedulers import HyperBandScheduler

if TYPE_CHECKING:
    from study.engine.tuner import TunerSpec


def hyperband(spec: TunerSpec) -> HyperBandScheduler:
    """HyperBand over the search's budget (``max_t``, in training steps, as ASHA), reduction 3."""
    search = spec.plan.search
    assert search is not None
    every = int(spec.param_space.get("eval_every", 1))
    return HyperBandScheduler(time_attr="step", metric=search.settings.metric, mode=search.settings.mode,
                              max_t=search.max_t * every, reduction_factor=3)
