"""The training loop, checkpoints that resume bit-exactly, and one-call ``fit``.

``train(state)`` is a generator: every ``eval_every`` steps (and at the end) it yields one
metrics record, named in the shared vocabulary of docs/design.md, and lets the caller (the CLI,
a test, a Ray trial) decide what to do with it: print it, report it, checkpoint ``state`` while
the loop waits.

The training batches are drawn by a CPU ``torch.Generator`` on every device (palrnn.data), so a
checkpoint's generator state loads on any device. A checkpoint keeps the evaluation history
(step, eval_accuracy); when it is resumed under another ``target`` or ``patience``, the streak,
``steps_to_target`` and ``stopped_early`` are recomputed from that history under the new rule.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from palrnn.config import Config
from palrnn.data import Palindromes
from palrnn.io import atomic_write
from palrnn.models import build_model

CHECKPOINT_VERSION = 2  # 2: the loop keeps the evaluation history; the generator is always a CPU one
# What a resumed run may change: how long it goes on and when it stops, not what it trains.
RESUMABLE = ("steps", "eval_every", "target", "patience")
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
    # The target bookkeeping below is a function of ``history`` and the config's target and
    # patience (``target_bookkeeping``); ``reconfigure`` recomputes it when they change.
    steps_to_target: int | None = None
    streak: int = 0  # evaluations in a row at or above the target
    diverged: bool = False
    stopped_early: bool = False
    train_correct_all: int = 0  # over every step so far: the exercise's "mean accuracy"
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, eval_accuracy), diverged ones not
    window: dict[str, float] = field(default_factory=lambda: _empty_window())
    last: dict[str, Any] = field(default_factory=dict)  # the latest metrics record
    extra: dict[str, Any] = field(default_factory=dict)  # the caller's own small values, saved with checkpoints

    @property
    def params(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    @property
    def done(self) -> bool:
        return self.diverged or self.stopped_early or self.step >= self.config.steps

    def reconfigure(self, config: Config) -> None:
        """Continue this run under ``config``, which may differ from the current one only in RESUMABLE.

        Any other changed field is a ValueError naming it. The streak, ``steps_to_target`` and
        ``stopped_early`` are recomputed from ``history`` under the new target and patience (and
        the latest metrics record's copies of them with it), so a resumed run never keeps a
        streak counted against an old target.
        """
        old, new = self.config.to_dict(), config.to_dict()
        fixed = [k for k in new if new[k] != old[k] and k not in RESUMABLE]
        if fixed:
            raise ValueError(f"{fixed[0]}: cannot change when resuming a run; only {', '.join(RESUMABLE)} can")
        self.config = config
        self.streak, self.steps_to_target, self.stopped_early = target_bookkeeping(
            self.history, config.target, config.patience
        )
        if self.last:  # a new dict: the old one may be a record a caller holds
            self.last = {**self.last, "steps_to_target": self.steps_to_target, "stopped_early": self.stopped_early,
                         "done": self.done}


    def perturb(self, lr: float, max_norm: float | None) -> None:
        """Go on with another learning rate and clipping norm (PERTURBABLE), from the next step: what
        Population Based Training changes as a run goes on. The optimizer's moment estimates stay."""
        self.config = self.config.replace(lr=lr, max_norm=max_norm)  # checked as any config is
        for group in self.optimizer.param_groups:
            group["lr"] = lr


Bookkeeping = tuple[int, int | None, bool]  # (streak, steps_to_target, stopped_early)


def _count_evaluation(before: Bookkeeping, step: int, accuracy: float, target: float, patience: int) -> Bookkeeping:
    """The one rule: an evaluation at or above ``target`` extends the streak, any other ends it;
    the first one at or above it is ``steps_to_target``; a streak of ``patience`` (> 0) stops the run."""
    streak, steps_to_target, stopped_early = before
    if accuracy >= target:
        streak += 1
        if steps_to_target is None:
            steps_to_target = step
    else:
        streak = 0
    if patience and streak >= patience:
        stopped_early = True
    return streak, steps_to_target, stopped_early


def target_bookkeeping(history: list[tuple[int, float]], target: float, patience: int) -> Bookkeeping:
    """(streak, steps_to_target, stopped_early) after the evaluations in ``history``, in order."""
    result: Bookkeeping = (0, None, False)
    for step, accuracy in history:
        result = _count_evaluation(result, step, accuracy, target, patience)
    return result


def _empty_window() -> dict[str, float]:
    return {"loss": 0.0, "correct": 0.0, "steps": 0.0, "grad_norm": 0.0, "grad_norm_max": 0.0, "seconds": 0.0}


def new_state(config: Config) -> TrainState:
    model = build_model(config)
    data = Palindromes(
        config.length, config.eval_fraction, config.eval_size, config.input == "onehot", config.device
    )
    generator = batch_generator(config.seed)
    return TrainState(config, model, make_optimizer(config, model.parameters()), generator, data)


def batch_generator(seed: int) -> torch.Generator:
    """The training batches' generator: a CPU one on every device, so one seed is one data stream."""
    return torch.Generator(device="cpu").manual_seed(seed + 1_000_003)


@torch.no_grad()
def evaluate(model: nn.Module, data: Palindromes, chunk: int = 8192) -> tuple[float, float]:
    """Held-out (loss, accuracy) over ``data.eval_set()``."""
    x, y = data.eval_set()
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, x.shape[0], chunk):
        logits = model(x[start : start + chunk])
        loss += nn.functional.cross_entropy(logits, y[start : start + chunk], reduction="sum").item()
        correct += int((logits.argmax(1) == y[start : start + chunk]).sum())
    model.train(was_training)
    return loss / x.shape[0], correct / x.shape[0]


def _grad_norm(params: list[torch.Tensor], max_norm: float | None) -> torch.Tensor:
    if max_norm is None:
        return torch.nn.utils.get_total_norm([p.grad for p in params])
    return torch.nn.utils.clip_grad_norm_(params, max_norm)  # returns the norm before clipping


def diverging(config: Config, loss: float, grad_norm: float) -> bool:
    """A step that ends the run as diverged: loss or gradient norm not finite, or loss above ``diverge_loss``.

    tanh keeps these models' states finite, so a too-large learning rate shows as an
    ever-growing loss rather than as NaN; ``diverge_loss`` catches that.
    """
    return not (math.isfinite(loss) and math.isfinite(grad_norm)) or loss > config.diverge_loss


def train_step(state: TrainState) -> tuple[float, float, int]:
    """One step: batch, forward, loss, backward, clip, optimizer step.

    Returns (loss, grad_norm before clipping, correct predictions). On a ``diverging`` step the
    optimizer does not step: a non-finite gradient would write NaN into every parameter, and
    the caller ends the run as diverged anyway, so the parameters stay those the last good step
    left (finite, and evaluated as the run's result).
    """
    cfg = state.config
    params = state.params
    x, y = state.data.train_batch(cfg.batch_size, state.generator)  # (B, T, D), (B,)
    logits = state.model(x)  # (B, K)
    loss = nn.functional.cross_entropy(logits, y)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = _grad_norm(params, cfg.max_norm)  # clipped between backward() and step()
    loss_value, norm_value = loss.item(), norm.item()
    if not diverging(cfg, loss_value, norm_value):
        state.optimizer.step()
    return loss_value, norm_value, int((logits.argmax(1) == y).sum())


def train(state: TrainState, on_step: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Train until ``state.done``; yield a metrics record every ``eval_every`` steps and at the end.

    ``on_step``, the one hook, is called with the step number after every step (a progress bar).
    """
    cfg = state.config
    state.model.train()
    while not state.done:
        t0 = time.perf_counter()
        loss, norm, correct = train_step(state)
        state.step += 1
        if diverging(cfg, loss, norm):  # train_step did not step the optimizer
            state.diverged = True
            yield _record(state, loss, norm)
            return
        state.train_correct_all += correct
        w = state.window
        w["loss"] += loss
        w["correct"] += correct
        w["steps"] += 1
        w["grad_norm"] += norm
        w["grad_norm_max"] = max(w["grad_norm_max"], norm)
        w["seconds"] += time.perf_counter() - t0
        if on_step is not None:
            on_step(state.step)
        if state.step % cfg.eval_every == 0 or state.step >= cfg.steps:
            yield _record(state)


def _record(state: TrainState, bad_loss: float | None = None, bad_norm: float | None = None) -> dict[str, Any]:
    """Evaluate, close the window, update the target bookkeeping; returns the metrics record."""
    cfg, w = state.config, state.window
    # A diverged model is still evaluated: the diverging step was not taken, so its parameters
    # are finite, and its real (usually chance-level) accuracy is what the tables should show.
    eval_loss, eval_accuracy = evaluate(state.model, state.data)
    if not state.diverged:
        state.history.append((state.step, eval_accuracy))
        state.streak, state.steps_to_target, state.stopped_early = _count_evaluation(
            (state.streak, state.steps_to_target, state.stopped_early), state.step, eval_accuracy, cfg.target,
            cfg.patience,
        )
    steps = max(w["steps"], 1.0)
    record = {
        "step": state.step,
        "train_loss": bad_loss if bad_loss is not None else w["loss"] / steps,
        "train_accuracy": w["correct"] / (steps * cfg.batch_size),
        "eval_loss": eval_loss,
        "eval_accuracy": eval_accuracy,
        "examples_per_second": w["steps"] * cfg.batch_size / w["seconds"] if w["seconds"] else 0.0,
        "grad_norm": bad_norm if bad_norm is not None else w["grad_norm"] / steps,
        "grad_norm_max": w["grad_norm_max"],
        "mean_train_accuracy": state.train_correct_all / (max(state.step, 1) * cfg.batch_size),
        "diverged": state.diverged,
        "steps_to_target": state.steps_to_target,
        "stopped_early": state.stopped_early,
        "done": state.done,
    }
    state.window = _empty_window()
    state.last = record
    return record


def fit(config: Config, on_eval: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train one model from scratch to the end; return the last metrics record (plus wall_seconds)."""
    start = time.perf_counter()
    state = new_state(config)
    for record in train(state):
        if on_eval is not None:
            on_eval(record)
    return {**state.last, "wall_seconds": time.perf_counter() - start}


# ---- checkpoints -------------------------------------------------------------------------


def save_checkpoint(state: TrainState, path: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> None:
    """Write model, optimizer, RNG and loop state atomically and durably (palrnn.io.atomic_write).

    A writer killed mid-save leaves the previous checkpoint at ``path`` as it was. ``extra``:
    the caller's own values (numbers, strings, lists, dicts), saved with it and returned as
    ``state.extra`` by ``load_checkpoint``; by default ``state.extra``. It becomes ``state.extra``.
    """
    if extra is not None:
        state.extra = dict(extra)
    payload = {
        "version": CHECKPOINT_VERSION,
        "config": state.config.to_dict(),
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "generator": state.generator.get_state(),
        "loop": {
            "step": state.step,
            # streak, steps_to_target and stopped_early are written for whoever reads the file;
            # load_checkpoint recomputes them from the history under the config it resumes with.
            "steps_to_target": state.steps_to_target,
            "streak": state.streak,
            "diverged": state.diverged,
            "stopped_early": state.stopped_early,
            "train_correct_all": state.train_correct_all,
            "history": [[step, accuracy] for step, accuracy in state.history],
            "window": dict(state.window),
            "last": dict(state.last),
        },
        "extra": dict(state.extra),
    }
    with atomic_write(path, "wb") as f:
        torch.save(payload, f)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and what is wrong."""


_PAYLOAD_KEYS = ("version", "config", "model", "optimizer", "generator", "loop")
_LOOP_TYPES: dict[str, tuple[type, ...]] = {
    "step": (int,),
    "steps_to_target": (int, type(None)),
    "streak": (int,),
    "diverged": (bool,),
    "stopped_early": (bool,),
    "train_correct_all": (int,),
    "history": (list,),
    "window": (dict,),
    "last": (dict,),
}


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
    missing = sorted(set(_empty_window()) - set(loop["window"]))
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


def load_checkpoint(
    path: str | os.PathLike[str], device: str | None = None, overrides: dict[str, Any] | None = None
) -> TrainState:
    """Rebuild a TrainState from ``save_checkpoint``'s file (torch.load with weights_only=True).

    ``device``: build the model and data there instead of the saved device (the generator is a
    CPU one, so its state loads anywhere). ``overrides``: config fields to continue with, only
    RESUMABLE ones may differ from the saved config (``TrainState.reconfigure``; a ValueError
    naming the field otherwise, or for an invalid value). Every problem with the file itself,
    unreadable, another CHECKPOINT_VERSION, a missing or mistyped key, parameters that do not
    fit, is a CheckpointError naming the file.
    """
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling and zip errors all mean the same to the caller
        raise CheckpointError(f"{path}: not a readable palrnn checkpoint ({_first_line(exc)})") from exc
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: not a palrnn checkpoint (holds a {type(payload).__name__}, not a dict)")
    version = payload.get("version")
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {version!r}, but this palrnn reads version {CHECKPOINT_VERSION} only"
        )
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
        raise CheckpointError(
            f"{path}: cannot build the saved model on device {config.device!r} ({_first_line(exc)}); "
            "load it with another device"
        ) from exc
    try:
        state.model.load_state_dict(payload["model"])
        state.optimizer.load_state_dict(payload["optimizer"])
        state.generator.set_state(payload["generator"])
    except Exception as exc:  # shapes, missing parameters, a generator state of the wrong size
        raise CheckpointError(f"{path}: not a readable palrnn checkpoint ({_first_line(exc)})") from exc
    for key in ("step", "diverged", "train_correct_all", "history"):
        setattr(state, key, loop[key])
    state.window = loop["window"]
    state.last = dict(loop["last"])
    state.extra = dict(extra)
    # Config.from_dict: an unknown or invalid override is a ValueError naming the field.
    state.reconfigure(Config.from_dict({**config.to_dict(), **(overrides or {})}))  # recomputes the bookkeeping
    return state
