"""Why long palindromes are hard: the gradient that reaches each step, ||dL/dh_t|| / ||dL/dh_T|| over t.

The later edition of the exercise asks for this plot for an untrained RNN and LSTM on palindromes
of length 100. dL/dh_t is a product of T - t Jacobians (docs/exercise.md): it vanishes when they
shrink vectors and explodes when they stretch them. Which one happens depends on the
initialisation as much as on the architecture, and training changes it. The ratio at t = 1 is
the share of the loss's gradient that reaches the first digit, the one to recall:

    python -m palrnn.analysis --length 100                          every model x init, untrained
    python -m palrnn.analysis --checkpoints results/x/checkpoints/LSTM-T20-*.pt   + trained curves
    python -m palrnn.analysis --train-steps 1000 --train-length 20  + trained by a short run here
    python -m palrnn.analysis --models LSTM GRU --inits default chrono --json curves.json

Every curve is measured on one batch of palindromes of length T (``--length``), whatever length
a trained model was trained at: the models read sequences of any length, so a checkpoint trained
at T = 20 is measured at T = 100, and the output says so ("trained at T = 20, measured at
T = 100"). The states h_t are the scratch recurrence's (each model's ``step_states``, the GRU's
and LSTM's equations as written, whatever backend the model trains with), run in float64 so that
an exploding or vanishing product stays representable as long as it can; a ratio beyond float64
is printed as ``inf`` (overflow) or ``0`` (underflow), never hidden. docs/gradients.md reads the
numbers; ``python -m study.gradients`` draws them.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from palrnn.checkpoint import CheckpointError, load_checkpoint
from palrnn.cli import Parser, UsageError, fail
from palrnn.config import GATED_MODELS, INITS, MODELS, Config
from palrnn.data import Palindromes
from palrnn.io import atomic_write
from palrnn.models import build_model
from palrnn.names import canonical, did_you_mean
from palrnn.train import new_state, train

PROG = "python -m palrnn.analysis"
UNTRAINED, TRAINED = "untrained", "trained"
BATCH = 256  # palindromes the gradient norms are averaged over


def hidden_gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(T,) mean over the batch of ||dL/dh_t||, t = 1 ... T, for the model as it is (untrained or not),
    in the dtype of the model and ``x``. L is the mean cross-entropy of the batch."""
    hs = model.step_states(x)  # T tensors (B, n): the scratch recurrence, for every backend
    loss = nn.functional.cross_entropy(hs[-1] @ model.W_ph.T + model.b_p, y)
    return torch.stack([g.norm(dim=1).mean() for g in torch.autograd.grad(loss, hs)]).detach()


def gradient_ratios(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(ratios, norms), both (T,) float64: ||dL/dh_t|| (mean over the batch) and its ratio to ||dL/dh_T||, on a
    float64 copy of the model. A ratio past float64's range is inf (nan when dL/dh_T is 0), one below it 0."""
    norms = hidden_gradient_norms(copy.deepcopy(model).to(dtype=torch.float64), x.to(torch.float64), y)
    return norms / norms[-1], norms


@dataclass(frozen=True)
class Curve:
    """One model's ||dL/dh_t|| / ||dL/dh_T||, t = 1 ... T (``ratios[t - 1]``), untrained or trained."""

    model: str
    init: str
    state: str  # UNTRAINED or TRAINED
    length: int  # T, the length measured at
    hidden: int
    ratios: tuple[float, ...]
    last_norm: float  # ||dL/dh_T||, mean over the batch
    trained_length: int | None = None  # the length it was trained at (trained curves)
    steps: int | None = None  # training steps taken
    eval_accuracy: float | None = None  # held-out accuracy at the trained length, at the end of training
    diverged: bool = False
    source: str | None = None  # the checkpoint, or "short run"

    @property
    def first(self) -> float:
        """The ratio at t = 1: the share of the gradient that reaches the first digit."""
        return self.ratios[0]

    @property
    def key(self) -> tuple[str, str, str]:
        return self.model, self.init, self.state

    def describe(self) -> str:
        """"untrained", or "trained at T = 20, measured at T = 100 (1000 steps, held-out accuracy 0.97, <source>)"."""
        if self.state == UNTRAINED:
            return UNTRAINED
        how = [None if self.steps is None else f"{self.steps} steps" + (" (diverged)" if self.diverged else ""),
               None if self.eval_accuracy is None else f"held-out accuracy {self.eval_accuracy:.3f}",
               f"hidden {self.hidden}", self.source]
        return f"trained at T = {self.trained_length}, measured at T = {self.length} ({', '.join(filter(None, how))})"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: a ratio beyond float64 is the string "inf" (or "nan"), which float() reads back."""
        numbers = [r if math.isfinite(r) else str(r) for r in (*self.ratios, self.first, self.last_norm)]
        return {**asdict(self), "ratios": numbers[:-2], "t1_ratio": numbers[-2], "last_norm": numbers[-1]}


def format_ratio(value: float) -> str:
    """A ratio as printed: 3.2e-05, or "inf" (beyond float64), "0" (below it), "nan"."""
    return "nan" if math.isnan(value) else "inf" if math.isinf(value) else "0" if value == 0 else f"{value:.2e}"


def pairs(models: Iterable[str] = MODELS, inits: Iterable[str] = INITS) -> list[tuple[str, str]]:
    """Every (model, init) that applies: chrono only for the gated models (it sets gate biases)."""
    inits = list(inits)
    return [(m, i) for m in models for i in inits if i != "chrono" or m in GATED_MODELS]


def measure(model: nn.Module, config: Config, length: int, state: str, batch: int = BATCH, seed: int = 0,
            **trained: Any) -> Curve:
    """The curve of ``model`` (built from ``config``) measured at ``length``, on ``batch`` training palindromes
    drawn from ``seed``; ``trained``: Curve's training fields."""
    x, y = Palindromes(length, onehot=config.input == "onehot").train_batch(batch, torch.Generator().manual_seed(seed))
    ratios, norms = gradient_ratios(model, x.to(config.device), y.to(config.device))
    return Curve(config.model, config.init, state, length, config.hidden, tuple(ratios.cpu().tolist()),
                 norms[-1].item(), **trained)


def untrained_curve(model: str, init: str, length: int, hidden: int = 128, seed: int = 0,
                    batch: int = BATCH) -> Curve:
    """A freshly initialised model (chrono for the horizon ``length``) measured at ``length``."""
    config = Config(model=model, init=init, hidden=hidden, length=length, seed=seed)
    return measure(build_model(config), config, length, UNTRAINED, batch, seed)


def trained_state_curve(state: Any, length: int, source: str | None = None, seed: int = 0,
                        batch: int = BATCH) -> Curve:
    """The curve of a palrnn.checkpoint.TrainState's model (a loaded checkpoint, or a run just made) at ``length``."""
    return measure(state.model, state.config, length, TRAINED, batch, seed, trained_length=state.config.length,
                   steps=state.step, eval_accuracy=(state.last or {}).get("eval_accuracy"),
                   diverged=bool(state.diverged), source=source)


def checkpoint_curve(path: str | Path, length: int, seed: int = 0, batch: int = BATCH) -> Curve:
    """A checkpoint's model (palrnn.checkpoint.save_checkpoint's file) measured at ``length``; its config
    tells model, init, hidden and the length it was trained at. CheckpointError for a bad file."""
    return trained_state_curve(load_checkpoint(path, device="cpu"), length, str(path), seed, batch)


def short_run_curve(model: str, init: str, length: int, steps: int, train_length: int, hidden: int = 128,
                    seed: int = 0, batch: int = BATCH) -> Curve:
    """Train a fresh model ``steps`` steps at ``train_length`` (palrnn.train, the Config defaults
    otherwise, one evaluation at the end), then measure it at ``length``."""
    config = Config(model=model, init=init, hidden=hidden, length=train_length, seed=seed, steps=steps,
                    eval_every=steps)
    state = new_state(config)
    for _ in train(state):
        pass
    return trained_state_curve(state, length, "short run", seed, batch)


def gradient_curves(length: int, hidden: int = 128, models: Sequence[str] = MODELS, inits: Sequence[str] = INITS,
                    checkpoints: Sequence[str | Path] = (), train_steps: int = 0, train_length: int = 20,
                    seed: int = 0, batch: int = BATCH, untrained: bool = True,
                    echo: Callable[[str], None] | None = None) -> list[Curve]:
    """Every curve asked for, measured at ``length``: untrained for each (model, init) of ``pairs``;
    trained from each checkpoint (whatever its model and init); trained by a short run of
    ``train_steps`` at ``train_length`` for each pair when ``train_steps`` > 0. ``echo``: progress lines."""
    todo = pairs(models, inits)
    loaded = [checkpoint_curve(path, length, seed, batch) for path in checkpoints]  # a bad file fails first
    curves = [untrained_curve(m, i, length, hidden, seed, batch) for m, i in todo] if untrained else []
    curves += loaded
    for m, i in todo if train_steps > 0 else []:
        if echo:
            echo(f"training {m} {i}: {train_steps} steps at T = {train_length}, hidden {hidden}")
        curves.append(short_run_curve(m, i, length, train_steps, train_length, hidden, seed, batch))
    return curves


def format_table(curves: Sequence[Curve], length: int, batch: int = BATCH) -> str:
    """One line per curve: the ratio at a few t, the first being t = 1; notes for trained curves and inf/0."""
    shown = sorted({1, 2, length // 4, length // 2, 3 * length // 4, length - 1, length} - {0})  # the t printed
    hiddens = sorted({c.hidden for c in curves})
    lines = [f"||dL/dh_t|| / ||dL/dh_T|| at T = {length}, hidden {', '.join(map(str, hiddens))}, batch {batch} "
             "(mean of ||dL/dh_t|| over the batch, float64); t=1 reaches the digit to recall",
             f"{'model':<5} {'init':<11} {'state':<18}" + "".join(f"{'t=' + str(t):>10}" for t in shown)
             + f"{'|dL/dh_T|':>11}"]
    notes = []
    for c in curves:
        state = UNTRAINED if c.state == UNTRAINED else f"trained at T = {c.trained_length}"
        lines.append(f"{c.model:<5} {c.init:<11} {state:<18}"
                     + "".join(f"{format_ratio(c.ratios[t - 1]):>10}" for t in shown)
                     + f"{format_ratio(c.last_norm):>11}")
        if c.state == TRAINED:
            notes.append(f"  {c.model} {c.init}: {c.describe()}")
    if notes:
        lines += ["trained curves:", *notes]
    if any(not math.isfinite(r) or r == 0 for c in curves for r in c.ratios):
        lines.append("inf: beyond float64's range (overflow); 0: below it (underflow); nan: dL/dh_T is 0")
    return "\n".join(lines)


def write_json(path: str | Path, curves: Sequence[Curve], length: int, batch: int = BATCH, seed: int = 0) -> None:
    """The curves as plain JSON: {length, batch, seed, curves: [{model, init, state, ratios, t1_ratio, ...}]}."""
    data = {"measured": "||dL/dh_t|| / ||dL/dh_T||, t = 1 .. T (ratios[t - 1]), mean of the norms over the batch",
            "length": length, "batch": batch, "seed": seed, "curves": [c.to_json() for c in curves]}
    with atomic_write(path, "w") as f:
        f.write(json.dumps(data, indent=1, allow_nan=False) + "\n")


def _names(values: Sequence[str] | None, allowed: Sequence[str], option: str) -> list[str]:
    """``--models RNN LSTM`` or ``--models rnn,lstm`` (any case): the names, in ``allowed``'s order;
    UsageError otherwise (with "did you mean" for a near miss)."""
    if values is None:
        return list(allowed)
    names = [canonical(v.strip(), allowed) for value in values for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise UsageError(f"{option}: must be one or more of {', '.join(allowed)}, got {bad[0] if bad else 'none'!r}"
                         f"{did_you_mean(bad[0], allowed) if bad else ''}")
    return [a for a in allowed if a in names]


def build_parser() -> Parser:
    p = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--length", type=int, default=100, help="T, the length every curve is measured at (default: 100)")
    p.add_argument("--hidden", type=int, default=128,
                   help="hidden units of the untrained and short-run models (default: 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the models and the measuring batch (default: 0)")
    p.add_argument("--batch", type=int, default=BATCH, help=f"palindromes measured on (default: {BATCH})")
    p.add_argument("--models", nargs="+", metavar="MODEL", help=f"of {', '.join(MODELS)} (default: all)")
    p.add_argument("--inits", nargs="+", metavar="INIT",
                   help=f"of {', '.join(INITS)} (default: all; chrono for the gated models only)")
    p.add_argument("--checkpoints", nargs="+", metavar="PATH", default=[],
                   help="palrnn checkpoints to measure as trained curves (their config says model, init, "
                        "and the length trained at)")
    p.add_argument("--train-steps", type=int, default=0,
                   help="also train each model x init this many steps and measure it (default: 0, none)")
    p.add_argument("--train-length", type=int, default=20, help="T of those short runs (default: 20)")
    p.add_argument("--json", metavar="FILE", help="write the curves here as JSON (default: none)")
    return p


def check_args(args: Any) -> tuple[list[str], list[str]]:
    """(models, inits) from parsed options; UsageError naming the first bad one."""
    for name, low in (("length", 2), ("hidden", 1), ("batch", 1), ("train_length", 1), ("seed", 0), ("train_steps", 0)):
        if getattr(args, name) < low:
            raise UsageError(f"--{name.replace('_', '-')}: must be an integer >= {low}, got {getattr(args, name)}")
    models, inits = _names(args.models, MODELS, "--models"), _names(args.inits, INITS, "--inits")
    if not pairs(models, inits):
        raise UsageError(f"--inits: chrono applies to the gated models only ({', '.join(GATED_MODELS)}), "
                         f"not to {', '.join(models)}")
    for path in args.checkpoints:
        if not Path(path).is_file():
            raise UsageError(f"--checkpoints: {path} is not a file")
    if args.json and (Path(args.json).is_dir() or not Path(args.json).parent.is_dir()):
        raise UsageError(f"--json: cannot write {args.json} (no folder {Path(args.json).parent}, or it is a folder)")
    return models, inits


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        models, inits = check_args(args)
        curves = gradient_curves(args.length, args.hidden, models, inits, args.checkpoints, args.train_steps,
                                 args.train_length, args.seed, args.batch,
                                 echo=lambda line: print(line, file=sys.stderr))
    except UsageError as exc:
        fail(PROG, str(exc))
    except CheckpointError as exc:  # every problem with a checkpoint file: one line, exit 2
        fail(PROG, f"--checkpoints: {exc}")
    print(format_table(curves, args.length, args.batch))
    if args.json:
        write_json(args.json, curves, args.length, args.batch, args.seed)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
