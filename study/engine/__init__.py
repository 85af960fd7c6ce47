"""The engine: the one layer that imports Ray (Ray's API moves: one layer to change when it does).

    tuner.py       start or join Ray; a plan's Tuners run and restored; their results as the study's tables
    spec.py        TunerSpec: one Tuner of a plan, as the searchers, schedulers and callbacks see it
    trainable.py   the function trainable: one palrnn run, resumable from its own checkpoint; under PBT
    ray_fixes.py   two fixes to Ray Tune, applied at session start
    nodes.py       every node reaches the study's storage before the first trial
    search/        SEARCHERS: optuna.py, frontier.py (with the frontier's scheduler and callback)
    schedulers/    SCHEDULERS: ASHA, HyperBand, the median rule; pbt.py
    logger.py      the trackers (TensorBoard, MLflow) and CALLBACKS
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
