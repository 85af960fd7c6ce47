"""The engine, the one layer that imports Ray (Ray's API moves: one layer to change when it does); its
modules are listed in docs/design.md."""

import os

# Set before ray.tune is imported, which every module of this package does after this runs.
# Ray's newer console output ignores custom progress reporters; the older engine lets ProgressLine
# replace Ray's wide table with one 80-column line.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
# Checkpointing every trial every --checkpoint-every steps forces many small experiment-state
# snapshots; they are cheap here, and Ray's warning about them would flood the terminal.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
