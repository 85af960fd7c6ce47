"""Optuna search spaces (Ray Tune's OptunaSearch, TPE, seeded), kept as plain data.

A space is a dict ``field -> (kind, values)``: ``("choice", [...])`` or ``("loguniform", (low,
high))``. It becomes Optuna's distributions only in ``optuna_space``, where the search starts,
so ``--help``, ``--list`` and a refused option never import Optuna.

Ray's ``grid_search`` cannot be mixed into an Optuna space: a search fixes model and length
and lets Optuna choose the rest.
"""

from __future__ import annotations

from typing import Any

HIDDEN = [32, 64, 128, 256]
CLIP = [None, 1.0, 10.0, 100.0]  # None: no clipping
FORGET_BIAS = [0.0, 1.0, 2.0]
LSTM_ONLY = ("forget_bias",)


def space(model: str = "RNN") -> dict[str, tuple[str, Any]]:
    """What Optuna chooses for ``model``: the LSTM's forget-gate bias too (the RNN has none)."""
    out: dict[str, tuple[str, Any]] = {
        "hidden": ("choice", HIDDEN),
        "lr": ("loguniform", (1e-4, 3e-2)),
        "max_norm": ("choice", CLIP),
        "init": ("choice", ["seed", "default", "xavier", "orthogonal"]),
        "optimizer": ("choice", ["rmsprop", "adam", "sgd"]),
    }
    if model == "LSTM":
        out["forget_bias"] = ("choice", FORGET_BIAS)
    return out


def values_to_check(dist: tuple[str, Any]) -> list[Any]:
    """Every value a distribution can propose, or its bounds: what planning validates."""
    return list(dist[1])


def optuna_space(model: str = "RNN") -> dict[str, Any]:
    """``space(model)`` as Optuna distributions (imports Optuna)."""
    import optuna

    d = optuna.distributions
    out = {}
    for name, (kind, values) in space(model).items():
        if kind == "choice":
            out[name] = d.CategoricalDistribution(values)
        else:
            out[name] = d.FloatDistribution(values[0], values[1], log=True)
    return out


def searched_fields(model: str = "RNN") -> list[str]:
    return list(space(model))


def describe() -> str:
    parts = []
    for name, (kind, values) in space("LSTM").items():
        if kind == "choice":
            parts.append(f"{name} in {{{', '.join(map(_choice, values))}}}")
        else:
            parts.append(f"{name} in [{values[0]:g}, {values[1]:g}] (log)")
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
