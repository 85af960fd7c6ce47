"""What a trial does under Population Based Training (``study.engine.schedulers.pbt``).

At each perturbation step it saves its state twice: its own latest checkpoint and a copy that
other members may go on from (``study.results.pbt.boundary_path``), and reports it to Ray with a
small checkpoint naming it (Ray's PBT exploits only trials that report checkpoints). When it
starts, it looks in the decision log for an exploit at its step that it has not made yet: then it
goes on from the other member's state at that step, with the logged lr and max_norm, and keeps its
own curve up to there. The log, not Ray's checkpoint, decides: it is current however the driver
was stopped, and Ray's restored state may lag behind it.

Every file here is a key of the study's store (``study.basics.store``): the study folder, or with
--storage the shared storage, where the scheduler keeps a copy of the log (``mirror_log``), so
that a member on any node goes on from a donor that ran on another.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from study.basics.store import Store, has_scheme
from study.results.checkpoints import load_state
from study.results.pbt import boundary_path, decision, member, member_key, read_log, trained_path


def boundary_key(key: str, step: int) -> str:
    """``boundary_path``'s place as a key of the study's store."""
    return boundary_path("", key, step).as_posix()


def trained_key(path: str) -> str:
    """``trained_path``'s place as a key of the study's store, beside the checkpoint's key ``path``."""
    return trained_path(Path(path)).as_posix()


def log_file(log: str) -> tuple[Store, str]:
    """The decision log (a path, or a URI in the shared storage) as a store and its key."""
    if not has_scheme(log):
        return Store(str(Path(log).parent)), Path(log).name
    from urllib.parse import urlsplit, urlunsplit

    split = urlsplit(log)
    folder, name = split.path.rsplit("/", 1)
    return Store(urlunsplit((split.scheme, split.netloc, folder, split.query, ""))), name


def read_decisions(log: str) -> list[dict[str, Any]]:
    """The decision log the scheduler keeps (none yet: empty), from the study folder or the storage."""
    if not has_scheme(log):
        return read_log(log)
    store, key = log_file(log)
    try:
        return list(json.loads(store.read(key)))
    except FileNotFoundError:
        return []


def mirror_log(local: str | Path, log: str | None) -> None:
    """The scheduler's copy of its log (``local``) in the shared storage (``log``, a URI), before Ray acts on it."""
    if log and has_scheme(log):
        store, key = log_file(log)
        store.write(key, Path(local).read_bytes())


def exploit(state: Any, store: Store, params: dict[str, Any], trial_id: str, log: str,
            lineage: list[dict[str, Any]]) -> tuple[Any, int | None]:
    """(the state to go on from, the member whose weights it took, or None) at ``state``'s step."""
    who = member(trial_id)
    made = decision(read_decisions(log), who, state.step)
    if made is None or any(e["step"] == state.step for e in lineage):
        return state, None
    donor = member_key(params, f"_{made['from']}")
    assert donor is not None
    new = load_state(store, boundary_key(donor, state.step), state.config.device)
    config = made["config"]
    new.perturb(lr=float(config.get("lr", new.config.lr)), max_norm=config.get("max_norm", new.config.max_norm))
    lineage.append({"step": state.step, "from": made["from"], "config": dict(config)})
    return new, made["from"]


def trained_past(store: Store, path: str, step: int) -> None:
    """Note that the trial has trained past its checkpoint at ``step`` (written at the first step after it)."""
    store.write(trained_key(path), str(step).encode())


def marker(store: Store, path: str, saved: Callable[[], int]) -> Callable[[int], None]:
    """The training loop's ``on_step``: at the first step after the checkpoint ``saved()`` names, ``trained_past``."""
    def on_step(step: int) -> None:
        if step == saved() + 1:
            trained_past(store, path, saved())

    return on_step


def paused(store: Store, path: str, step: int) -> bool:
    """Whether a PBT trial starting again from its checkpoint at ``step`` never trained past it: Ray
    paused it at a round, as synchronous PBT does, or stopped it there; not a restart after a fault
    (``restarts``). A worker killed before the first step past a checkpoint reads as paused too."""
    try:
        return int(store.read(trained_key(path)).decode()) != step
    except (OSError, ValueError):
        return True


def save_boundary(store: Store, key: str, path: str, step: int, replace: bool = True) -> None:
    """A copy of the trial's checkpoint at a perturbation step, for others to go on from (not
    ``replace``: only where the worker died before it was made)."""
    target = boundary_key(key, step)
    if not replace and store.exists(target):
        return
    store.write(target, store.read(path))


def report_boundary(result: dict[str, Any], key: str, step: int) -> None:
    """Report ``result`` with a Ray checkpoint that names the saved state (Ray copies it to its storage)."""
    from ray import tune

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pbt.json").write_text(json.dumps({"key": key, "step": step}))
        tune.report(result, checkpoint=tune.Checkpoint.from_directory(folder))


def at_boundary(state: Any, pbt: dict[str, Any] | None) -> bool:
    """Whether a PBT trial's state is at a perturbation step (its end is not one)."""
    return bool(pbt) and not state.done and state.step % pbt["every"] == 0


def report(result: dict[str, Any], state: Any, pbt: dict[str, Any] | None, store: Store, key: str, path: str,
           again: bool = False) -> None:
    """Report ``result`` to Ray (every trial: ``pbt`` is None outside PBT). Under PBT, at a
    perturbation step, with the state others may go on from, also when a restarted trial reports
    its record ``again``: Ray's PBT exploits only a member whose last report had a checkpoint, and
    skips the exploit otherwise."""
    from ray import tune

    if at_boundary(state, pbt):
        save_boundary(store, key, path, state.step, replace=not again)
        report_boundary(result, key, state.step)
    else:
        tune.report(result)
