"""Parameter initialisations, the ``init`` config field (docs/extending.md, "A new initialisation").

``seed``'s N(0, 1) gives 128 units a recurrent matrix of spectral radius about sqrt(128) ~ 11, so a
tanh RNN starts saturated and its gradients explode (docs/exercise.md). ``chrono`` (Tallec &
Ollivier, 2018, "Can recurrent neural networks warp time?") is ``default`` with the gate biases
redrawn for a horizon T_max, the config's length (the distance from the first digit to the answer):

    LSTM:  b_f ~ log(U(1, T_max - 1)),  b_i = -b_f
    GRU:   b_z ~ log(U(1, T_max - 1))   (z_t keeps h_{t-1} here, so a positive b_z is a long memory)

so the gates' forgetting times spread between 1 and T_max - 1 steps (T <= 2: biases 0).
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
    """An entry of ``SCHEMES``: each parameter's ``draw``, and for a scheme that needs the horizon T_max,
    ``then(model, horizon, seed)``, which ``build_model`` calls after the draws."""

    draw: Draw
    then: Callable[[nn.Module, int, int], None] | None = None


def seed_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    w.normal_(0.0, 1.0, generator=g)


def default_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    w.uniform_(-1.0 / math.sqrt(hidden), 1.0 / math.sqrt(hidden), generator=g)


def xavier_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    w.zero_() if w.dim() < 2 else nn.init.xavier_uniform_(w, generator=g)


def orthogonal_draw(w: torch.Tensor, name: str, recurrent: bool, hidden: int, g: torch.Generator) -> None:
    if w.dim() < 2:
        w.zero_()
    elif recurrent:
        nn.init.orthogonal_(w, generator=g)
    else:
        nn.init.xavier_uniform_(w, generator=g)


@torch.no_grad()
def initialise(module: nn.Module, init: str, hidden: int, recurrent: tuple[str, ...], seed: int) -> None:
    """Fill ``module``'s parameters in place, in registration order, from one generator seeded with
    ``seed``; drawn on the CPU and then copied, so a seed gives the same model on any device."""
    scheme = SCHEMES.get(init)
    if scheme is None:
        raise ValueError(f"init: must be one of {', '.join(SCHEMES)}, got {init!r}")
    if scheme.then is not None:
        raise ValueError(f"init: {init} needs the horizon T_max: build the model with palrnn.models.build_model "
                         f"(T_max = the config's length), or init it {base_init(init)} and call {scheme.then.__name__}")
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        w = torch.empty(p.shape)
        scheme.draw(w, name, name in recurrent, hidden, g)
        p.copy_(w)


def base_init(init: str) -> str:
    """``init``, or for a scheme with a ``then`` the first one without that draws the same (chrono: default)."""
    scheme = SCHEMES[init]
    return init if scheme.then is None else next(n for n, s in SCHEMES.items() if not s.then and s.draw is scheme.draw)


# chrono's own generator stream: seed + this, so its draws are unrelated to the other parameters'.
CHRONO_STREAM = 7_777_777


@torch.no_grad()
def chrono_(module: nn.Module, horizon: int, seed: int) -> None:
    """Redraw ``module``'s gate biases (b_f and b_i, or b_z) in place for the horizon T_max = ``horizon``
    (module docstring); every other parameter is left as it is."""
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


# By the config's ``init``; a new one's name goes in palrnn.config.INITS too (docs/extending.md).
SCHEMES: dict[str, Scheme] = {
    "seed": Scheme(seed_draw),
    "default": Scheme(default_draw),
    "xavier": Scheme(xavier_draw),
    "orthogonal": Scheme(orthogonal_draw),
    "chrono": Scheme(default_draw, then=chrono_),
}
