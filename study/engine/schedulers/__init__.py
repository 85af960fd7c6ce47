"""Ray Tune schedulers, one per file, each named after the scheduler it makes:

    asha.py       ``ASHAScheduler``: a search's poor trials stopped early
    frontier.py   ``FrontierScheduler`` (a ``FIFOScheduler``): a frontier's decided probes stopped

``SCHEDULERS``: a name -> the function that builds it from a ``TunerSpec``; a search runs
``asha`` when its settings say ``scheduler = true``. A new scheduler is a file here and its line
below (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from study.engine.schedulers.asha import asha

SCHEDULERS: dict[str, Callable[[Any], Any]] = {
    "asha": asha,
}


def scheduler(spec: Any) -> Any:
    """The scheduler of a search's Tuner, or None (Ray's FIFO: every trial runs to its end)."""
    search = spec.plan.search
    return SCHEDULERS["asha"](spec) if search is not None and search.settings.scheduler else None
