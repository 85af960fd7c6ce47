"""The architectures, one file each, and the one place that builds a model from a Config. A new one
is a file here and its line in ``ARCHITECTURES`` (docs/extending.md, "A new model")."""

from __future__ import annotations

import torch
from torch import nn

from palrnn.config import GATED_MODELS, INITS, MODELS, NUM_CLASSES, Config, check_model, import_model
from palrnn.models.base import Recurrent
from palrnn.models.gru import GRU
from palrnn.models.init import SCHEMES, base_init
from palrnn.models.lstm import LSTM
from palrnn.models.rnn import VanillaRNN

ARCHITECTURES: dict[str, type[nn.Module]] = {"RNN": VanillaRNN, "LSTM": LSTM, "GRU": GRU}

# The config's torch-free lists of names, checked against the registries once, here.
if tuple(ARCHITECTURES) != MODELS or {m for m, c in ARCHITECTURES.items() if c.GATED} != set(GATED_MODELS):
    raise ImportError(f"palrnn.models.ARCHITECTURES {list(ARCHITECTURES)} disagrees with palrnn.config.MODELS "
                      f"{MODELS} or GATED_MODELS {GATED_MODELS}: a built-in model needs its name in both")
if tuple(SCHEMES) != INITS:
    raise ImportError(f"palrnn.models.init.SCHEMES {list(SCHEMES)} disagrees with palrnn.config.INITS {INITS}")

# The fastest backend per (model, device type), from `python -m palrnn.bench` (docs/speed.md); every
# backend is tested to agree with `scratch`. GRU on cuda is cuDNN's kernel as for the others, not yet timed.
FASTEST = {(model, device): "fused" for model in MODELS for device in ("cpu", "cuda")}


def architecture(name: str) -> type[nn.Module]:
    """The class a config's ``model`` names: a built-in (ARCHITECTURES) or "MODULE:CLASS" (imported);
    ValueError "model: ..." for anything else (palrnn.config.check_model)."""
    return import_model(name) or ARCHITECTURES[name]


def resolve_backend(config: Config) -> str:
    if config.backend != "auto":
        return config.backend
    fastest = FASTEST.get((config.model, config.device.split(":")[0]))
    if fastest is not None:
        return fastest
    # Not timed: stacked, where the model has it (a custom model may have the scratch recurrence only).
    return "stacked" if "stacked" in getattr(architecture(config.model), "BACKENDS", ("stacked",)) else "scratch"


def build_model(config: Config) -> nn.Module:
    cls = architecture(config.model)
    then = SCHEMES[config.init].then  # chrono's: the gate biases for the horizon T_max = T (init.py)
    # Only a model with a forget gate (the LSTM) takes forget_bias; with a `then`, it is added after it.
    forget_gate = getattr(cls, "FORGET_GATE", False)
    extra = {"forget_bias": 0.0 if then else config.forget_bias} if forget_gate else {}
    model = cls(input_dim=config.input_dim, hidden=config.hidden, num_classes=NUM_CLASSES, init=base_init(config.init),
                seed=config.seed, backend=resolve_backend(config), **extra)
    if then is not None:
        then(model, config.length, config.seed)
        if forget_gate:
            with torch.no_grad():
                model.b_f += config.forget_bias
    return model.to(config.device)


__all__ = ["ARCHITECTURES", "GRU", "LSTM", "Recurrent", "VanillaRNN", "architecture", "build_model", "check_model",
           "resolve_backend"]
