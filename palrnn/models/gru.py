"""GRU (Cho et al., 2014), in the exercise's naming style (docs/exercise.md), for t = 1 ... T with h_0 = 0:

    z_t = sigmoid(W_zx x_t + W_zh h_{t-1} + b_z)                   update gate
    r_t = sigmoid(W_rx x_t + W_rh h_{t-1} + b_r)                   reset gate
    n_t = tanh   (W_nx x_t + r_t * (W_nh h_{t-1} + b_nh) + b_nx)   candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    p   = W_ph h_T + b_p

z_t near 1 keeps the old state, so a positive b_z means a long memory (the ``chrono`` init, init.py).
The reset gate multiplies the recurrent product *after* it is taken, with its own bias b_nh inside:
torch's nn.GRU (and cuDNN's) convention, not the paper's r_t * h_{t-1}, so that the fused kernel
computes exactly these equations (z and r need one bias each; a second would only add to the first).

Shapes: W_*x (n, d), W_*h (n, n), b_z, b_r, b_nx, b_nh (n,), W_ph (K, n), b_p (K,); 3(nd + n^2) + 4n +
Kn + K parameters. Backends: scratch, the four equations step by step; stacked, the three gates'
weights stacked into one (3n, d) and one (3n, n) matrix (all steps' input terms in one product,
then one addmm per step); fused, torch's nn.GRU kernel fed the stacked weights in its gate order
(r, z, n), b_nh as the candidate's part of its second bias (zero for r and z).
"""

from __future__ import annotations

import torch
from torch import nn

from palrnn.models.base import Recurrent

GATES = ("z", "r", "n")


class GRU(Recurrent):
    RECURRENT = ("W_zh", "W_rh", "W_nh")
    BACKENDS = ("scratch", "stacked", "fused")
    GATED = True

    def __init__(self, input_dim: int = 1, hidden: int = 128, num_classes: int = 10, init: str = "seed",
                 seed: int = 0, backend: str = "stacked") -> None:
        super().__init__(hidden, backend)
        n, d = hidden, input_dim
        for gate in GATES:
            setattr(self, f"W_{gate}x", nn.Parameter(torch.empty(n, d)))
            setattr(self, f"W_{gate}h", nn.Parameter(torch.empty(n, n)))
            for b in ("b_nx", "b_nh") if gate == "n" else (f"b_{gate}",):
                setattr(self, b, nn.Parameter(torch.empty(n)))
        self.add_readout(num_classes, init, seed)  # W_ph, b_p; then every parameter drawn
        self.hold_fused(nn.GRU(d, n, batch_first=True))

    def cell(self, x_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The four equations: x_t (B, d), h_{t-1} (B, n) -> h_t (B, n), which is also the whole state."""
        z = torch.sigmoid(x_t @ self.W_zx.T + h @ self.W_zh.T + self.b_z)  # (B, n)
        r = torch.sigmoid(x_t @ self.W_rx.T + h @ self.W_rh.T + self.b_r)  # (B, n)
        n = torch.tanh(x_t @ self.W_nx.T + r * (h @ self.W_nh.T + self.b_nh) + self.b_nx)  # (B, n)
        h = (1 - z) * n + z * h  # (B, n)
        return h, h

    def _stack(self, order: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The gates' weights stacked in ``order``: W_x (3n, d), W_h (3n, n), the input-side bias
        (3n,) with b_nx for n, and the hidden-side bias (3n,): b_nh for n, zero for z and r."""
        W_x, W_h = self.stacked(order, "W_{}x", "W_{}h")
        zero = torch.zeros_like(self.b_nh)
        b_x = torch.cat([self.b_nx if q == "n" else getattr(self, f"b_{q}") for q in order])
        b_h = torch.cat([self.b_nh if q == "n" else zero for q in order])
        return W_x, W_h, b_x, b_h

    def _forward_stacked(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        n = self.hidden
        # Order (z, r, n): the two sigmoid gates are one contiguous slice.
        W_x, W_h, b_x, b_h = self._stack("zrn")
        xw = torch.addmm(b_x, x.reshape(-1, d), W_x.T).view(B, T, 3 * n)  # (B, T, 3n)
        W_h_T = W_h.T
        # Step 1 has h_0 = 0: the recurrent product is its bias alone, and h_1 = (1 - z_1) * n_1.
        a = xw[:, 0]  # (B, 3n)
        s = torch.sigmoid(a[:, : 2 * n])  # (B, 2n): z, r
        cand = torch.tanh(a[:, 2 * n :] + s[:, n:] * self.b_nh)  # (B, n)
        h = (1 - s[:, :n]) * cand
        for t in range(1, T):
            a = xw[:, t]  # (B, 3n)
            hw = torch.addmm(b_h, h, W_h_T)  # (B, 3n)
            s = torch.sigmoid(a[:, : 2 * n] + hw[:, : 2 * n])
            cand = torch.tanh(a[:, 2 * n :] + s[:, n:] * hw[:, 2 * n :])
            h = cand + s[:, :n] * (h - cand)  # (1 - z) n + z h
        return h

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        W_x, W_h, b_x, b_h = self._stack("rzn")  # torch's gate order
        return self.run_fused(x, W_x, W_h, b_x, b_h)
