"""Two fixes to Ray Tune 2.60's trial controller, each applied once (``apply``) and each injected for
real in a test.

**A trial whose reused worker dies while being reset for it is retried like any other trial whose
worker died.** With ``reuse_actors`` (the study's default: torch is imported once per worker, not
once per trial) a trial starts in the worker of a finished one: Ray holds it PENDING and asks the
worker to ``reset``. When the worker dies in that moment (killed, or out of memory as the trial
starts), Ray's ``_actor_failed`` retries the trial (marks it RUNNING, then requeues it PENDING) and
then the failed ``reset`` call reaches ``_trial_task_failure`` for the same death: the trial,
PENDING now and with no worker, fails again, and a PENDING trial is never retried: it ends ERROR
after two failures whatever ``max_failures`` says. The trial also stays in ``_resetting_trials``,
so a retry would wait for a reset that never answers. The fix drops a failure that reaches a
PENDING trial with no worker (the failure of a worker it no longer has, already retried), and
takes a trial whose reset failed off ``_resetting_trials`` (a reset failure that comes first is
retried as ``_actor_failed`` would). The trainable then continues the trial from its own
checkpoint (tests/study/test_chaos.py::test_workers_killed_between_two_trials_change_nothing).

**A trial paused while its checkpoint is being saved is not stopped when it runs again.** PBT
pauses a member that waits at a round (a PAUSE with a save), and when the round is decided it
pauses the member it exploits again, without a save (``pause_trial(trial, should_checkpoint=
False)``). Ray's ``pause_trial`` drops the decision cached for the trial ("we will overrule this
decision with PAUSE"), but its ``_schedule_trial_stop`` caches a STOP for a trial whose save is
still in flight, then clears that save. The STOP stays cached, and the next save of the trial,
once it runs again (its first report, which carries a checkpoint), executes it: the trial ends
TERMINATED where it restarted, short of its steps (seen in CI: a PBT member ended at step 300 of
400 after the round at 300 exploited it). The fix drops that STOP once the trial is PAUSED, as
``pause_trial`` means to (tests/test_ray_fixes.py with Ray's own pause code; the PBT tests of
tests/study/test_pbt.py end to end).
"""

from __future__ import annotations

import logging
from typing import Any

_PATCHED = "_palrnn_reset_failure_retried"
_PAUSE_PATCHED = "_palrnn_pause_keeps_no_stop"


def apply() -> bool:
    """Apply both fixes once; False when this Ray lacks what they patch (another Ray version:
    nothing is changed, and the tests above say whether Ray needs them)."""
    return _retry_reset_failures() & _pause_drops_stale_stop()


def _retry_reset_failures() -> bool:
    """Patch ``TuneController._trial_task_failure`` (the first fix)."""
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


def _pause_drops_stale_stop() -> bool:
    """Patch ``TuneController._schedule_trial_pause`` (the second fix)."""
    from ray.tune.execution.tune_controller import TuneController
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import TrialScheduler

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
