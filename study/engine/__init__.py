"""The engine, the one layer that imports Ray (Ray's API moves: one layer to change when it does); its
modules are listed in docs/design.md."""

import os

# Before ray.tune is imported (every module here does): Ray's older console output, the one that lets
# ProgressLine replace Ray's wide table; and no warning about the many small experiment-state snapshots
# that checkpointing every --checkpoint-every steps makes (cheap here, the warning would flood the terminal).
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
