"""Ray Tune searchers, one per file, each named after what it searches with:

    optuna.py     ``PalrnnOptunaSearch`` (Ray's ``OptunaSearch``): a search cell's Optuna study
    frontier.py   ``FrontierSearcher`` (a ``Searcher``): the memory frontier's probes

``SEARCHERS``: a study kind -> the function that builds its searcher from a ``TunerSpec``. The
frontier's searcher is built with its scheduler and callback (``study.engine.tuner.run_frontier``).
A new searcher is a file here and its line below (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from study.engine.search.optuna import optuna_searcher

SEARCHERS: dict[str, Callable[[Any], Any]] = {
    "optuna": optuna_searcher,
}
