"""The training loop and one-call ``fit`` (the run's state and checkpoints: palrnn.checkpoint, also
importable from here). ``train(state)`` is a generator: it yields a metrics record (docs/design.md's
vocabulary) every ``eval_every`` steps and at the end, and the caller (the CLI, a test, a Ray trial)
prints it, reports it, or checkpoints ``state`` while the loop waits."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from palrnn.checkpoint import CheckpointError, TrainState, empty_window, load_checkpoint, new_state, save_checkpoint
from palrnn.config import Config
from palrnn.data import Palindromes

__all__ = ["CheckpointError", "TrainState", "diverging", "evaluate", "fit", "load_checkpoint",
           "new_state", "save_checkpoint", "train", "train_step"]


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


def diverging(config: Config, loss: float, grad_norm: float) -> bool:
    """A step that ends the run as diverged: loss or gradient norm not finite, or loss above ``diverge_loss``
    (tanh keeps the states finite, so a too-large learning rate shows as an ever-growing loss, not NaN)."""
    return not (math.isfinite(loss) and math.isfinite(grad_norm)) or loss > config.diverge_loss


def train_step(state: TrainState) -> tuple[float, float, int]:
    """One step: batch, forward, loss, backward, clip, optimizer step; (loss, grad_norm before clipping,
    correct predictions). A ``diverging`` step does not step the optimizer: a non-finite gradient would
    write NaN into every parameter, so they stay the last good step's (finite, evaluated as the result)."""
    cfg, params = state.config, list(state.model.parameters())
    x, y = state.data.train_batch(cfg.batch_size, state.generator)  # (B, T, D), (B,)
    logits = state.model(x)  # (B, K)
    loss = nn.functional.cross_entropy(logits, y)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # Clipped between backward() and step(); clip_grad_norm_ returns the norm before clipping.
    norm = (torch.nn.utils.get_total_norm([p.grad for p in params]) if cfg.max_norm is None
            else torch.nn.utils.clip_grad_norm_(params, cfg.max_norm))
    loss_value, norm_value = loss.item(), norm.item()
    if not diverging(cfg, loss_value, norm_value):
        state.optimizer.step()
    return loss_value, norm_value, int((logits.argmax(1) == y).sum())


def train(state: TrainState, on_step: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Train until ``state.done``; yield a metrics record every ``eval_every`` steps and at the end.
    ``on_step``, the one hook, is called with the step number after every step (a progress bar)."""
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
        state.recount()
    steps = max(w["steps"], 1.0)
    state.last = {
        "step": state.step, "train_loss": bad_loss if bad_loss is not None else w["loss"] / steps,
        "train_accuracy": w["correct"] / (steps * cfg.batch_size), "eval_loss": eval_loss,
        "eval_accuracy": eval_accuracy,
        "examples_per_second": w["steps"] * cfg.batch_size / w["seconds"] if w["seconds"] else 0.0,
        "grad_norm": bad_norm if bad_norm is not None else w["grad_norm"] / steps, "grad_norm_max": w["grad_norm_max"],
        "mean_train_accuracy": state.train_correct_all / (max(state.step, 1) * cfg.batch_size),
        "diverged": state.diverged, "steps_to_target": state.steps_to_target, "stopped_early": state.stopped_early,
        "done": state.done}
    state.window = empty_window()
    return state.last


def fit(config: Config, on_eval: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train one model from scratch to the end; return the last metrics record (plus wall_seconds)."""
    start = time.perf_counter()
    state = new_state(config)
    for record in train(state):
        if on_eval is not None:
            on_eval(record)
    return {**state.last, "wall_seconds": time.perf_counter() - start}
