"""The Ray Tune function trainable: one palrnn training run, resumable from its own checkpoint.

Its checkpoint is a key of the study's store (``study.basics.store``): a file in the study folder,
as always, or, with --storage, an object every node reaches, so that a trial restarted on another
node goes on from it."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import ray
from ray import tune

from palrnn.config import Config
from study.basics.layout import CHECKPOINTS
from study.basics.store import Store
from study.engine import pbt_trial
from study.results.checkpoints import CONFIG_FIELDS, checkpoint_key, load_state, save_state, trial_key
from study.results.pbt import member, member_key


def _saved(store: Store, path: str, config: Config) -> tuple[Any, dict[str, Any]]:
    """(the state saved at key ``path`` of ``store`` or None, what the trial carries on with)."""
    from palrnn.train import CheckpointError

    carried: dict[str, Any] = {"wall_seconds": 0.0, "restarts": 0, "restarted_from_scratch": False, "records": [],
                               "lineage": []}
    if not store.exists(path):
        return None, carried
    try:  # a restart after a failure, or a resumed study: continue where it stopped
        state = load_state(store, path, config.device)
        extra = state.extra
        return state, {"wall_seconds": extra["wall_seconds"], "restarts": extra["restarts"] + 1,
                       "restarted_from_scratch": extra["restarted_from_scratch"], "records": list(extra["records"]),
                       "lineage": list(extra.get("lineage", []))}
    except FileNotFoundError:  # removed since (a new study of the same name): none
        return None, carried
    except (CheckpointError, KeyError, TypeError) as exc:
        # A corrupt checkpoint must not give a silently wrong result: start the trial over
        # from step 0 and record it (restarted_from_scratch), so the tables show it.
        print(f"palrnn: {exc}; restarting this trial from step 0")
        return None, {**carried, "restarted_from_scratch": True}


def _where(params: dict[str, Any], study_folder: str, pbt: bool) -> tuple[Config, str, str, str, Store, str]:
    """(the trial's config, its node, its Ray trial id, its checkpoint's name, the study's store and
    the checkpoint's key there)."""
    config = Config.from_dict({k: v for k, v in params.items() if k in CONFIG_FIELDS})
    if ray.get_gpu_ids() and config.device == "cpu":
        config = config.replace(device="cuda")  # Ray sets CUDA_VISIBLE_DEVICES to the trial's GPU
    trial_id = tune.get_context().get_trial_id()
    key = str(member_key(params, trial_id) if pbt else trial_key(params))
    store = Store(study_folder)
    if store.local is not None:
        store.path(CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    return config, ray.get_runtime_context().get_node_id(), trial_id, key, store, checkpoint_key(key)


def palrnn_trial(params: dict[str, Any], study_folder: str = ".", checkpoint_every: int = 1000,
                 threads: int = 1, pbt: dict[str, Any] | None = None) -> None:
    """One palrnn training run. ``study_folder``: the study folder, or its --storage URI; ``pbt``: a
    PBT trial's perturbation interval and decision log (its checkpoint is named after its member)."""
    import torch

    from palrnn.train import new_state, train

    torch.set_num_threads(threads)
    logging.getLogger("ray").setLevel(logging.WARNING)
    config, node, trial_id, key, store, path = _where(params, study_folder, bool(pbt))
    state, carried = _saved(store, path, config)
    records, lineage = carried["records"], carried["lineage"]
    start, fresh, took = time.perf_counter(), state is None, None
    if state is None:
        state = new_state(config)
    elif pbt:
        carried["restarts"] -= pbt_trial.paused(store, path, state.step)  # a pause at a round is not a restart
        state, took = pbt_trial.exploit(state, store, params, trial_id, pbt["log"], lineage)
    n_params = sum(p.numel() for p in state.model.parameters())  # a search may minimise it

    def metrics(record: dict[str, Any]) -> dict[str, Any]:
        out = {**record, "node": node, "restarts": carried["restarts"], "params": n_params,
               "restarted_from_scratch": carried["restarted_from_scratch"],
               "wall_seconds": carried["wall_seconds"] + time.perf_counter() - start}
        if pbt:  # what it trains with now, and where its weights came from
            out.update(lr=state.config.lr, max_norm=state.config.max_norm, member=member(trial_id),
                       lineage=json.dumps(lineage, sort_keys=True))
        return out

    def save(result: dict[str, Any]) -> None:
        save_state(store, path, state, {"wall_seconds": result["wall_seconds"], "restarts": carried["restarts"],
                                        "restarted_from_scratch": carried["restarted_from_scratch"],
                                        "records": records, "lineage": lineage, "pid": os.getpid(),
                                        "trial_id": trial_id})

    if took is not None:
        save(metrics(records[-1]))  # the exploit made, once: a restart from here does not make it again
    if not fresh and state.last:
        # The record saved with the checkpoint may never have reached Ray (the worker died between
        # the two): report it again. A trial whose checkpoint is its end reports only this.
        pbt_trial.report(metrics(records[-1] if records else state.last), state, pbt, store, key, path,
                         again=True)
    last_saved = state.step
    # PBT: noted at the first step past each checkpoint (late-bound on purpose: the last one saved).
    for record in train(state, on_step=pbt_trial.marker(store, path, lambda: last_saved) if pbt else None):  # noqa: B023
        result = metrics(record)
        records.append(result)
        # The checkpoint carries the trial's curve, every record up to its step: the tables are
        # made from it (collect), so no evaluation is lost or counted twice however the trial,
        # its worker or the driver was stopped. Saved before the report: a restarted trial goes
        # on from the last record saved.
        if state.done or pbt_trial.at_boundary(state, pbt) or state.step - last_saved >= checkpoint_every:
            save(result)
            last_saved = state.step
        pbt_trial.report(result, state, pbt, store, key, path)
