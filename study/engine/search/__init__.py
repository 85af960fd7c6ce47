"""Ray Tune searchers, one per file, each named after what it searches with:

    optuna.py     ``PalrnnOptunaSearch`` (Ray's ``OptunaSearch``): a search cell's Optuna study
    frontier.py   ``FrontierSearcher`` (a ``Searcher``): the memory frontier's probes

and PBT's, Ray's ``BasicVariantGenerator`` of the population's first configs
(``study.engine.schedulers.pbt.pbt_searcher``: Ray refuses a searcher beside PBT).

``SEARCHERS``: a name -> the function that builds the searcher of a ``TunerSpec``; a study's kind
names the one its Tuners run (``Kind.tuner``; none: Ray's variants of the param space, a grid).
A scheduler or callback that works with the searcher finds it built in ``spec.searcher``. A new
searcher is a file here and its line below (docs/extending.md).
"""

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
