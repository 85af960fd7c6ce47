"""Two fixes to Ray Tune 2.60's trial controller, applied once (``apply``), each injected for real in a test.

**A trial whose reused worker dies while being reset for it is retried.** With ``reuse_actors`` Ray holds
the trial PENDING and asks a finished trial's worker to ``reset``. If the worker dies then, ``_actor_failed``
retries the trial (RUNNING, then PENDING again), and the failed ``reset`` reaches ``_trial_task_failure``
for the same death: the PENDING trial with no worker fails again and, never retried, ends ERROR whatever
``max_failures`` says; it also stays in ``_resetting_trials``, its retry waiting for a reset that never
answers. The fix drops a failure that reaches a PENDING trial with no worker (already retried) and takes
a trial whose reset failed off ``_resetting_trials``
(tests/study/test_chaos.py::test_workers_killed_between_two_trials_change_nothing).

**A trial paused while its checkpoint is being saved is not stopped when it runs again.** PBT pauses a
member waiting at a round (with a save), then again without one when the round exploits it. Ray's
``pause_trial`` drops the decision cached for it, but ``_schedule_trial_stop`` caches a STOP for a trial
whose save is in flight, then clears the save: the trial's next save, once it runs again, executes the
STOP and it ends short of its steps (seen in CI). The fix drops that STOP once the trial is PAUSED
(tests/test_ray_fixes.py; tests/study/test_pbt.py end to end).
"""

from __future__ import annotations

import logging
from typing import Any

from ray.tune.execution.tune_controller import TuneController
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

_PATCHED = "_palrnn_reset_failure_retried"
_PAUSE_PATCHED = "_palrnn_pause_keeps_no_stop"


def apply() -> bool:
    """Apply both fixes once; False when this Ray lacks what they patch (nothing is changed)."""
    return _retry_reset_failures() & _pause_drops_stale_stop()


def _retry_reset_failures() -> bool:  # TuneController._trial_task_failure
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


def _pause_drops_stale_stop() -> bool:  # TuneController._schedule_trial_pause
    original = getattr(TuneController, "_schedule_trial_pause", None)
    if original is None or getattr(original, _PAUSE_PATCHED, False):
        return original is not None

    def _schedule_trial_pause(self: Any, trial: Any, should_checkpoint: bool = True) -> None:
        original(self, trial, should_checkpoint=should_checkpoint)
        decisions = getattr(self, "_cached_trial_decisions", {})
        if trial.status == Trial.PAUSED and decisions.get(trial.trial_id) == TrialScheduler.STOP:
            del decisions[trial.trial_id]  # cached for a save that was cleared: the trial is paused, not stopped

    setattr(_schedule_trial_pause, _PAUSE_PATCHED, True)
    TuneController._schedule_trial_pause = _schedule_trial_pause
    return True
