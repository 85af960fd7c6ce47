"""Vanilla RNN, the exercise's equations (docs/exercise.md), for t = 1 ... T with h_0 = 0:

    h_t = tanh(W_hx x_t + W_hh h_{t-1} + b_h)            (1)
    p   = W_ph h_T + b_p                                  (2)
    y_hat = softmax(p), loss = cross-entropy, K = 10 classes

Shapes: W_hx (n, d), W_hh (n, n), b_h (n,), W_ph (K, n), b_p (K,); nd + n^2 + n + Kn + K parameters.
Backends: scratch, equation (1) step by step; stacked, the input term W_hx x_t + b_h for all t in
one matrix product, then one addmm per step; fused, torch's nn.RNN fed W_hx, W_hh, b_h (and a zero
second bias).
"""

from __future__ import annotations

import torch
from torch import nn

from palrnn.models.base import Recurrent


class VanillaRNN(Recurrent):
    RECURRENT = ("W_hh",)
    BACKENDS = ("scratch", "stacked", "fused")

    def __init__(self, input_dim: int = 1, hidden: int = 128, num_classes: int = 10, init: str = "seed",
                 seed: int = 0, backend: str = "stacked") -> None:
        super().__init__(hidden, backend)
        n, d = hidden, input_dim
        self.W_hx = nn.Parameter(torch.empty(n, d))
        self.W_hh = nn.Parameter(torch.empty(n, n))
        self.b_h = nn.Parameter(torch.empty(n))
        self.add_readout(num_classes, init, seed)  # W_ph, b_p; then every parameter drawn
        self.hold_fused(nn.RNN(d, n, batch_first=True, nonlinearity="tanh"))

    def cell(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Equation (1): x_t (B, d), h_{t-1} (B, n) -> h_t (B, n), which is also the whole state."""
        h = torch.tanh(x_t @ self.W_hx.T + h @ self.W_hh.T + self.b_h)  # (B, n)
        return h, h

    def _forward_stacked(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        xw = torch.addmm(self.b_h, x.reshape(-1, d), self.W_hx.T).view(B, T, self.hidden)  # (B, T, n)
        W_hh_T = self.W_hh.T
        h = torch.tanh(xw[:, 0])  # h_0 = 0, so W_hh h_0 vanishes
        for t in range(1, T):
            h = torch.tanh(torch.addmm(xw[:, t], h, W_hh_T))
        return h

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        return self.run_fused(x, self.W_hx, self.W_hh, self.b_h, torch.zeros_like(self.b_h))
