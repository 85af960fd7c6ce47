"""The architectures, one file each, and the one place that builds a model from a Config."""

from __future__ import annotations

import torch
from torch import nn

from palrnn.config import NUM_CLASSES, Config
from palrnn.models.gru import GRU
from palrnn.models.init import chrono_
from palrnn.models.lstm import LSTM
from palrnn.models.rnn import VanillaRNN

ARCHITECTURES: dict[str, type[nn.Module]] = {"RNN": VanillaRNN, "LSTM": LSTM, "GRU": GRU}

# The fastest correct backend per (model, device type), from `python -m palrnn.bench`
# (README, "Speed"). Every backend is tested to agree with `scratch`.
# GRU on cuda is cuDNN's kernel as for the other two, not yet timed there.
FASTEST = {("RNN", "cpu"): "fused", ("LSTM", "cpu"): "fused", ("RNN", "cuda"): "fused", ("LSTM", "cuda"): "fused",
           ("GRU", "cpu"): "fused", ("GRU", "cuda"): "fused"}


def resolve_backend(config: Config) -> str:
    if config.backend != "auto":
        return config.backend
    device_type = config.device.split(":")[0]
    return FASTEST.get((config.model, device_type), "stacked")


def build_model(config: Config) -> nn.Module:
    cls = ARCHITECTURES[config.model]
    chrono = config.init == "chrono"
    # The RNN and the GRU have no forget gate. Under chrono, forget_bias is added after b_f is redrawn.
    extra = {"forget_bias": 0.0 if chrono else config.forget_bias} if cls is LSTM else {}
    model = cls(
        input_dim=config.input_dim,
        hidden=config.hidden,
        num_classes=NUM_CLASSES,
        init="default" if chrono else config.init,
        seed=config.seed,
        backend=resolve_backend(config),
        **extra,
    )
    if chrono:  # default's draws, then the gate biases for the horizon T_max = T (init.py)
        chrono_(model, horizon=config.length, seed=config.seed)
        if cls is LSTM:
            with torch.no_grad():
                model.b_f += config.forget_bias
    return model.to(config.device)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["ARCHITECTURES", "GRU", "LSTM", "VanillaRNN", "build_model", "count_parameters", "resolve_backend"]
