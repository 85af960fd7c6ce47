"""A toy architecture defined outside palrnn: a leaky RNN, for t = 1 ... T with h_0 = 0,

    h_t = (1 - a) h_{t-1} + a tanh(W_hx x_t + W_hh h_{t-1} + b_h),   a = LEAK = 0.5
    p   = W_ph h_T + b_p

Shapes: W_hx (n, d), W_hh (n, n), b_h (n,), W_ph (K, n), b_p (K,). The scratch backend only.

Used as ``Config(model="tests.toy_arch:ToyRNN")`` or ``python -m palrnn --model tests.toy_arch:ToyRNN``
from the repository root (tests/ is a namespace package there; tests/palrnn/test_extending.py).
"""

from __future__ import annotations

import torch
from torch import nn

from palrnn.models.base import Recurrent

LEAK = 0.5


class ToyRNN(Recurrent):
    RECURRENT = ("W_hh",)

    def __init__(self, input_dim: int = 1, hidden: int = 16, num_classes: int = 10, init: str = "default",
                 seed: int = 0, backend: str = "scratch") -> None:
        super().__init__(hidden, backend)
        self.W_hx = nn.Parameter(torch.empty(hidden, input_dim))
        self.W_hh = nn.Parameter(torch.empty(hidden, hidden))
        self.b_h = nn.Parameter(torch.empty(hidden))
        self.add_readout(num_classes, init, seed)  # W_ph, b_p; then every parameter drawn

    def cell(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = (1 - LEAK) * h + LEAK * torch.tanh(x_t @ self.W_hx.T + h @ self.W_hh.T + self.b_h)  # (B, n)
        return h, h
