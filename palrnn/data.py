"""The palindrome task: batches drawn fresh each step, and a held-out split that is truly disjoint,
a pure function of a palindrome's left half; every draw on the CPU (docs/exercise.md, "How this
project draws the data")."""

from __future__ import annotations

import functools
import math

import torch

from palrnn.config import NUM_CLASSES

_P = 2**31 - 1
_MIX = 2654435761
_ENUMERATE_LIMIT = 2**14
_EVAL_SEED = 0x5EED


def half_length(length: int) -> int:
    """Free digits m of a palindrome of length+1 digits."""
    return (length + 2) // 2


class Palindromes:
    """Palindromes of ``length`` + 1 digits, with a disjoint held-out split."""

    def __init__(self, length: int, eval_fraction: float = 0.1, eval_size: int = 4096, onehot: bool = False,
                 device: torch.device | str = "cpu") -> None:
        if length < 1:
            raise ValueError(f"length: must be an integer >= 1, got {length!r}")
        self.length = length
        self.m = half_length(length)
        self.eval_fraction = eval_fraction
        self.eval_size = eval_size
        self.onehot = onehot
        self.device = torch.device(device)
        # The hash's C_i, on the CPU, where the drawing and the held-out test happen.
        self._coef = torch.randint(1, _P, (self.m,), generator=torch.Generator().manual_seed(1234567))  # int64
        self._threshold = int(eval_fraction * 2**32)
        self._eval: tuple[torch.Tensor, torch.Tensor] | None = None

    def is_heldout(self, left: torch.Tensor) -> torch.Tensor:
        """(N, m) left halves -> (N,) bool: True for the held-out ones."""
        h = (left.to(torch.int64) * self._coef.to(left.device)).sum(dim=1) % _P
        return (h * _MIX) % 2**32 < self._threshold

    def palindromes(self, left: torch.Tensor) -> torch.Tensor:
        """(N, m) left halves -> (N, T+1) palindromes."""
        return torch.cat([left, left[:, : self.length + 1 - self.m].flip(1)], dim=1)

    def encode(self, digits: torch.Tensor) -> torch.Tensor:
        """(N, T) digits -> (N, T, D) model inputs, in torch's default dtype (scripts/pin_curves.py sets float64)."""
        x = torch.nn.functional.one_hot(digits, NUM_CLASSES) if self.onehot else digits.unsqueeze(-1)
        return x.to(torch.get_default_dtype())

    def _split(self, left: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seq = self.palindromes(left)
        return self.encode(seq[:, :-1]), seq[:, -1].clone()

    def train_batch(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A fresh batch of training palindromes, x (B, T, D), y (B,), drawn by a CPU ``generator``, on ``device``."""
        if generator.device.type != "cpu":
            raise ValueError(f"generator: must be a CPU torch.Generator (see palrnn.data), got {generator.device}")
        left = torch.randint(0, 10, (batch_size, self.m), generator=generator)
        bad = self.is_heldout(left)
        # Redraw held-out rows until none is left: about eval_fraction of the rows the first
        # time, eval_fraction**2 the next; the number of rounds is random but seeded.
        while bool(bad.any()):
            idx = bad.nonzero().squeeze(1)
            left[idx] = torch.randint(0, 10, (idx.numel(), self.m), generator=generator)
            bad[idx] = self.is_heldout(left[idx])
        return self._split(left.to(self.device))

    def enumerated(self) -> torch.Tensor | None:
        """Every held-out left half when there are few enough to evaluate them all, else None (decided by
        arithmetic when 10**m left halves are too many to list)."""
        # 10**m as a float overflows past m = 308 (T >= 615); no such set is enumerated anyway.
        if self.m > 308 or 10**self.m * self.eval_fraction > 2 * _ENUMERATE_LIMIT:
            return None
        left = (torch.arange(10**self.m).unsqueeze(1) // 10 ** torch.arange(self.m - 1, -1, -1)) % 10  # k's digits
        held = left[self.is_heldout(left)]
        return held if held.shape[0] <= max(self.eval_size, _ENUMERATE_LIMIT) else None

    def eval_left_halves(self) -> torch.Tensor:
        """The held-out left halves evaluated on, on the CPU: all of them, or a fixed sample of ``eval_size``."""
        held = self.enumerated()
        if held is not None:  # small enough to enumerate every left half
            return held
        g = torch.Generator().manual_seed(_EVAL_SEED + self.length)  # a CPU generator, on every device
        chunks, found = [], 0
        # Rejection sampling of held-out rows; duplicates are possible only when the held-out
        # set is large (T >= 10: >= 10**5 rows), where they are rare and harmless.
        draw = max(1024, math.ceil(self.eval_size / self.eval_fraction * 1.2))
        while found < self.eval_size:
            left = torch.randint(0, 10, (draw, self.m), generator=g)
            chunks.append(left[self.is_heldout(left)])
            found += chunks[-1].shape[0]
        return torch.cat(chunks)[: self.eval_size]

    def eval_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Held-out x (N, T, D), y (N,) on ``device``; computed once."""
        if self._eval is None:
            self._eval = self._split(self.eval_left_halves().to(self.device))
        return self._eval


def eval_count(length: int, eval_fraction: float = 0.1, eval_size: int = 4096) -> int:
    """How many held-out palindromes ``Palindromes(length, eval_fraction, eval_size).eval_set()`` has
    (every one when they are few, else ``eval_size``): the study's intervals count them (study.basics.stats)."""
    return _eval_count(int(length), float(eval_fraction), int(eval_size))


@functools.lru_cache(maxsize=256)
def _eval_count(length: int, eval_fraction: float, eval_size: int) -> int:
    # eval_left_halves' own rule (``enumerated``): every held-out left half, counted, or the sample of
    # eval_size it draws, not drawn (at T = 100,000 the draw alone would need 40 GB).
    held = Palindromes(length, eval_fraction, eval_size).enumerated()
    return eval_size if held is None else int(held.shape[0])
