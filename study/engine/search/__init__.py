"""Ray Tune searchers: optuna.py (``PalrnnOptunaSearch``), frontier.py (``FrontierSearcher``), and PBT's
(Ray's ``BasicVariantGenerator``, ``schedulers.pbt.pbt_searcher``). ``SEARCHERS``: a name a study's kind
gives its Tuners' searcher (``Kind.tuner``; none: Ray's variants of the param space, a grid) -> what
builds it from a ``TunerSpec`` (docs/extending.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from study.engine.schedulers.pbt import pbt_searcher
from study.engine.search.frontier import frontier_searcher
from study.engine.search.optuna import optuna_searcher

SEARCHERS: dict[str, Callable[[Any], Any]] = {
    "optuna": optuna_searcher,
    "pbt": pbt_searcher,
    "frontier": frontier_searcher,
}
