"""One fix to Ray Tune 2.60's trial controller: a trial whose reused worker dies while being reset
for it is retried like any other trial whose worker died.

With ``reuse_actors`` (the study's default: torch is imported once per worker, not once per
trial) a trial starts in the worker of a finished one: Ray holds it PENDING and asks the worker
to ``reset``. When the worker dies in that moment (killed, or out of memory as the trial starts),
Ray's ``_actor_failed`` retries the trial (marks it RUNNING, then requeues it PENDING) and then
the failed ``reset`` call reaches ``_trial_task_failure`` for the same death: the trial, PENDING
now and with no worker, fails again, and a PENDING trial is never retried: it ends ERROR after
two failures whatever ``max_failures`` says. The trial also stays in ``_resetting_trials``, so
a retry would wait for a reset that never answers.

``apply`` makes the controller drop a failure that reaches a PENDING trial with no worker (the
failure of a worker it no longer has, already retried), and take a trial whose reset failed off
``_resetting_trials`` (a reset failure that comes first is retried as ``_actor_failed`` would).
The trainable then continues the trial from its own checkpoint. The fault is injected for real
in tests/study/test_chaos.py::test_workers_killed_between_two_trials_change_nothing.
"""

from __future__ import annotations

import logging
from typing import Any

_PATCHED = "_palrnn_reset_failure_retried"


def apply() -> bool:
    """Patch ``TuneController._trial_task_failure`` once; False when this Ray lacks what it patches
    (another Ray version: nothing is changed, and the test above says whether Ray needs it)."""
    from ray.tune.execution.tune_controller import TuneController
    from ray.tune.experiment import Trial

    original = getattr(TuneController, "_trial_task_failure", None)
    if original is None or getattr(original, _PATCHED, False):
        return original is not None
    if not all(hasattr(TuneController, name) for name in ("_set_trial_status", "_actor_failed")):
        logging.getLogger(__name__).warning("Ray Tune changed: a worker that dies while reset for a trial "
                                            "fails that trial")
        return False

    def _trial_task_failure(self: Any, trial: Any, exception: Exception) -> None:
        resetting = getattr(self, "_resetting_trials", set())
        if trial in resetting:  # its reset will never answer: a retry must schedule a worker anew
            resetting.discard(trial)
            if trial.status == Trial.PENDING and trial in self._trial_to_actor:
                self._set_trial_status(trial, Trial.RUNNING)  # as _actor_failed does: retried if it may be
        if trial.status == Trial.PENDING and trial not in self._trial_to_actor:
            logging.getLogger(__name__).debug("dropped a failure of a worker %s no longer has", trial)
            return None  # the worker it had died, and Ray has already retried it
        return original(self, trial, exception)

    setattr(_trial_task_failure, _PATCHED, True)
    TuneController._trial_task_failure = _trial_task_failure
    return True
