"""The Ray Tune function trainable: one palrnn training run, resumable from its own checkpoint."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import ray
from ray import tune

from palrnn.config import Config
from study.results.checkpoints import CONFIG_FIELDS, checkpoint_path, trial_key


def palrnn_trial(params: dict[str, Any], study_folder: str = ".", checkpoint_every: int = 1000,
                 threads: int = 1) -> None:
    """A Ray Tune function trainable: one palrnn training run, resumable from its checkpoint."""
    import torch

    from palrnn.train import CheckpointError, load_checkpoint, new_state, save_checkpoint, train

    torch.set_num_threads(threads)
    logging.getLogger("ray").setLevel(logging.WARNING)
    config = Config.from_dict({k: v for k, v in params.items() if k in CONFIG_FIELDS})
    if ray.get_gpu_ids() and config.device == "cpu":
        config = config.replace(device="cuda")  # Ray sets CUDA_VISIBLE_DEVICES to the trial's GPU
    node = ray.get_runtime_context().get_node_id()
    path = checkpoint_path(study_folder, trial_key(params))
    trial_id = tune.get_context().get_trial_id()
    path.parent.mkdir(parents=True, exist_ok=True)
    wall_before, restarts, from_scratch, records = 0.0, 0, False, []
    state = None
    if path.exists():  # a restart after a failure, or a resumed study: continue where it stopped
        try:
            state = load_checkpoint(path, device=config.device)
            wall_before, restarts = state.extra["wall_seconds"], state.extra["restarts"] + 1
            from_scratch, records = state.extra["restarted_from_scratch"], list(state.extra["records"])
        except (CheckpointError, KeyError, TypeError) as exc:
            # A corrupt checkpoint must not give a silently wrong result: start the trial over
            # from step 0 and record it (restarted_from_scratch), so the tables show it.
            print(f"palrnn: {exc}; restarting this trial from step 0")
            state, from_scratch, records = None, True, []
    start = time.perf_counter()
    fresh = state is None
    if state is None:
        state = new_state(config)
    n_params = sum(p.numel() for p in state.model.parameters())  # a search may minimise it

    def metrics(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "node": node, "restarts": restarts, "restarted_from_scratch": from_scratch,
                "params": n_params, "wall_seconds": wall_before + time.perf_counter() - start}

    if not fresh and state.last:
        # The record saved with the checkpoint may never have reached Ray (the worker died between
        # the two): report it again. A trial whose checkpoint is its end reports only this.
        tune.report(metrics(state.last))
    last_saved = state.step
    for record in train(state):
        result = metrics(record)
        records.append(result)
        # The checkpoint carries the trial's curve, every record up to its step: the tables are
        # made from it (collect), so no evaluation is lost or counted twice however the trial,
        # its worker or the driver was stopped. Saved before the report: a restarted trial goes
        # on from the last record saved.
        if state.done or state.step - last_saved >= checkpoint_every:
            save_checkpoint(state, path, extra={"wall_seconds": result["wall_seconds"], "restarts": restarts,
                                                "restarted_from_scratch": from_scratch, "records": records,
                                                "pid": os.getpid(), "trial_id": trial_id})
            last_saved = state.step
        tune.report(result)
