"""The training loop, checkpoints that resume bit-exactly, and one-call ``fit``.

``train(state)`` is a generator: every ``eval_every`` steps (and at the end) it yields one
metrics record, the DESIGN.md names, and lets the caller (the CLI, a test, a Ray trial)
decide what to do with it: print it, report it, checkpoint ``state`` while the loop waits.
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
from palrnn.models import build_model

CHECKPOINT_VERSION = 1


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
    generator: torch.Generator  # draws the training batches
    data: Palindromes
    step: int = 0
    steps_to_target: int | None = None
    streak: int = 0  # evaluations in a row at or above the target
    diverged: bool = False
    stopped_early: bool = False
    train_correct_all: int = 0  # over every step so far: the exercise's "mean accuracy"
    window: dict[str, float] = field(default_factory=lambda: _empty_window())
    last: dict[str, Any] = field(default_factory=dict)  # the latest metrics record

    @property
    def params(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    @property
    def done(self) -> bool:
        return self.diverged or self.stopped_early or self.step >= self.config.steps


def _empty_window() -> dict[str, float]:
    return {"loss": 0.0, "correct": 0.0, "steps": 0.0, "grad_norm": 0.0, "grad_norm_max": 0.0, "seconds": 0.0}


def new_state(config: Config) -> TrainState:
    model = build_model(config)
    data = Palindromes(
        config.length, config.eval_fraction, config.eval_size, config.input == "onehot", config.device
    )
    generator = torch.Generator(device=config.device).manual_seed(config.seed + 1_000_003)
    return TrainState(config, model, make_optimizer(config, model.parameters()), generator, data)


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


def train_step(state: TrainState) -> tuple[float, float, int]:
    """One step: batch, forward, loss, backward, clip, optimizer step.

    Returns (loss, grad_norm before clipping, correct predictions). When the loss or the
    gradient norm is not finite the optimizer does not step (it would write NaN into every
    parameter); the caller ends the run as diverged then, and when the loss exceeds
    ``diverge_loss`` (tanh keeps these models' states finite, so a too-large learning rate
    shows as an ever-growing loss rather than as NaN).
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
    if math.isfinite(loss_value) and math.isfinite(norm_value):
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
        if not (math.isfinite(loss) and math.isfinite(norm)) or loss > cfg.diverge_loss:
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
    # A diverged model is still evaluated: the non-finite step was not taken, so its parameters
    # are finite, and its real (usually chance-level) accuracy is what the tables should show.
    eval_loss, eval_accuracy = evaluate(state.model, state.data)
    if not state.diverged:
        if eval_accuracy >= cfg.target:
            state.streak += 1
            if state.steps_to_target is None:
                state.steps_to_target = state.step
        else:
            state.streak = 0
        if cfg.patience and state.streak >= cfg.patience:
            state.stopped_early = True
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


def save_checkpoint(state: TrainState, path: str | os.PathLike[str]) -> None:
    """Write model, optimizer, RNG and loop state atomically (temporary file, then rename)."""
    path = Path(path)
    payload = {
        "version": CHECKPOINT_VERSION,
        "config": state.config.to_dict(),
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "generator": state.generator.get_state(),
        "loop": {
            "step": state.step,
            "steps_to_target": state.steps_to_target,
            "streak": state.streak,
            "diverged": state.diverged,
            "stopped_early": state.stopped_early,
            "train_correct_all": state.train_correct_all,
            "window": dict(state.window),
            "last": dict(state.last),
        },
    }
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read; the message names the file."""


def load_checkpoint(path: str | os.PathLike[str], device: str | None = None) -> TrainState:
    """Rebuild a TrainState from ``save_checkpoint``'s file (torch.load with weights_only=True)."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        config = Config.from_dict(payload["config"])
        if device is not None:
            config = config.replace(device=device)
        state = new_state(config)
        state.model.load_state_dict(payload["model"])
        state.optimizer.load_state_dict(payload["optimizer"])
        state.generator.set_state(payload["generator"])
        loop = payload["loop"]
    except Exception as exc:  # unpickling, zip, shape and key errors all mean the same to the caller
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable palrnn checkpoint ({first})") from exc
    for key in ("step", "steps_to_target", "streak", "diverged", "stopped_early", "train_correct_all"):
        setattr(state, key, loop[key])
    state.window = dict(loop["window"])
    state.last = dict(loop["last"])
    return state
