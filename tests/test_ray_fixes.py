"""study.engine.ray_fixes' second fix, on Ray Tune's own pause code: a trial paused again (without
a save, as PBT pauses the member it exploits) while the save of its first pause is in flight is
paused, and no STOP stays cached for its next save to execute. The controller's collaborators
(its actor manager, the resource bookkeeping) are stand-ins; ``pause_trial``,
``_schedule_trial_pause`` and ``_schedule_trial_stop`` are Ray's. No Ray is started.

The fixes are applied when a study starts or joins Ray (``study.engine.tuner.init_ray``), once
however often, and not by importing the engine."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest


def _controller():
    from ray.tune.execution.tune_controller import TuneController

    controller = TuneController.__new__(TuneController)  # no __init__: no Ray, no experiment
    controller.__dict__.update(
        _cached_trial_decisions={}, _trial_to_actor={}, _actor_to_trial={}, _trials_to_cache=set(),
        _pending_trials=set(), _running_trials=set(), _paused_trials=set(), _stopped_trials=set(),
        _failed_trials=set(), _pending_trials_list=[], _resources_to_pending_trials=defaultdict(set),
        _reuse_actors=False, _stopping_actors={}, _earliest_stopping_actor=float("inf"),
        _actor_manager=SimpleNamespace(clear_actor_task_futures=lambda tracked_actor: None,
                                       schedule_actor_task=lambda *a, **k: None,
                                       remove_actor=lambda *a, **k: False))
    return controller


def _running_trial(controller):
    from ray.tune.experiment import Trial

    trial = Trial("palrnn_trial", config={}, stub=True)
    controller._pending_trials.add(trial)
    controller._set_trial_status(trial, Trial.RUNNING)
    actor = object()
    controller._trial_to_actor[trial], controller._actor_to_trial[actor] = actor, trial
    return trial


@pytest.mark.parametrize("fixed", [True, False])
def test_a_trial_paused_while_it_saves_is_not_stopped_when_it_runs_again(fixed, monkeypatch):
    from ray.tune.execution.tune_controller import TuneController
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import TrialScheduler

    from study.engine import ray_fixes

    assert ray_fixes.apply()
    if not fixed:  # Ray's own code, as before the fix (put back after the test)
        monkeypatch.setattr(TuneController, "_schedule_trial_pause", _unpatched(TuneController._schedule_trial_pause))
    controller = _controller()
    trial = _running_trial(controller)
    # PBT's first pause at the round: a PAUSE with a save, which is in flight...
    controller._cached_trial_decisions[trial.trial_id] = TrialScheduler.PAUSE
    trial.temporary_state.saving_to = object()
    # ...when the round is decided and PBT pauses it again to exploit it, without a save.
    controller.pause_trial(trial, should_checkpoint=False)
    assert trial.status == Trial.PAUSED and not trial.is_saving
    cached = controller._cached_trial_decisions.get(trial.trial_id)
    if fixed:
        assert cached is None  # its next save, when it runs again, executes no decision
    else:
        assert cached == TrialScheduler.STOP  # Ray 2.60's: that save would stop it where it restarted


def _unpatched(patched):
    """Ray's ``_schedule_trial_pause`` under the fix (the fix calls it as ``original``)."""
    (original,) = [c.cell_contents for c in patched.__closure__ or () if getattr(c.cell_contents, "__name__", "")
                   == "_schedule_trial_pause" and c.cell_contents is not patched]
    return original


ROOT = Path(__file__).resolve().parents[1]
APPLIED = """
from ray.tune.execution.tune_controller import TuneController as C

def applied():
    return [getattr(getattr(C, m), f, False) for m, f in (("_trial_task_failure", "_palrnn_reset_failure_retried"),
                                                          ("_schedule_trial_pause", "_palrnn_pause_keeps_no_stop"))]
"""


def test_the_fixes_are_applied_at_session_start_once_not_on_import():
    """In a fresh interpreter: the whole engine imported, Ray's controller is as Ray wrote it; a
    session's start applies both fixes; applying them again changes nothing (no fix wraps a fix).
    Ray is not started: ``ray.is_initialized`` says it runs already, as where a study joins it."""
    code = APPLIED + """
import ray
import study.engine.tuner as session
from study.engine import ray_fixes
assert applied() == [False, False], applied()
ray.is_initialized = lambda: True
assert session.init_ray(None, 1, "127.0.0.1", 0, 128) is None
assert applied() == [True, True], applied()
first = (C._trial_task_failure, C._schedule_trial_pause)
assert ray_fixes.apply() and session.init_ray(None, 1, "127.0.0.1", 0, 128) is None
assert (C._trial_task_failure, C._schedule_trial_pause) == first
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]
