"""The memory frontier's options: the solve rule K/N, the lengths, speculation; its cells."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from study.basics.text import value_text

RULE_TEXT = ("the frontier is the longest T that passed with no failed probe at a shorter T; a pass above a "
             "failure is listed but not counted; lengths not probed are not known (the search assumes the "
             "solve rate falls with T)")


@dataclass(frozen=True)
class FrontierOptions:
    """The frontier's options, checked (``check_frontier_options``)."""

    rule: tuple[int, int] = (4, 5)
    start: int = 5
    max_length: int = 100
    speculate: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"solve_rule": f"{self.rule[0]}/{self.rule[1]}", "start_length": self.start,
                "max_length": self.max_length, "speculate": self.speculate}


def parse_solve_rule(text: Any) -> tuple[int, int]:
    """``"4/5"`` -> (4, 5); ValueError "--solve-rule: must be K/N with 1 <= K <= N, got '5/4'"."""
    pair = isinstance(text, (tuple, list)) and len(text) == 2
    try:
        k, n = text if pair else (int(part) for part in str(text).strip().split("/"))
    except ValueError:  # not two parts, or not integers
        k = n = None
    if not (all(isinstance(v, int) and not isinstance(v, bool) for v in (k, n)) and 1 <= k <= n):
        shown = f"{text[0]}/{text[1]}" if pair else str(text)
        raise ValueError(f"--solve-rule: must be K/N with 1 <= K <= N, got {shown!r}")
    return k, n


def _int_option(option: str, value: Any, low: int) -> int:
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(value)  # a string's surrounding whitespace too
    except (TypeError, ValueError):
        raise ValueError(f"{option}: must be an integer >= {low}, got {str(value)!r}") from None
    if number < low:
        raise ValueError(f"{option}: must be an integer >= {low}, got {number}")
    return number


def check_frontier_options(solve_rule: Any = "4/5", start_length: Any = 5, max_length: Any = 100,
                           speculate: Any = 1) -> FrontierOptions:
    """The CLI's frontier options, strings or numbers, checked (a ValueError naming the option); the start length
    >= 2: T = 1 has ten palindromes."""
    rule = parse_solve_rule(solve_rule)
    start = _int_option("--start-length", start_length, 2)
    top = _int_option("--max-length", max_length, 2)
    if top < start:
        raise ValueError(f"--max-length: must be >= --start-length ({start}), got {top}")
    spec = _int_option("--speculate", speculate, 0)
    return FrontierOptions(rule=rule, start=start, max_length=top, speculate=spec)


def frontier_cells(param_space: Mapping[str, Any], axes: Sequence[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(base, cells) from a grid's ``param_space``: a cell per combination of the ``axes``' values, ``model`` always
    in it (tables name a cell by its model first); ``length`` and ``seed`` are the search's, dropped; every other
    field in ``base``."""
    axes = [a for a in axes if a not in ("length", "seed")]
    base = {k: v for k, v in param_space.items() if k not in axes and k not in ("length", "seed")}
    if "model" not in axes:
        from palrnn.config import Config

        axes = ["model", *axes]
        model = base.pop("model", Config().model)
        param_space = {**param_space, "model": model}
    values = [list(v) if isinstance(v := param_space[a], (list, tuple)) else [v] for a in axes]
    return base, [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*values)]


def cell_label(cell: Mapping[str, Any]) -> str:
    """``LSTM init=xavier forget_bias=1``: the model, then every other setting as name=value."""
    parts = [value_text(cell["model"], 6)] if "model" in cell else []
    return " ".join(parts + [f"{k}={value_text(v, 6)}" for k, v in cell.items() if k != "model"])
