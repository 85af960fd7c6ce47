"""Ray Tune searchers: optuna.py, frontier.py, and PBT's (``schedulers.pbt.pbt_searcher``). ``SEARCHERS``:
the name a study's kind gives its searcher (``Kind.tuner``; none: a grid) -> its maker (docs/extending.md)."""

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
