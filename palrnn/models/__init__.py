"""The architectures, one file each, and the one place that builds a model from a Config."""

from __future__ import annotations

from torch import nn

from palrnn.config import NUM_CLASSES, Config
from palrnn.models.lstm import LSTM
from palrnn.models.rnn import VanillaRNN

ARCHITECTURES: dict[str, type[nn.Module]] = {"RNN": VanillaRNN, "LSTM": LSTM}

# The fastest correct backend per (model, device type), from `python -m palrnn.bench`
# (README, "Speed"). Every backend is tested to agree with `scratch`.
FASTEST = {("RNN", "cpu"): "fused", ("LSTM", "cpu"): "fused", ("RNN", "cuda"): "fused", ("LSTM", "cuda"): "fused"}


def resolve_backend(config: Config) -> str:
    if config.backend != "auto":
        return config.backend
    device_type = config.device.split(":")[0]
    return FASTEST.get((config.model, device_type), "stacked")


def build_model(config: Config) -> nn.Module:
    cls = ARCHITECTURES[config.model]
    extra = {"forget_bias": config.forget_bias} if cls is LSTM else {}  # the RNN has no forget gate
    model = cls(
        input_dim=config.input_dim,
        hidden=config.hidden,
        num_classes=NUM_CLASSES,
        init=config.init,
        seed=config.seed,
        backend=resolve_backend(config),
        **extra,
    )
    return model.to(config.device)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["ARCHITECTURES", "LSTM", "VanillaRNN", "build_model", "count_parameters", "resolve_backend"]
