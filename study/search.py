"""Optuna search spaces (Ray Tune's OptunaSearch, TPE, seeded).

Ray's ``grid_search`` cannot be mixed into an Optuna space: a search fixes model and length
and lets Optuna choose the rest.
"""

from __future__ import annotations

from typing import Any

import optuna

HIDDEN = [32, 64, 128, 256]
CLIP = [None, 1.0, 10.0, 100.0]  # None: no clipping


def space() -> dict[str, optuna.distributions.BaseDistribution]:
    d = optuna.distributions
    return {
        "hidden": d.CategoricalDistribution(HIDDEN),
        "lr": d.FloatDistribution(1e-4, 3e-2, log=True),
        "max_norm": d.CategoricalDistribution(CLIP),
        "init": d.CategoricalDistribution(["seed", "default", "xavier", "orthogonal"]),
        "optimizer": d.CategoricalDistribution(["rmsprop", "adam", "sgd"]),
    }


def searched_fields() -> list[str]:
    return list(space())


def describe() -> str:
    parts = []
    for name, dist in space().items():
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            parts.append(f"{name} in {{{', '.join('none' if c is None else str(c) for c in dist.choices)}}}")
        else:
            parts.append(f"{name} in [{dist.low:g}, {dist.high:g}]{' (log)' if dist.log else ''}")
    return "optuna     TPE over " + "; ".join(parts) + ", with ASHA cutting poor trials"


def best_trial(trials: Any) -> dict[str, Any] | None:
    """The row of the trials table with the highest final eval_accuracy (ties: fewer steps to target)."""
    from study.tables import ranked_trials

    ranked = ranked_trials(trials)
    return None if ranked.empty else ranked.iloc[0].to_dict()
