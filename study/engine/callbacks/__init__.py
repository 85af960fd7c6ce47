"""Ray Tune callbacks other than loggers, one per file: frontier.py (``tune.Callback``).

``CALLBACKS``: a name -> the function that builds it from a ``TunerSpec``; a study's kind names
those its Tuners run besides the logger callbacks (``Kind.tuner``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from study.engine.callbacks.frontier import frontier_callback

CALLBACKS: dict[str, Callable[[Any], Any]] = {
    "frontier": frontier_callback,
}
