"""The Ray Tune function trainable: one palrnn run, resumable from its own checkpoint in the study's store.
Under PBT (``schedulers.pbt``) a trial saves, at each perturbation step, a copy of its state others may go
on from (``boundary_path``) and reports a small Ray checkpoint naming it (Ray's PBT exploits only trials
that report checkpoints). Starting, it makes an exploit the decision log holds at its step and it has not
made yet: the donor's state, the logged lr and max_norm, its own curve so far. The log decides, not Ray's
checkpoint: it is current however the driver was stopped (with --storage, its copy there: ``mirror_log``)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ray
from ray import tune

from palrnn.config import Config
from study.basics.layout import CHECKPOINTS
from study.basics.store import Store, has_scheme
from study.results.checkpoints import CONFIG_FIELDS, checkpoint_key, load_state, save_state, trial_key
from study.results.pbt import boundary_path, decision, member, member_key, trained_path


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
        # Never a silently wrong result: start over from step 0, on record (restarted_from_scratch).
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
        carried["restarts"] -= paused(store, path, state.step)  # a pause at a round is not a restart
        state, took = exploit(state, store, params, trial_id, pbt["log"], lineage)
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
        report(metrics(records[-1] if records else state.last), state, pbt, store, key, path, again=True)
    last_saved = state.step
    # PBT: noted at the first step past each checkpoint (late-bound on purpose: the last one saved).
    for record in train(state, on_step=marker(store, path, lambda: last_saved) if pbt else None):  # noqa: B023
        result = metrics(record)
        records.append(result)
        # The checkpoint carries the curve the tables are made of (collect): no evaluation lost or counted twice
        # however the trial, its worker or the driver stopped. Saved before the report: a restart goes on from it.
        if state.done or at_boundary(state, pbt) or state.step - last_saved >= checkpoint_every:
            save(result)
            last_saved = state.step
        report(result, state, pbt, store, key, path)


def log_file(log: str) -> tuple[Store, str]:
    """The decision log (a path, or a URI in the shared storage) as a store and its key."""
    if not has_scheme(log):
        return Store(str(Path(log).parent)), Path(log).name
    split = urlsplit(log)
    folder, name = split.path.rsplit("/", 1)
    return Store(urlunsplit((split.scheme, split.netloc, folder, split.query, ""))), name


def read_decisions(log: str) -> list[dict[str, Any]]:
    """The decision log the scheduler keeps (none yet: empty), from the study folder or the storage."""
    store, key = log_file(log)
    try:
        return list(json.loads(store.read(key)))
    except FileNotFoundError:
        return []


def mirror_log(local: str | Path, log: str | None) -> None:
    """The scheduler's copy of its log (``local``) in the shared storage (``log``, a URI)."""
    if log and has_scheme(log):
        store, key = log_file(log)
        store.write(key, Path(local).read_bytes())


def exploit(state: Any, store: Store, params: dict[str, Any], trial_id: str, log: str,
            lineage: list[dict[str, Any]]) -> tuple[Any, int | None]:
    """(the state to go on from, the member whose weights it took, or None) at ``state``'s step."""
    made = decision(read_decisions(log), member(trial_id), state.step)
    if made is None or any(e["step"] == state.step for e in lineage):
        return state, None
    donor = member_key(params, f"_{made['from']}")
    new = load_state(store, boundary_path("", donor, state.step).as_posix(), state.config.device)
    config = made["config"]
    new.perturb(lr=float(config.get("lr", new.config.lr)), max_norm=config.get("max_norm", new.config.max_norm))
    lineage.append({"step": state.step, "from": made["from"], "config": dict(config)})
    return new, made["from"]


def marker(store: Store, path: str, saved: Callable[[], int]) -> Callable[[int], None]:
    """The training loop's ``on_step``: at the first step after the checkpoint ``saved()`` names, a note
    that the trial trained past it (``paused`` reads it)."""
    def on_step(step: int) -> None:
        if step == saved() + 1:
            store.write(trained_path(Path(path)).as_posix(), str(saved()).encode())

    return on_step


def paused(store: Store, path: str, step: int) -> bool:
    """Whether a PBT trial starting again from its checkpoint at ``step`` never trained past it: Ray
    paused it at a round (synchronous PBT does), or stopped it there; not a restart after a fault. A
    worker killed before the first step past a checkpoint reads as paused too."""
    try:
        return int(store.read(trained_path(Path(path)).as_posix()).decode()) != step
    except (OSError, ValueError):
        return True


def at_boundary(state: Any, pbt: dict[str, Any] | None) -> bool:
    """Whether a PBT trial's state is at a perturbation step (its end is not one)."""
    return bool(pbt) and not state.done and state.step % pbt["every"] == 0


def report(result: dict[str, Any], state: Any, pbt: dict[str, Any] | None, store: Store, key: str, path: str,
           again: bool = False) -> None:
    """Report ``result`` to Ray; under PBT at a perturbation step, with a copy of the state for others to
    go on from (when ``again``, a restarted trial's record reported again, only where the worker died
    before it was made) and a Ray checkpoint naming it: Ray's PBT exploits only a member whose last
    report had one."""
    if not at_boundary(state, pbt):
        tune.report(result)
        return
    target = boundary_path("", key, state.step).as_posix()
    if not again or not store.exists(target):
        store.write(target, store.read(path))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pbt.json").write_text(json.dumps({"key": key, "step": state.step}))
        tune.report(result, checkpoint=tune.Checkpoint.from_directory(folder))
