"""Vanilla RNN, the exercise's equations (docs/exercise.md), for t = 1 ... T with h_0 = 0:

    h_t = tanh(W_hx x_t + W_hh h_{t-1} + b_h)            (1)
    p   = W_ph h_T + b_p                                  (2)
    y_hat = softmax(p), loss = cross-entropy, K = 10 classes

Shapes: W_hx (n, d), W_hh (n, n), b_h (n,), W_ph (K, n), b_p (K,). Parameters: nd + n^2 + n + Kn + K.
Inputs are batch-first, x (B, T, d); any batch size. Only the last step's output is used.

Backends compute the same mathematics:
  scratch  equation (1) step by step, as written;
  stacked  the input term W_hx x_t + b_h for all t in one matrix product, then one addmm per step;
  fused    torch's nn.RNN kernel fed W_hx, W_hh, b_h (and a zero second bias).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from palrnn.models.init import initialise


class VanillaRNN(nn.Module):
    RECURRENT = ("W_hh",)

    def __init__(
        self,
        input_dim: int = 1,
        hidden: int = 128,
        num_classes: int = 10,
        init: str = "seed",
        seed: int = 0,
        backend: str = "stacked",
    ) -> None:
        super().__init__()
        n, d, k = hidden, input_dim, num_classes
        self.hidden, self.backend = hidden, backend
        self.W_hx = nn.Parameter(torch.empty(n, d))
        self.W_hh = nn.Parameter(torch.empty(n, n))
        self.b_h = nn.Parameter(torch.empty(n))
        self.W_ph = nn.Parameter(torch.empty(k, n))
        self.b_p = nn.Parameter(torch.empty(k))
        initialise(self, init, hidden, self.RECURRENT, seed)
        # The fused kernel's parameter holder; its own weights are never used (functional_call
        # swaps ours in), so they are built at the smallest size and kept out of state_dict.
        object.__setattr__(self, "_fused", nn.RNN(d, n, batch_first=True, nonlinearity="tanh"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d) -> logits (B, K) from the last step."""
        h = self.last_hidden(x)  # (B, n)
        return h @ self.W_ph.T + self.b_p  # (B, K)

    def last_hidden(self, x: torch.Tensor) -> torch.Tensor:
        if self.backend == "scratch":
            return self.hidden_states(x)[:, -1]
        if self.backend == "fused":
            return self._forward_fused(x)
        return self._forward_stacked(x)

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """All h_t, equation (1) as written: x (B, T, d) -> (B, T, n)."""
        return torch.stack(self.step_states(x), dim=1)

    def step_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """h_1 ... h_T as the separate tensors the recurrence computes (analysis takes dL/dh_t of each)."""
        B, T, _ = x.shape
        h = x.new_zeros(B, self.hidden)  # h_0 = 0
        hs = []
        for t in range(T):
            h = torch.tanh(x[:, t] @ self.W_hx.T + h @ self.W_hh.T + self.b_h)  # (B, n)
            hs.append(h)
        return hs

    def _forward_stacked(self, x: torch.Tensor) -> torch.Tensor:
        xw = torch.addmm(self.b_h, x.reshape(-1, x.shape[-1]), self.W_hx.T)  # (B*T, n)
        xw = xw.view(x.shape[0], x.shape[1], self.hidden)  # (B, T, n)
        W_hh_T = self.W_hh.T
        h = torch.tanh(xw[:, 0])  # h_0 = 0, so W_hh h_0 vanishes
        for t in range(1, x.shape[1]):
            h = torch.tanh(torch.addmm(xw[:, t], h, W_hh_T))
        return h

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        weights = {
            "weight_ih_l0": self.W_hx,
            "weight_hh_l0": self.W_hh,
            "bias_ih_l0": self.b_h,
            "bias_hh_l0": torch.zeros_like(self.b_h),
        }
        self._fused.to(x.device)
        _, h_n = functional_call(self._fused, weights, (x,))  # h_n (1, B, n)
        return h_n[0]
