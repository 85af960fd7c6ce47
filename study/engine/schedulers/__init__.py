"""Ray Tune schedulers, one per file, each named after the scheduler it makes:

    asha.py       ``ASHAScheduler``: a search's poor trials stopped early
    hyperband.py  ``HyperBandScheduler``: the same, by HyperBand's brackets
    median.py     ``MedianStoppingRule``: a trial below the median of the others at its step stopped
    pbt.py        ``PopulationBasedTraining``: the bottom trials go on from the top ones' weights, perturbed
    frontier.py   ``FrontierScheduler`` (a ``FIFOScheduler``): a frontier's decided probes stopped

``SCHEDULERS``: a name -> the function that builds it from a ``TunerSpec``; a search runs the
one its settings name (``scheduler``; "none": Ray's FIFO). A new scheduler is a file here and its line
below (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from study.engine.schedulers.asha import asha
from study.engine.schedulers.hyperband import hyperband
from study.engine.schedulers.median import median
from study.engine.schedulers.pbt import pbt

SCHEDULERS: dict[str, Callable[[Any], Any]] = {
    "asha": asha,
    "hyperband": hyperband,
    "median": median,
    "pbt": pbt,
}


def scheduler(spec: Any) -> Any:
    """The scheduler of a search's Tuner, or None (Ray's FIFO: every trial runs to its end)."""
    search = spec.plan.search
    name = search.settings.scheduler if search is not None else "none"
    return None if name == "none" else SCHEDULERS[name](spec)
