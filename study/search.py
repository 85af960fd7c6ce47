"""Optuna search spaces (Ray Tune's OptunaSearch, TPE, seeded).

Ray's ``grid_search`` cannot be mixed into an Optuna space: a search fixes model and length
and lets Optuna choose the rest.
"""

from __future__ import annotations

from typing import Any

import optuna

HIDDEN = [32, 64, 128, 256]
CLIP = [None, 1.0, 10.0, 100.0]  # None: no clipping
FORGET_BIAS = [0.0, 1.0, 2.0]


def space(model: str = "RNN") -> dict[str, optuna.distributions.BaseDistribution]:
    """What Optuna chooses for ``model``: the LSTM's forget-gate bias too (the RNN has none)."""
    d = optuna.distributions
    out = {
        "hidden": d.CategoricalDistribution(HIDDEN),
        "lr": d.FloatDistribution(1e-4, 3e-2, log=True),
        "max_norm": d.CategoricalDistribution(CLIP),
        "init": d.CategoricalDistribution(["seed", "default", "xavier", "orthogonal"]),
        "optimizer": d.CategoricalDistribution(["rmsprop", "adam", "sgd"]),
    }
    if model == "LSTM":
        out["forget_bias"] = d.CategoricalDistribution(FORGET_BIAS)
    return out


def searched_fields(model: str = "RNN") -> list[str]:
    return list(space(model))


def describe() -> str:
    parts = []
    for name, dist in space("LSTM").items():
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            parts.append(f"{name} in {{{', '.join(map(_choice, dist.choices))}}}")
        else:
            parts.append(f"{name} in [{dist.low:g}, {dist.high:g}]{' (log)' if dist.log else ''}")
    from study.grids import wrap_parts

    parts[-1] += " (LSTM only), with ASHA cutting poor trials"
    return "\n".join(wrap_parts(parts, "; ", first="optuna     TPE over ", indent=" " * 11))


def _choice(c: Any) -> str:
    return "none" if c is None else f"{c:g}" if isinstance(c, float) else str(c)


def best_trial(trials: Any) -> dict[str, Any] | None:
    """The row of the trials table with the highest final eval_accuracy (ties: fewer steps to target)."""
    from study.tables import ranked_trials

    ranked = ranked_trials(trials)
    return None if ranked.empty else ranked.iloc[0].to_dict()
