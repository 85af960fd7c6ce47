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
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

# A scheme's draw: fills one parameter's CPU tensor ``w`` in place, given the parameter's name,
# whether it is a recurrent matrix (the model's RECURRENT), the hidden size n and the generator.
Draw = Callable[[torch.Tensor, str, bool, int, torch.Generator], None]


@dataclass(frozen=True)
class Scheme:
    """One initialisation: an entry of ``SCHEMES``.

    draw:  how each parameter is drawn (in registration order, from one generator seeded with ``seed``).
    then:  for a scheme that needs the horizon T_max (the config's length), a function
           ``then(model, horizon, seed)`` that ``build_model`` calls after the draws; a model built
           directly with such an init is refused (it has no horizon).
    """

    draw: Draw
    then: Callable[[nn.Module, int, int], None] | None = None


def seed_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    w.normal_(0.0, 1.0, generator=g)


def default_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    bound = 1.0 / math.sqrt(hidden)
    w.uniform_(-bound, bound, generator=g)


def xavier_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    if w.dim() < 2:
        w.zero_()
    else:
        nn.init.xavier_uniform_(w, generator=g)


def orthogonal_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    if w.dim() < 2:
        w.zero_()
    elif recurrent:
        nn.init.orthogonal_(w, generator=g)
    else:
        nn.init.xavier_uniform_(w, generator=g)


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
    scheme = SCHEMES.get(init)
    if scheme is None:
        raise ValueError(f"init: must be one of {', '.join(SCHEMES)}, got {init!r}")
    if scheme.then is not None:
        raise ValueError(
            f"init: {init} needs the horizon T_max: build the model with palrnn.models.build_model "
            f"(T_max = the config's length), or init it {base_init(init)} and call {scheme.then.__name__}"
        )
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        w = torch.empty(p.shape)
        scheme.draw(w, name, name in recurrent, hidden, g)
        p.copy_(w)


def base_init(init: str) -> str:
    """The init a model is constructed with for ``init``: itself, or, for a scheme with a ``then``,
    the first scheme without one that draws the same way (chrono: default)."""
    scheme = SCHEMES[init]
    if scheme.then is None:
        return init
    return next(name for name, s in SCHEMES.items() if s.then is None and s.draw is scheme.draw)


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


# The initialisations, by the name the config's ``init`` gives. A new one is a draw function (or a
# ``then``) above and one entry here, and its name in palrnn.config.INITS (which the config, kept
# free of torch, validates against; palrnn.models refuses to import if the two disagree).
SCHEMES: dict[str, Scheme] = {
    "seed": Scheme(seed_draw),
    "default": Scheme(default_draw),
    "xavier": Scheme(xavier_draw),
    "orthogonal": Scheme(orthogonal_draw),
    "chrono": Scheme(default_draw, then=chrono_),
}
