"""Parameter initialisations shared by every architecture (the `init` config field).

The choice matters a great deal (docs/exercise.md, "Known beyond the exercise"): with ``seed``'s
N(0, 1) weights and 128 units the recurrent matrix has spectral radius about sqrt(128) ~ 11,
so a tanh RNN starts saturated and its gradients explode.

``chrono`` (Tallec & Ollivier, 2018, "Can recurrent neural networks warp time?") is ``default``
with the gates' biases redrawn for a horizon T_max, the longest dependency to be learned:

    LSTM:  b_f ~ log(U(1, T_max - 1)),  b_i = -b_f
    GRU:   b_z ~ log(U(1, T_max - 1))   (z_t keeps h_{t-1} here, so a positive b_z is a long memory)

so the gates start with characteristic forgetting times spread between 1 and T_max - 1 steps.
``build_model`` scales it to the task: T_max = the palindrome length T (the config's ``length``),
the distance between the first digit read and the answer. For T <= 2 the interval is {1} and the
biases are 0. The vanilla RNN has no gates: chrono is refused there.
"""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def initialise(module: nn.Module, init: str, hidden: int, recurrent: tuple[str, ...], seed: int) -> None:
    """Fill ``module``'s parameters in place, in their registration order, from one seeded generator.

    seed:       every parameter ~ N(0, 1)                     (the exercise's torch.randn)
    default:    every parameter ~ U(-1/sqrt(hidden), +1/sqrt(hidden))   (PyTorch's nn.RNN/nn.LSTM/nn.GRU)
    xavier:     matrices Glorot-uniform, biases 0
    orthogonal: the recurrent matrices (names in ``recurrent``) orthogonal, other matrices
                Glorot-uniform, biases 0
    chrono:     needs the horizon, so it is not drawn here: draw ``default``, then call ``chrono_``
                (``build_model`` does both)
    Parameters are drawn on the CPU and then copied, so a seed gives the same model on any device.
    """
    if init == "chrono":
        raise ValueError(
            "init: chrono needs the horizon T_max: build the model with palrnn.models.build_model "
            "(T_max = the config's length), or init it default and call chrono_"
        )
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
            raise ValueError(f"init: must be one of seed, default, xavier, orthogonal, chrono, got {init!r}")
        p.copy_(w)


# chrono's own generator stream: seed + this, so its draws are unrelated to the other parameters'.
CHRONO_STREAM = 7_777_777


@torch.no_grad()
def chrono_(module: nn.Module, horizon: int, seed: int) -> None:
    """Redraw ``module``'s gate biases in place for the horizon T_max = ``horizon`` (module docstring).

    LSTM (has b_f): b_f ~ log(U(1, T_max - 1)), b_i = -b_f. GRU (has b_z): b_z ~ log(U(1, T_max - 1)).
    Every other parameter is left as it is (``default``'s, as ``build_model`` draws them).
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"init: chrono needs a horizon T_max >= 1, got {horizon!r}")
    params = dict(module.named_parameters())
    gate = "b_f" if "b_f" in params else "b_z" if "b_z" in params else None
    if gate is None:
        raise ValueError(f"init: chrono needs a gated model (LSTM, GRU), got {type(module).__name__}")
    g = torch.Generator().manual_seed(seed + CHRONO_STREAM)
    b = torch.empty(params[gate].shape).uniform_(1.0, max(horizon - 1, 1), generator=g).log_()  # (n,)
    params[gate].copy_(b)
    if gate == "b_f":
        params["b_i"].copy_(-b)
