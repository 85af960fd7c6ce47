"""Why long palindromes are hard: the gradient that reaches each step, ||dL/dh_t|| over t.

The later edition of the exercise asks for this plot for an untrained RNN and LSTM on
palindromes of length 100. dL/dh_t is a product of T - t Jacobians (docs/exercise.md): it vanishes when
they shrink vectors and explodes when they stretch them. Which one happens depends on the
initialisation as much as on the architecture:

    python -m palrnn.analysis --length 100
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from palrnn.config import GATED_MODELS, INITS, Config
from palrnn.data import Palindromes
from palrnn.models import build_model


def hidden_gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(T,) mean over the batch of ||dL/dh_t||, t = 1 ... T, for the model as it is (untrained or not)."""
    hs = model.step_states(x)  # T tensors (B, n)
    logits = hs[-1] @ model.W_ph.T + model.b_p  # (B, K)
    loss = nn.functional.cross_entropy(logits, y)
    grads = torch.autograd.grad(loss, hs)
    return torch.stack([g.norm(dim=1).mean() for g in grads]).detach()


def gradient_table(length: int, hidden: int = 128, batch: int = 256,
                   seed: int = 0) -> dict[tuple[str, str], torch.Tensor]:
    """||dL/dh_t|| over t for every model and init, untrained, on one batch of palindromes."""
    x, y = Palindromes(length).train_batch(batch, torch.Generator().manual_seed(seed))
    out = {}
    for model in ("RNN", "LSTM"):
        for init in INITS:
            if init == "chrono" and model not in GATED_MODELS:
                continue  # chrono sets gate biases; the vanilla RNN has no gates
            m = build_model(Config(model=model, init=init, hidden=hidden, length=length, seed=seed))
            out[(model, init)] = hidden_gradient_norms(m, x, y)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m palrnn.analysis", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--length", type=int, default=100, help="T (default: 100)")
    p.add_argument("--hidden", type=int, default=128, help="hidden units (default: 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the models and the batch (default: 0)")
    args = p.parse_args(argv)
    if args.length < 2 or args.hidden < 1:
        p.error("--length must be >= 2 and --hidden >= 1")
    table = gradient_table(args.length, args.hidden, seed=args.seed)
    T = args.length
    shown = sorted({1, 2, T // 4, T // 2, 3 * T // 4, T - 1, T} - {0})
    print(f"||dL/dh_t|| of untrained models, T={T}, hidden {args.hidden}, batch 256 (mean over the batch)")
    print(f"{'model':<5} {'init':<11}" + "".join(f"{'t=' + str(t):>10}" for t in shown) + f"{'t=1 / t=T':>11}")
    for (model, init), g in table.items():
        ratio = (g[0] / g[-1]).item()
        print(f"{model:<5} {init:<11}" + "".join(f"{g[t - 1].item():>10.2e}" for t in shown) + f"{ratio:>11.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
