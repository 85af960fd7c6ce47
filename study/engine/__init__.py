"""The engine: the one layer that imports Ray. Ray's API has moved several times (``ray.air`` ->
``ray.train`` -> ``ray.tune``); in Ray 2.60 a Tune function trainable uses
``ray.tune.report/get_context`` and the driver ``ray.tune.RunConfig/FailureConfig``. Keeping every
Ray call here means one layer to change when it moves again.

    session.py       start or join Ray; what the cluster holds
    spec.py          TunerSpec: one Tuner of a plan, as the searchers, schedulers and callbacks see it
    trainable.py     the function trainable: one palrnn run, resumable from its own checkpoint
    tuner.py         a plan's Ray Tuners: run, restore
    collect.py       a Tuner's results as trials.csv and curves.csv, each curve from its checkpoint
    ray_fixes.py     two fixes to Ray Tune, applied at session start: a trial whose reused worker dies
                     as it starts is retried; a trial paused while it saves is not stopped when it runs again
    progress.py      the progress reporter (a ``tune.ProgressReporter``)
    search/          searchers, one per file: optuna.py (``OptunaSearch``), frontier.py (``Searcher``)
    schedulers/      schedulers: ASHA, HyperBand, the median rule (__init__.py), pbt.py, frontier.py
    logger/          logger callbacks, one per file: tensorboard.py (``TBXLoggerCallback``), mlflow.py
                     (``LoggerCallback``); callbacks.py lists a study's
    callbacks/       other Ray callbacks: frontier.py (``tune.Callback``)

Each registry (``SEARCHERS``, ``SCHEDULERS``, ``CALLBACKS``) is keyed by the names a study's kind
gives its Tuners' parts (``study.planning.kinds.TunerParts``).
"""

import os

# Set before ray.tune is imported, which every module of this package does after this runs.
# Ray's newer console output ignores custom progress reporters; the older engine lets ProgressLine
# replace Ray's wide table with one 80-column line.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
# Checkpointing every trial every --checkpoint-every steps forces many small experiment-state
# snapshots; they are cheap here, and Ray's warning about them would flood the terminal.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
