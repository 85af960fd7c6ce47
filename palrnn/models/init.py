"""Parameter initialisations shared by every architecture (the `init` config field).

The choice matters a great deal (SEED.md, "Known beyond the exercise"): with ``seed``'s
N(0, 1) weights and 128 units the recurrent matrix has spectral radius about sqrt(128) ~ 11,
so a tanh RNN starts saturated and its gradients explode.
"""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def initialise(module: nn.Module, init: str, hidden: int, recurrent: tuple[str, ...], seed: int) -> None:
    """Fill ``module``'s parameters in place, in their registration order, from one seeded generator.

    seed:       every parameter ~ N(0, 1)                     (the exercise's torch.randn)
    default:    every parameter ~ U(-1/sqrt(hidden), +1/sqrt(hidden))   (PyTorch's nn.RNN/nn.LSTM)
    xavier:     matrices Glorot-uniform, biases 0
    orthogonal: the recurrent matrices (names in ``recurrent``) orthogonal, other matrices
                Glorot-uniform, biases 0
    Parameters are drawn on the CPU and then copied, so a seed gives the same model on any device.
    """
    g = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(hidden)
    for name, p in module.named_parameters():
        w = torch.empty(p.shape)
        if init == "seed":
            w.normal_(0.0, 1.0, generator=g)
        elif init == "default":
            w.uniform_(-bound, bound, generator=g)
        elif init in ("xavier", "orthogonal"):
            if w.dim() < 2:
                w.zero_()
            elif init == "orthogonal" and name in recurrent:
                nn.init.orthogonal_(w, generator=g)
            else:
                nn.init.xavier_uniform_(w, generator=g)
        else:
            raise ValueError(f"init: must be one of seed, default, xavier, orthogonal, got {init!r}")
        p.copy_(w)
