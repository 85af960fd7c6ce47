"""LSTM, the exercise's equations (docs/exercise.md), for t = 1 ... T with h_0 = c_0 = 0:

    g_t = tanh   (W_gx x_t + W_gh h_{t-1} + b_g)   input modulation
    i_t = sigmoid(W_ix x_t + W_ih h_{t-1} + b_i)   input gate
    f_t = sigmoid(W_fx x_t + W_fh h_{t-1} + b_f)   forget gate
    o_t = sigmoid(W_ox x_t + W_oh h_{t-1} + b_o)   output gate
    c_t = g_t * i_t + c_{t-1} * f_t
    h_t = tanh(c_t) * o_t
    p   = W_ph h_T + b_p

Shapes: W_*x (n, d), W_*h (n, n), b_* (n,), W_ph (K, n), b_p (K,); 4(nd + n^2 + n) + Kn + K parameters.
``forget_bias`` is added to b_f after initialisation (0, the exercise's, by default). Backends:
scratch, the six equations step by step; stacked, the four gates' weights stacked into one (4n, d)
and one (4n, n) matrix (all steps' input terms in one product, then one addmm per step); fused,
torch's nn.LSTM kernel fed the stacked weights in its gate order (i, f, g, o).
"""

from __future__ import annotations

import torch
from torch import nn

from palrnn.models.base import Recurrent

GATES = ("g", "i", "f", "o")


class LSTM(Recurrent):
    RECURRENT = ("W_gh", "W_ih", "W_fh", "W_oh")
    BACKENDS = ("scratch", "stacked", "fused")
    GATED = True
    FORGET_GATE = True

    def __init__(self, input_dim: int = 1, hidden: int = 128, num_classes: int = 10, init: str = "seed",
                 seed: int = 0, backend: str = "stacked", forget_bias: float = 0.0) -> None:
        super().__init__(hidden, backend)
        n, d = hidden, input_dim
        for gate in GATES:
            setattr(self, f"W_{gate}x", nn.Parameter(torch.empty(n, d)))
            setattr(self, f"W_{gate}h", nn.Parameter(torch.empty(n, n)))
            setattr(self, f"b_{gate}", nn.Parameter(torch.empty(n)))
        self.add_readout(num_classes, init, seed)  # W_ph, b_p; then every parameter drawn
        with torch.no_grad():
            # A forget gate at sigmoid(0) = 0.5 halves c every step: after 20 steps the first digit's
            # trace (and its gradient) is down to 1e-6. A positive bias opens the gate from the start.
            self.b_f += forget_bias
        self.hold_fused(nn.LSTM(d, n, batch_first=True))

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.new_zeros(x.shape[0], self.hidden), x.new_zeros(x.shape[0], self.hidden)  # h_0 = c_0 = 0

    def cell(self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The six equations: x_t (B, d), (h_{t-1}, c_{t-1}) -> h_t, (h_t, c_t), each (B, n)."""
        h, c = state
        g = torch.tanh(x_t @ self.W_gx.T + h @ self.W_gh.T + self.b_g)
        i = torch.sigmoid(x_t @ self.W_ix.T + h @ self.W_ih.T + self.b_i)
        f = torch.sigmoid(x_t @ self.W_fx.T + h @ self.W_fh.T + self.b_f)
        o = torch.sigmoid(x_t @ self.W_ox.T + h @ self.W_oh.T + self.b_o)
        c = g * i + c * f  # (B, n)
        h = torch.tanh(c) * o  # (B, n)
        return h, (h, c)

    def _forward_stacked(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        n = self.hidden
        # Order (i, f, o, g): the three sigmoid gates are one contiguous slice.
        W_x, W_h, b = self.stacked("ifog", "W_{}x", "W_{}h", "b_{}")
        xw = torch.addmm(b, x.reshape(-1, d), W_x.T).view(B, T, 4 * n)  # (B, T, 4n)
        W_h_T = W_h.T
        # Step 1 has h_0 = c_0 = 0: no recurrent product, and c_1 = g_1 * i_1.
        z = xw[:, 0]
        s = torch.sigmoid(z[:, : 3 * n])  # (B, 3n): i, f, o
        c = torch.tanh(z[:, 3 * n :]) * s[:, :n]
        h = torch.tanh(c) * s[:, 2 * n :]
        for t in range(1, T):
            z = torch.addmm(xw[:, t], h, W_h_T)  # (B, 4n)
            s = torch.sigmoid(z[:, : 3 * n])
            c = torch.tanh(z[:, 3 * n :]) * s[:, :n] + c * s[:, n : 2 * n]
            h = torch.tanh(c) * s[:, 2 * n :]
        return h

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        W_x, W_h, b = self.stacked("ifgo", "W_{}x", "W_{}h", "b_{}")  # torch's gate order
        return self.run_fused(x, W_x, W_h, b, torch.zeros_like(b))
