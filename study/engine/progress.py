"""The progress reporter: one short line instead of Ray's wide table."""

from __future__ import annotations

import time
from typing import Any

from ray import tune


class ProgressLine(tune.ProgressReporter):
    """One short line every ``every`` seconds instead of Ray's wide table: fits 80 columns.

        16:52:43  4/36 done  2 running  0 errors  LSTM T=7 s1 step 4000 acc 0.998
    """

    def __init__(self, every: float = 20.0, stream: Any = None, total: int | None = None) -> None:
        # total: the trials to come (a search's num_samples): Ray only knows those proposed so far.
        self.every, self.stream, self.total, self._last = every, stream, total, 0.0

    def should_report(self, trials: list[Any], done: bool = False) -> bool:
        return done or time.monotonic() - self._last >= self.every

    def report(self, trials: list[Any], done: bool, *sys_info: str) -> None:
        import sys

        self._last = time.monotonic()
        count: dict[str, int] = {}
        for t in trials:
            count[t.status] = count.get(t.status, 0) + 1
        finished = count.get("TERMINATED", 0)
        total = max(len(trials), getattr(self, "total", None) or 0)  # a reporter restored from an older pickle
        line = (f"{time.strftime('%H:%M:%S')}  {finished}/{total} done  {count.get('RUNNING', 0)} running  "
                f"{count.get('ERROR', 0)} errors")
        reported = [t for t in trials if t.last_result and "step" in t.last_result]
        latest = max(reported, key=lambda t: t.last_result.get("timestamp", 0), default=None)
        if latest is not None and not done:
            c, r = latest.config, latest.last_result
            line += (f"  {c.get('model')} T={c.get('length')} s{c.get('seed')} step {r.get('step')} "
                     f"acc {r.get('eval_accuracy', float('nan')):.3f}")
        print(line[:79], file=self.stream or sys.stdout, flush=True)
