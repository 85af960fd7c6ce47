"""What the logger callbacks share: the watched metrics, a trial's run name, never stopping a study."""

from __future__ import annotations

from typing import Any

from study.basics.text import value_text
from study.results.trials import RECORDED

# What a trial's evaluations put on record, against the training step ("step" too, to see a
# restarted trial go back to its checkpoint).
WATCHED = [m for m in RECORDED if m != "stopped_early"] + ["wall_seconds"]


def scalars_of(result: dict[str, Any]) -> dict[str, float]:
    """The watched metrics of a result that are numbers (a bool as 0/1; None and NaN left out)."""
    import numbers

    out = {}
    for key in WATCHED:
        value = result.get(key)
        if isinstance(value, numbers.Real) and value == value:
            out[key] = float(value)
    return out


def run_name(config: dict[str, Any], swept: list[str] | None = None) -> str:
    """A trial's name in TensorBoard and MLflow: model, length, seed and the swept values,
    e.g. ``LSTM_T10_s0_hidden=64_lr=0.003``."""
    import re

    parts = [f"{config.get('model')}_T{config.get('length')}_s{config.get('seed')}"]
    parts += [f"{k}={value_text(config.get(k), 6)}" for k in swept or [] if k not in ("model", "length", "seed")]
    return re.sub(r"[^A-Za-z0-9_.=+-]", "-", "_".join(parts))


def swept_names(trial: Any, fields: list[str] | None = None) -> list[str]:
    """The fields Ray chose for the trial: the grid's axes, or what Optuna proposed; ``fields`` when
    the study names them (a frontier's searcher proposes every field of a trial's config, but only
    its cell's fields, its length and its seed tell its trials apart)."""
    if fields is not None:
        return list(fields)
    return [k for k in (getattr(trial, "evaluated_params", None) or {}) if "/" not in k]


def hparam_value(value: Any) -> Any:
    return value if isinstance(value, str | bool | int | float) else value_text(value, 6)


class Guarded:
    """A watcher must never stop a study: a failing write (a full disk, an MLflow server that
    went away) prints one notice per kind of failure and the study goes on."""

    _warned: set[str]

    def _notice(self, what: str, exc: BaseException) -> None:
        warned = self.__dict__.setdefault("_warned", set())
        if what not in warned:
            warned.add(what)
            why = (str(exc).splitlines() or [""])[0][:200]
            print(f"palrnn: {what} failed ({type(exc).__name__}: {why}); the study goes on without it")


def run_fields(plan: Any) -> list[str] | None:
    """The fields a trial's run name shows beside its model, T and seed: its cell fields where its
    kind's searcher proposes whole configs (a frontier's); None: what Ray chose for the trial."""
    kind = getattr(plan, "kind_of", None)
    if kind is not None and not kind.tuner(plan).space:
        return list(plan.grid_axes or [])
    return None
