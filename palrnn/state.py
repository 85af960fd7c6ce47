"""A training run's state: model, optimizer, batch generator and loop bookkeeping, everything a
run needs to continue exactly where it stopped (palrnn.train runs it, palrnn.checkpoint saves it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from palrnn.config import RESUMABLE, Config
from palrnn.data import Palindromes
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
    # The target bookkeeping below is a function of ``history`` and the config's target and
    # patience (``target_bookkeeping``); ``reconfigure`` recomputes it when they change.
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


def count_evaluation(before: Bookkeeping, step: int, accuracy: float, target: float, patience: int) -> Bookkeeping:
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
        result = count_evaluation(result, step, accuracy, target, patience)
    return result


def empty_window() -> dict[str, float]:
    return {"loss": 0.0, "correct": 0.0, "steps": 0.0, "grad_norm": 0.0, "grad_norm_max": 0.0, "seconds": 0.0}


def new_state(config: Config) -> TrainState:
    model = build_model(config)
    data = Palindromes(config.length, config.eval_fraction, config.eval_size, config.input == "onehot", config.device)
    # The training batches' generator: a CPU one on every device, so one seed is one data stream.
    generator = torch.Generator(device="cpu").manual_seed(config.seed + 1_000_003)
    return TrainState(config, model, make_optimizer(config, model.parameters()), generator, data)
