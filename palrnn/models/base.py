"""What every architecture shares: the readout, the backend dispatch and the step-by-step loop.
docs/extending.md ("A new model") says what a subclass defines and sets."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from palrnn.models.init import initialise


class Recurrent(nn.Module):
    """A one-layer recurrent classifier of the last step: logits = W_ph h_T + b_p."""

    RECURRENT: tuple[str, ...] = ()  # its recurrent matrices, which the orthogonal init makes orthogonal
    BACKENDS: tuple[str, ...] = ("scratch",)
    GATED: bool = False  # gate biases init chrono may redraw: b_f and b_i (LSTM) or b_z (GRU)
    FORGET_GATE: bool = False  # its constructor takes forget_bias, added to its forget-gate bias b_f

    W_ph: nn.Parameter
    b_p: nn.Parameter

    def __init__(self, hidden: int, backend: str) -> None:
        super().__init__()
        self.hidden, self.backend = hidden, backend

    def add_readout(self, num_classes: int, init: str, seed: int) -> None:
        """Register W_ph (K, n) and b_p (K,) after the recurrence's parameters, then draw them all."""
        self.W_ph = nn.Parameter(torch.empty(num_classes, self.hidden))
        self.b_p = nn.Parameter(torch.empty(num_classes))
        initialise(self, init, self.hidden, self.RECURRENT, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d) -> logits (B, K) from the last step."""
        return self.last_hidden(x) @ self.W_ph.T + self.b_p

    def last_hidden(self, x: torch.Tensor) -> torch.Tensor:
        if self.backend == "scratch":
            return self.hidden_states(x)[:, -1]
        return self._forward_fused(x) if self.backend == "fused" else self._forward_stacked(x)

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """All h_t, the equations as written: x (B, T, d) -> (B, T, n)."""
        return torch.stack(self.step_states(x), dim=1)

    def step_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """h_1 ... h_T as the separate tensors the recurrence computes (analysis takes dL/dh_t of each)."""
        state, hs = self.initial_state(x), []
        for t in range(x.shape[1]):
            h, state = self.cell(x[:, t], state)  # h (B, n)
            hs.append(h)
        return hs

    def initial_state(self, x: torch.Tensor) -> Any:
        """The state before the first step: h_0 = 0, (B, n)."""
        return x.new_zeros(x.shape[0], self.hidden)

    def cell(self, x_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One step: x_t (B, d) and the state after t - 1 steps -> (h_t (B, n), the state after t)."""
        raise NotImplementedError(f"{type(self).__name__} defines no cell(x_t, state)")

    def _forward_stacked(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError(f"backend: {type(self).__name__} implements {', '.join(self.BACKENDS)}, got stacked")

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError(f"backend: {type(self).__name__} implements {', '.join(self.BACKENDS)}, got fused")

    def stacked(self, order: str, *forms: str) -> tuple[torch.Tensor, ...]:
        """Per form ("W_{}x"), the gates' tensors in ``order`` concatenated: (G n, ...)."""
        return tuple(torch.cat([getattr(self, form.format(q)) for q in order]) for form in forms)

    def hold_fused(self, kernel: nn.Module) -> None:
        """Keep torch's kernel (nn.RNN, nn.LSTM, nn.GRU) for the fused backend. Its own weights are never
        used (``run_fused`` swaps ours in), so they are kept out of parameters() and state_dict."""
        object.__setattr__(self, "_fused", kernel)

    def run_fused(self, x: torch.Tensor, W_x: torch.Tensor, W_h: torch.Tensor, b_x: torch.Tensor,
                  b_h: torch.Tensor) -> torch.Tensor:
        """h_T from torch's kernel fed our weights, already in its gate order: x (B, T, d) -> (B, n)."""
        weights = {"weight_ih_l0": W_x, "weight_hh_l0": W_h, "bias_ih_l0": b_x, "bias_hh_l0": b_h}
        self._fused.to(x.device)
        _, h_n = functional_call(self._fused, weights, (x,))  # h_n (1, B, n); nn.LSTM's is (h_n, c_n)
        return (h_n[0] if isinstance(h_n, tuple) else h_n)[0]
