"""One training run's configuration: a frozen dataclass, validated when built. Each field's
``metadata["help"]`` documents it, and the command line and the study layer build their options
from it (the shared vocabulary of docs/design.md)."""

from __future__ import annotations

import dataclasses
import importlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from palrnn.names import canonical, choice_error, did_you_mean

MODELS = ("RNN", "LSTM", "GRU")
GATED_MODELS = ("LSTM", "GRU")  # the models with gates, which init "chrono" needs
INITS = ("seed", "default", "xavier", "orthogonal", "chrono")
OPTIMIZERS = ("rmsprop", "adam", "sgd")
BACKENDS = ("auto", "scratch", "stacked", "fused")
INPUTS = ("scalar", "onehot")
NUM_CLASSES = 10  # digits 0-9
RESUMABLE = ("steps", "eval_every", "target", "patience")  # what a resumed run may change: not what it trains
# The fields that hold a name, and their names: any case is taken, the config keeps this spelling.
_NAMED = {"model": MODELS, "input": INPUTS, "init": INITS, "optimizer": OPTIMIZERS, "backend": BACKENDS}


def _field(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Config:
    """A training run. Defaults are the exercise's (docs/exercise.md), except where noted."""

    model: str = _field("LSTM", f"architecture, one of {', '.join(MODELS)} (any case), or MODULE:CLASS, a model "
                        "defined outside palrnn (docs/extending.md)")
    length: int = _field(10, "T, the palindrome length the model reads (palindromes have T+1 digits)")
    hidden: int = _field(128, "hidden units n")
    input: str = _field("scalar", "input encoding: scalar (the digit as one float, as in the exercise) or onehot "
                        "(10 floats)")
    init: str = _field("seed", "parameter initialisation: seed (N(0,1) for everything, the exercise's), default "
                       "(PyTorch's uniform +-1/sqrt(hidden)), xavier (Glorot-uniform weights, zero biases), "
                       "orthogonal (orthogonal recurrent matrices, Glorot-uniform input/output weights, zero biases), "
                       "chrono (default, but the LSTM's b_f ~ log U(1, T-1) with b_i = -b_f, the GRU's b_z ~ log U(1, "
                       "T-1), for the horizon T = length; Tallec & Ollivier, 2018; LSTM and GRU only)")
    forget_bias: float = _field(0.0, "added to the LSTM's forget-gate bias b_f after init: 0 is the exercise's, 1 the "
                                "usual remedy for a forget gate that starts half closed (Jozefowicz et al., 2015); "
                                "the RNN and the GRU have no forget gate and ignore it")
    optimizer: str = _field("rmsprop", f"one of {', '.join(OPTIMIZERS)}")
    lr: float = _field(1e-3, "learning rate (> 0)")
    momentum: float = _field(0.9, "momentum of sgd (ignored by rmsprop and adam)")
    batch_size: int = _field(128, "sequences per training step")
    max_norm: float | None = _field(10.0, "gradient-norm clipping, applied between backward() and step(); none "
                                    "turns it off")
    steps: int = _field(10_000, "training steps (one fresh batch each)")
    eval_every: int = _field(500, "steps between held-out evaluations (each one is a metrics record)")
    eval_fraction: float = _field(0.1, "share of palindromes (by their left half) held out for evaluation, never "
                                  "trained on")
    eval_size: int = _field(4096, "held-out sample size when the held-out set is too large to evaluate whole")
    target: float = _field(0.99, "held-out accuracy that counts as solved (for steps_to_target)")
    patience: int = _field(0, "stop once eval_accuracy has been >= target for this many evaluations in a row; "
                           "0 never")
    diverge_loss: float = _field(100.0, "a step whose loss is above this (or not finite) ends the run as diverged; "
                                 "chance is ln 10 = 2.3 and the exercise's N(0,1) models start near 10-15")
    seed: int = _field(0, "seed of the initialisation and of the training batches")
    backend: str = _field("auto", "how the recurrence is computed: scratch (the equations step by step), stacked "
                          "(gate weights stacked into one matrix), fused (torch's nn.RNN/nn.LSTM/nn.GRU kernels fed "
                          "the same weights), auto (the fastest for the model and device)")
    device: str = _field("cpu", "torch device: cpu, cuda or cuda:N")

    def __post_init__(self) -> None:
        # Names in any case (palrnn.names): the config holds the tables' one spelling.
        for name, allowed in _NAMED.items():
            object.__setattr__(self, name, canonical(getattr(self, name), allowed))
        check_model(self.model)
        for name in ("input", "init"):
            _check_choice(name, getattr(self, name), _NAMED[name])
        if self.init == "chrono" and not is_gated(self.model):
            custom = "" if self.model in MODELS else " (its class's GATED is not True)"
            raise ValueError(f"init: chrono needs a gated model ({', '.join(GATED_MODELS)}), got {self.model}{custom}")
        for name in ("optimizer", "backend"):
            _check_choice(name, getattr(self, name), _NAMED[name])
        if self.model not in MODELS and self.backend != "auto":  # a class may implement fewer (its BACKENDS)
            implemented = getattr(import_model(self.model), "BACKENDS", BACKENDS[1:])
            _check_choice("backend", self.backend, ("auto", *implemented))
        for name in ("length", "hidden", "batch_size", "steps", "eval_every", "eval_size"):
            _check_int(name, getattr(self, name), low=1)
        _check_int("patience", self.patience, low=0)
        _check_int("seed", self.seed, low=0)
        _check_float("lr", self.lr, positive=True)
        _check_float("forget_bias", self.forget_bias)
        _check_float("momentum", self.momentum)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum: must be in [0, 1), got {self.momentum!r}")
        if self.max_norm is not None:
            _check_float("max_norm", self.max_norm, positive=True, extra=" or none")
        _check_float("diverge_loss", self.diverge_loss, positive=True)
        _check_float("eval_fraction", self.eval_fraction)
        if not 0.0 < self.eval_fraction < 0.5:
            raise ValueError(f"eval_fraction: must be in (0, 0.5), got {self.eval_fraction!r}")
        _check_float("target", self.target)
        if not 0.0 < self.target <= 1.0:
            raise ValueError(f"target: must be in (0, 1], got {self.target!r}")
        if not isinstance(self.device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?|mps", self.device):
            raise ValueError(f"device: must be cpu, cuda, cuda:N or mps, got {self.device!r}")

    @property
    def input_dim(self) -> int:
        return NUM_CLASSES if self.input == "onehot" else 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build from a dict of field values; unknown keys are an error naming them."""
        unknown = sorted(set(values) - set(field_names()))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown config field; allowed: {', '.join(sorted(field_names()))}")
        return cls(**values)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def parse_value(name: str, text: str) -> Any:
    """Turn a command-line string into the type of field ``name`` (ValueError naming it)."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    if name not in fields:
        raise ValueError(f"{name}: unknown config field; allowed: {', '.join(fields)}")
    default, text = fields[name].default, text.strip()
    if name == "max_norm" and text.lower() in ("none", "off", "inf", ""):
        return None
    number = float if isinstance(default, float) else int if isinstance(default, int) else None
    try:
        return text if number is None else number(text)
    except ValueError:
        raise ValueError(f"{name}: must be {'a number' if number is float else 'an integer'}, got {text!r}") from None


_MODEL_FORMS = f"one of {', '.join(MODELS)}, or MODULE:CLASS naming an nn.Module subclass (docs/extending.md)"


def check_model(name: str) -> str:
    """``name`` in its one spelling if it names a model, else a one-line ValueError "model: ...". A
    built-in name imports nothing; "MODULE:CLASS" is imported now, so that a path that does not
    import is refused when the Config is built, not when the model is (docs/extending.md)."""
    import_model(name)
    return canonical(name, MODELS)


def import_model(name: Any) -> type | None:
    """The class a "MODULE:CLASS" model names; None for a built-in name; ValueError "model: ..." otherwise."""
    if isinstance(name, str) and canonical(name, MODELS) in MODELS:
        return None
    module_name, sep, class_name = name.partition(":") if isinstance(name, str) else ("", "", "")
    if not (sep and module_name and class_name):
        raise ValueError(f"model: must be {_MODEL_FORMS}, got {name!r}{did_you_mean(name, MODELS)}")
    try:
        cls: Any = importlib.import_module(module_name)
        for part in class_name.split("."):
            cls = getattr(cls, part)
    except Exception as exc:  # any failure of the user's module: one line, naming the field
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise ValueError(f"model: cannot import {name!r} ({type(exc).__name__}: {reason}); "
                         f"must be {_MODEL_FORMS}") from None
    from torch import nn

    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"model: {name!r} is not a class derived from nn.Module; must be {_MODEL_FORMS}")
    return cls


def is_gated(model: str) -> bool:
    """Whether ``model`` has the gates init "chrono" redraws: GATED_MODELS, or a class whose GATED is True."""
    cls = import_model(model)
    return canonical(model, MODELS) in GATED_MODELS if cls is None else getattr(cls, "GATED", False) is True


def _check_choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}: {choice_error(value, allowed)}")


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")


def _check_float(name: str, value: Any, positive: bool = False, extra: str = "") -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0):
        raise ValueError(f"{name}: must be a finite number{' > 0' if positive else ''}{extra}, got {value!r}")
