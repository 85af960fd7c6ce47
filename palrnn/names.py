"""Names as people type them (a model, init, sampler, grid, ... in any case), turned into the one
spelling their table keeps where they come in; a near miss gets "did you mean". Standard library only:
palrnn's config (which imports no torch) and study's parsing both use it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def canonical(value: Any, allowed: Iterable[str]) -> Any:
    """The spelling in ``allowed`` that ``value`` names, case and surrounding spaces aside;
    ``value`` unchanged when it names none of them (or is not a string): the caller refuses it."""
    if not isinstance(value, str):
        return value
    return next((name for name in allowed if name.strip().lower() == value.strip().lower()), value)


def did_you_mean(value: Any, allowed: Iterable[str]) -> str:
    """``"; did you mean LSTM?"`` when ``value`` is close to one name of ``allowed`` (case aside,
    ``difflib.get_close_matches``), else ``""``."""
    if not isinstance(value, str):
        return ""
    names = {name.strip().lower(): name for name in allowed}
    close = difflib.get_close_matches(value.strip().lower(), list(names), n=1, cutoff=0.6)
    return f"; did you mean {names[close[0]]}?" if close else ""


def choice_error(value: Any, allowed: Iterable[str]) -> str:
    """``"must be one of a, b, c, got 'x'"``, with ``did_you_mean``'s suffix for a near miss."""
    allowed = list(allowed)
    return f"must be one of {', '.join(allowed)}, got {value!r}{did_you_mean(value, allowed)}"
