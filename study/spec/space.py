"""Search spaces as data, field -> (kind, values), each written as one string (``loguniform:1e-4:3e-2``,
docs/search.md); Optuna's distributions only where the search starts, so no option or dry run imports Optuna."""

from __future__ import annotations

import math
from typing import Any

from study.basics.text import value_text
from study.spec.fields import FIELDS, config_value, text_value

KINDS = ("choice", "uniform", "loguniform", "int")
SYNTAX = "choice:V1,V2,...  uniform:LOW:HIGH  loguniform:LOW:HIGH  int:LOW:HIGH"
# Fields only some models use: a cell of another model does not search them (they would change nothing).
ONLY_FOR = {"forget_bias": ("LSTM",)}
Dist = tuple[str, Any]


def parse_dist(name: str, spec: Any) -> Dist:
    """One field's distribution from its text or data form, each value checked; ValueError naming the field."""
    shown = f"{name}={spec}" if isinstance(spec, str) else f"{name}={spec!r}"
    if name not in FIELDS:
        raise ValueError(f"{name}: unknown config field; allowed: {', '.join(sorted(FIELDS))}")
    if name in ("model", "length", "seed"):
        how = "--seeds" if name == "seed" else "--models/--lengths ([axes] in a file)"
        raise ValueError(f"{name}: not searched; a search runs one Optuna study per model x length cell "
                         f"on seed 0 (cells: {how})")
    if isinstance(spec, str):  # as text, or as data
        kind, _, rest = spec.strip().partition(":")
        parts = rest.split(",") if kind == "choice" else rest.split(":")
        texts: list[str] | None = [p.strip() for p in parts] if rest.strip() else []
        typed = None
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        kind, values = spec
        if not isinstance(values, (tuple, list)):
            raise ValueError(f"{shown}: give (kind, [values]) or (kind, (low, high))")
        texts, typed = None, list(values)
    else:
        raise ValueError(f"{shown}: give a distribution as text: {SYNTAX}")
    if (kind := kind.strip().lower()) not in KINDS:
        raise ValueError(f"{shown}: unknown distribution {kind!r}; allowed: {SYNTAX}")
    if kind != "choice":
        return (kind, _bounds(name, shown, kind, texts if texts is not None else typed))
    try:
        values = [text_value(name, t) for t in texts] if texts is not None else [config_value(name, v)
                                                                                  for v in typed or []]
    except ValueError as exc:
        raise ValueError(f"{shown}: {exc}") from None
    if len(values) < 2:
        raise ValueError(f"{shown}: choice needs two values or more (one value: fix it with --set)")
    for i, v in enumerate(values):
        if v in values[:i]:
            raise ValueError(f"{shown}: {value_text(v)} is given twice")
    return ("choice", values)


def _bounds(name: str, shown: str, kind: str, bounds: list[Any]) -> tuple[Any, Any]:
    default = FIELDS[name].default
    optional = "None" in str(FIELDS[name].type)
    is_int = isinstance(default, int) and not isinstance(default, bool)
    is_float = isinstance(default, float) or optional
    takes = "integers" if is_int else "real numbers" if is_float else "names"
    if (kind == "int" and not is_int) or (kind in ("uniform", "loguniform") and not is_float):
        use = "int:LOW:HIGH or choice" if is_int else "uniform, loguniform or choice" if is_float else "choice"
        raise ValueError(f"{shown}: {name} takes {takes}; use {use}")
    if len(bounds) != 2:
        raise ValueError(f"{shown}: {kind} takes {kind}:LOW:HIGH")
    try:
        if kind == "int" and any(isinstance(b, (bool, float)) for b in bounds):
            raise ValueError(bounds)
        low, high = (int(b) if kind == "int" else float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{shown}: LOW and HIGH must be {'integers' if kind == 'int' else 'numbers'}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{shown}: {kind} needs LOW < HIGH, both finite")
    if kind == "loguniform" and low <= 0:
        raise ValueError(f"{shown}: loguniform needs 0 < LOW < HIGH")
    for bound in (low, high):
        try:
            config_value(name, bound)
        except ValueError as exc:
            raise ValueError(f"{shown}: {exc}") from None
    return low, high


def format_dist(dist: Dist) -> str:
    kind, values = dist
    if kind == "choice":
        return "choice:" + ",".join(value_text(v) for v in values)
    return f"{kind}:{value_text(values[0])}:{value_text(values[1])}"


def dist_text(dist: Dist) -> str:
    """A distribution for people: ``{32, 64, 128}``, ``[0.0001, 0.03] (log)``."""
    kind, values = dist
    if kind == "choice":
        return "{" + ", ".join(value_text(v, 6) for v in values) + "}"
    low, high = values
    return f"[{low:g}, {high:g}]" + {"loguniform": " (log)", "int": " (integers)"}.get(kind, "")


def for_model(space: dict[str, Dist], model: str) -> dict[str, Dist]:
    return {k: d for k, d in space.items() if model in ONLY_FOR.get(k, (model,))}


def space_parts(space_: dict[str, Dist]) -> list[str]:
    """Each dimension for people, ``lr in [0.0001, 0.03] (log)``, with the models it is for."""
    return [f"{name} in {dist_text(dist)}" + (f" ({', '.join(ONLY_FOR[name])} only)" if name in ONLY_FOR else "")
            for name, dist in space_.items()]


