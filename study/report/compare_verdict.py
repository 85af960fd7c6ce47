"""The verdict on one cell of a comparison (study/report/compare.py): B - A's 95% interval against
a practical margin in held-out accuracy (docs/compare.md says why the default is 0.02)."""

from __future__ import annotations

import math
from typing import Any

from study.basics.errors import StudyError

# Two held-out examples per seed on the smallest held-out set among the committed references (T = 5:
# 100 examples) is 0.02; the seeds of a solved cell of those references spread by at most 0.002
# (their standard deviation). docs/compare.md gives the numbers.
DEFAULT_MARGIN = 0.02
DIFFERS, SAME, INCONCLUSIVE = "differs", "same", "inconclusive"
VERDICTS = (DIFFERS, SAME, INCONCLUSIVE)
ROUNDING = 1e-9  # an interval's end this close to +-margin counts as on the margin (inside it)


def check_margin(margin: Any) -> float:
    """``--margin`` as a float in [0, 1); StudyError (one line) for anything else."""
    try:
        value = float(margin)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(margin, bool) or not (0.0 <= value < 1.0):
        raise StudyError(f"--margin: {margin!r} is not a held-out accuracy difference; give a number in [0, 1), "
                         f"e.g. {DEFAULT_MARGIN} (the default)")
    return value


def judge(low: float, high: float, margin: float) -> str:
    """The verdict on a difference whose 95% interval is [low, high]: "differs" when it lies wholly
    outside [-margin, +margin], "same" when wholly inside, else "inconclusive" (also when there is
    no interval). An end within ``ROUNDING`` of the margin counts as on it, so inside."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return INCONCLUSIVE
    if low > margin + ROUNDING or high < -margin - ROUNDING:
        return DIFFERS
    if low >= -margin - ROUNDING and high <= margin + ROUNDING:
        return SAME
    return INCONCLUSIVE
