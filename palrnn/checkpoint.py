"""A training run's state (model, optimizer, batch generator, loop bookkeeping: everything it needs to
continue exactly where it stopped; palrnn.train runs it) and its checkpoints, which resume it bit-exactly,
as a file or as bytes. The generator is a CPU one, so a checkpoint loads on any device;
``load_checkpoint`` checks every part and turns every problem with it into a CheckpointError naming it."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from palrnn.config import RESUMABLE, Config
from palrnn.data import Palindromes
from palrnn.io import atomic_write
from palrnn.models import build_model

PERTURBABLE = ("lr", "max_norm")  # what Population Based Training may change as a run goes on (perturb)


def make_optimizer(config: Config, params: Any) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)
    return torch.optim.RMSprop(params, lr=config.lr)  # the exercise's: torch's defaults but lr


@dataclass
class TrainState:
    """Everything a run needs to continue exactly where it stopped."""

    config: Config
    model: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # draws the training batches; always a CPU generator (palrnn.data)
    data: Palindromes
    step: int = 0
    # steps_to_target, streak, stopped_early: target_bookkeeping of ``history`` (``recount``).
    steps_to_target: int | None = None
    streak: int = 0  # evaluations in a row at or above the target
    diverged: bool = False
    stopped_early: bool = False
    train_correct_all: int = 0  # over every step so far: the exercise's "mean accuracy"
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, eval_accuracy), diverged ones not
    window: dict[str, float] = field(default_factory=lambda: empty_window())
    last: dict[str, Any] = field(default_factory=dict)  # the latest metrics record
    extra: dict[str, Any] = field(default_factory=dict)  # the caller's own small values, saved with checkpoints

    @property
    def done(self) -> bool:
        return self.diverged or self.stopped_early or self.step >= self.config.steps

    def reconfigure(self, config: Config) -> None:
        """Continue under ``config``, which may differ only in RESUMABLE (else a ValueError naming the field).
        The target bookkeeping, and the latest record's copy of it, is recounted from ``history``
        under the new target and patience: a resumed run never keeps a streak counted against an old one."""
        old, new = self.config.to_dict(), config.to_dict()
        fixed = [k for k in new if new[k] != old[k] and k not in RESUMABLE]
        if fixed:
            raise ValueError(f"{fixed[0]}: cannot change when resuming a run; only {', '.join(RESUMABLE)} can")
        self.config = config
        self.recount()
        if self.last:  # a new dict: the old one may be a record a caller holds
            self.last = {**self.last, "steps_to_target": self.steps_to_target, "stopped_early": self.stopped_early,
                         "done": self.done}

    def recount(self) -> None:
        """The target bookkeeping from ``history``, under the config's target and patience."""
        self.streak, self.steps_to_target, self.stopped_early = target_bookkeeping(
            self.history, self.config.target, self.config.patience)

    def perturb(self, lr: float, max_norm: float | None) -> None:
        """Go on with another learning rate and clipping norm (PERTURBABLE), from the next step: what
        Population Based Training changes as a run goes on. The optimizer's moment estimates stay."""
        self.config = self.config.replace(lr=lr, max_norm=max_norm)  # checked as any config is
        for group in self.optimizer.param_groups:
            group["lr"] = lr


def target_bookkeeping(history: list[tuple[int, float]], target: float, patience: int) -> tuple[int, int | None, bool]:
    """(streak, steps_to_target, stopped_early) after the evaluations in ``history``, in order. The one
    rule: an evaluation at or above ``target`` extends the streak, any other ends it; the first one at
    or above it is ``steps_to_target``; a streak of ``patience`` (> 0) stops the run."""
    streak, steps_to_target, stopped_early = 0, None, False
    for step, accuracy in history:
        streak = streak + 1 if accuracy >= target else 0
        if streak and steps_to_target is None:
            steps_to_target = step
        stopped_early = stopped_early or bool(patience and streak >= patience)
    return streak, steps_to_target, stopped_early


def empty_window() -> dict[str, float]:
    return {"loss": 0.0, "correct": 0.0, "steps": 0.0, "grad_norm": 0.0, "grad_norm_max": 0.0, "seconds": 0.0}


def new_state(config: Config) -> TrainState:
    model = build_model(config)
    data = Palindromes(config.length, config.eval_fraction, config.eval_size, config.input == "onehot", config.device)
    # The training batches' generator: a CPU one on every device, so one seed is one data stream.
    generator = torch.Generator(device="cpu").manual_seed(config.seed + 1_000_003)
    return TrainState(config, model, make_optimizer(config, model.parameters()), generator, data)


CHECKPOINT_VERSION = 2  # 2: the loop keeps the evaluation history; the generator is always a CPU one


def save_checkpoint(state: TrainState, path: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> None:
    """Write the checkpoint atomically (palrnn.io). ``extra``: the caller's own small values (default
    ``state.extra``), which ``load_checkpoint`` returns as ``state.extra``."""
    with atomic_write(path, "wb") as f:
        torch.save(_payload(state, extra), f)


def checkpoint_bytes(state: TrainState, extra: dict[str, Any] | None = None) -> bytes:
    """The bytes ``save_checkpoint`` writes, for a caller that keeps them elsewhere (an object store)."""
    buffer = io.BytesIO()
    torch.save(_payload(state, extra), buffer)
    return buffer.getvalue()


def _payload(state: TrainState, extra: dict[str, Any] | None) -> dict[str, Any]:
    if extra is not None:
        state.extra = dict(extra)
    return {
        "version": CHECKPOINT_VERSION, "config": state.config.to_dict(), "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(), "generator": state.generator.get_state(),
        # streak, steps_to_target and stopped_early are written for whoever reads the file;
        # load_checkpoint recomputes them from the history under the config it resumes with.
        "loop": {**{key: getattr(state, key) for key in _LOOP_TYPES}, "history": [list(e) for e in state.history],
                 "window": dict(state.window), "last": dict(state.last)},
        "extra": dict(state.extra),
    }


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and what is wrong."""


_PAYLOAD_KEYS = ("version", "config", "model", "optimizer", "generator", "loop")
_LOOP_TYPES: dict[str, tuple[type, ...]] = {
    "step": (int,), "steps_to_target": (int, type(None)), "streak": (int,), "diverged": (bool,),
    "stopped_early": (bool,), "train_correct_all": (int,), "history": (list,), "window": (dict,), "last": (dict,)}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_loop(loop: Any) -> dict[str, Any]:
    """The checkpoint's loop state, every key present and of its type; ValueError saying what is not."""
    if not isinstance(loop, dict):
        raise ValueError(f"loop: expected a dict, got {type(loop).__name__}")
    for key, types in _LOOP_TYPES.items():
        if key not in loop:
            raise ValueError(f"loop: no {key!r}")
        value = loop[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise ValueError(f"loop: {key!r} is a {type(value).__name__}")
    missing = sorted(set(empty_window()) - set(loop["window"]))
    if missing:
        raise ValueError(f"loop: window has no {missing[0]!r}")
    window = {key: float(value) for key, value in loop["window"].items()}
    history = []
    for entry in loop["history"]:
        step, accuracy = entry  # ValueError/TypeError when not a pair
        if isinstance(step, bool) or not isinstance(step, int) or not isinstance(accuracy, (int, float)):
            raise ValueError(f"loop: history entry {entry!r} is not (step, eval_accuracy)")
        history.append((step, float(accuracy)))
    return {**loop, "history": history, "window": window}


def _read(path: str | os.PathLike[str] | bytes, name: str | None) -> tuple[dict[str, Any], Any]:
    """(the payload of a checkpoint file or its bytes, of this CHECKPOINT_VERSION; what messages call it)."""
    raw = isinstance(path, (bytes, bytearray, memoryview))
    source, label = (io.BytesIO(bytes(path)), name or "<bytes>") if raw else (Path(path), Path(path))
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling and zip errors all mean the same to the caller
        raise CheckpointError(f"{label}: not a readable palrnn checkpoint ({_first_line(exc)})") from exc
    if not isinstance(payload, dict):
        raise CheckpointError(f"{label}: not a palrnn checkpoint (holds a {type(payload).__name__}, not a dict)")
    version = payload.get("version")
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(f"{label}: checkpoint version {version!r}, but this palrnn reads version "
                              f"{CHECKPOINT_VERSION} only")
    return payload, label


def load_checkpoint(path: str | os.PathLike[str] | bytes, device: str | None = None,
                    overrides: dict[str, Any] | None = None, name: str | None = None) -> TrainState:
    """A TrainState from ``save_checkpoint``'s file or ``checkpoint_bytes``' bytes (``name``: what messages
    call them), built on ``device`` instead of the saved one, continued under ``overrides`` (RESUMABLE
    config fields only: ``TrainState.reconfigure``'s ValueError otherwise)."""
    payload, path = _read(path, name)
    try:
        missing = [key for key in _PAYLOAD_KEYS if key not in payload]
        if missing:
            raise ValueError(f"no {missing[0]!r}")
        config = Config.from_dict(payload["config"])
        loop = _check_loop(payload["loop"])
        extra = payload.get("extra", {})
        if not isinstance(extra, dict):
            raise ValueError(f"extra: expected a dict, got {type(extra).__name__}")
    except Exception as exc:  # key, type and config errors: the file is not what save_checkpoint writes
        raise CheckpointError(f"{path}: not a readable palrnn checkpoint ({_first_line(exc)})") from exc
    if device is not None:
        config = config.replace(device=device)  # an invalid device is the caller's ValueError
    try:
        state = new_state(config)
    except (RuntimeError, AssertionError) as exc:  # e.g. saved on a GPU this machine does not have
        raise CheckpointError(f"{path}: cannot build the saved model on device {config.device!r} "
                              f"({_first_line(exc)}); load it with another device") from exc
    try:
        state.model.load_state_dict(payload["model"])
        state.optimizer.load_state_dict(payload["optimizer"])
        state.generator.set_state(payload["generator"])
    except Exception as exc:  # shapes, missing parameters, a generator state of the wrong size
        raise CheckpointError(f"{path}: not a readable palrnn checkpoint ({_first_line(exc)})") from exc
    for key in ("step", "diverged", "train_correct_all", "history", "window"):
        setattr(state, key, loop[key])
    state.last, state.extra = dict(loop["last"]), dict(extra)
    # Config.from_dict: an unknown or invalid override is a ValueError naming the field.
    state.reconfigure(Config.from_dict({**config.to_dict(), **(overrides or {})}))  # recomputes the bookkeeping
    return state
