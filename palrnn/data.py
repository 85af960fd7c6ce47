"""The palindrome task: batches drawn fresh each step, and a held-out split that is truly disjoint.

A palindrome of length T+1 is a random left half mirrored. The model reads the first T digits,
one per step, and must predict the last digit, which equals the first.

Worked example, T = 5 (palindromes of 6 digits, left halves of m = 3 digits)::

    left half       3 1 4
    palindrome      3 1 4 4 1 3
    input x         3 1 4 4 1        -> scalar: [[3.], [1.], [4.], [4.], [1.]]   shape (T, 1)
                                        onehot: row t is one_hot(digit_t, 10)      shape (T, 10)
    target y        3                (the last digit = the first)

The held-out split is a pure function of the left half, and the left half fixes the whole
palindrome, so no held-out sequence can ever be drawn for training. Each left half gets a
hash::

    h = ((sum_i d_i * C_i) mod P) * 2654435761 mod 2**32        (C_i fixed, P = 2**31 - 1)

and is held out when ``h < eval_fraction * 2**32``. For the left half 3 1 4 above
``is_heldout`` is a fixed True or False forever, for every seed. Training batches are drawn
uniformly from the remaining left halves (rejected rows are redrawn, vectorised), so each
training palindrome has the same probability.

For T = 5 there are only 10**3 palindromes; with eval_fraction 0.1 about 100 of them are
held out and ``eval_set`` returns all of them. When there are more than ``max(eval_size,
2**14)`` held-out palindromes (T >= 10), ``eval_set`` is a fixed sample of ``eval_size``
of them, drawn by a generator whose seed depends on T only, so every run at one length is
evaluated on the same sequences.

One seed, one data stream, on any device: every random draw (training batches, the held-out
sample) and the held-out test are made on the CPU, by a CPU ``torch.Generator``, and only the
finished left halves are moved to ``device`` (``.to(device)``). So a seed gives the same
palindromes on the CPU and on a GPU, and a generator's state saved on one device loads on any
other. The generator passed to ``train_batch`` must therefore be a CPU generator.
"""

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


def _coefficients(m: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1234567)
    return torch.randint(1, _P, (m,), generator=g, dtype=torch.int64)


class Palindromes:
    """Palindromes of ``length`` + 1 digits, with a disjoint held-out split."""

    def __init__(
        self,
        length: int,
        eval_fraction: float = 0.1,
        eval_size: int = 4096,
        onehot: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        if length < 1:
            raise ValueError(f"length: must be an integer >= 1, got {length!r}")
        self.length = length
        self.m = half_length(length)
        self.eval_fraction = eval_fraction
        self.eval_size = eval_size
        self.onehot = onehot
        self.device = torch.device(device)
        self._coef = _coefficients(self.m)  # on the CPU, where the drawing and the held-out test happen
        self._threshold = int(eval_fraction * 2**32)
        self._eval: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def input_dim(self) -> int:
        return NUM_CLASSES if self.onehot else 1

    def is_heldout(self, left: torch.Tensor) -> torch.Tensor:
        """(N, m) left halves -> (N,) bool: True for the held-out ones."""
        h = (left.to(torch.int64) * self._coef.to(left.device)).sum(dim=1) % _P
        h = (h * _MIX) % 2**32
        return h < self._threshold

    def palindromes(self, left: torch.Tensor) -> torch.Tensor:
        """(N, m) left halves -> (N, T+1) palindromes."""
        n_right = self.length + 1 - self.m
        return torch.cat([left, left[:, :n_right].flip(1)], dim=1)

    def encode(self, digits: torch.Tensor) -> torch.Tensor:
        """(N, T) digits -> (N, T, D) model inputs, in torch's default dtype (float32 unless a caller
        asked for another, as scripts/pin_curves.py does for float64)."""
        dtype = torch.get_default_dtype()
        if self.onehot:
            return torch.nn.functional.one_hot(digits, NUM_CLASSES).to(dtype)
        return digits.to(dtype).unsqueeze(-1)

    def _split(self, left: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seq = self.palindromes(left)
        return self.encode(seq[:, :-1]), seq[:, -1].clone()

    def train_batch(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A fresh batch of training palindromes: x (B, T, D) float32 (the default dtype), y (B,) int64, on ``device``.

        Drawn on the CPU with ``generator`` (a CPU generator), then moved: see the module doc.
        """
        if generator.device.type != "cpu":
            raise ValueError(f"generator: must be a CPU torch.Generator (see palrnn.data), got {generator.device}")
        left = torch.randint(0, 10, (batch_size, self.m), generator=generator)
        bad = self.is_heldout(left)
        # Redraw held-out rows until none is left: about eval_fraction of the rows the first
        # time, eval_fraction**2 the next; the number of rounds is random but seeded.
        while bool(bad.any()):
            idx = bad.nonzero().squeeze(1)
            fresh = torch.randint(0, 10, (idx.numel(), self.m), generator=generator)
            left[idx] = fresh
            bad[idx] = self.is_heldout(fresh)
        return self._split(left.to(self.device))

    def enumerated(self) -> torch.Tensor | None:
        """Every held-out left half, when there are few enough to evaluate them all; else None (then
        ``eval_left_halves`` draws a fixed sample of ``eval_size``). Cheap either way: None is
        decided by arithmetic when 10**m left halves are too many to list."""
        # 10**m as a float overflows past m = 308 (T >= 615); no such set is enumerated anyway.
        if self.m > 308 or 10**self.m * self.eval_fraction > 2 * _ENUMERATE_LIMIT:
            return None
        idx = torch.arange(10**self.m)
        powers = 10 ** torch.arange(self.m - 1, -1, -1)
        left = (idx.unsqueeze(1) // powers) % 10  # (10**m, m), row k = digits of k
        held = left[self.is_heldout(left)]
        return held if held.shape[0] <= max(self.eval_size, _ENUMERATE_LIMIT) else None

    def eval_left_halves(self) -> torch.Tensor:
        """The held-out left halves evaluated on: all of them, or a fixed sample (see module doc).

        Computed on the CPU and returned there; ``eval_set`` moves them to ``device``.
        """
        held = self.enumerated()
        if held is not None:  # small enough to enumerate every left half
            return held
        g = torch.Generator().manual_seed(_EVAL_SEED + self.length)  # a CPU generator, on every device
        need = self.eval_size
        chunks, found = [], 0
        # Rejection sampling of held-out rows; duplicates are possible only when the held-out
        # set is large (T >= 10: >= 10**5 rows), where they are rare and harmless.
        draw = max(1024, math.ceil(need / self.eval_fraction * 1.2))
        while found < need:
            left = torch.randint(0, 10, (draw, self.m), generator=g)
            left = left[self.is_heldout(left)]
            chunks.append(left)
            found += left.shape[0]
        return torch.cat(chunks)[:need]

    def eval_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Held-out x (N, T, D), y (N,) on ``device``; computed once."""
        if self._eval is None:
            self._eval = self._split(self.eval_left_halves().to(self.device))
        return self._eval


def eval_count(length: int, eval_fraction: float = 0.1, eval_size: int = 4096) -> int:
    """How many held-out palindromes ``Palindromes(length, eval_fraction, eval_size).eval_set()`` has:
    every held-out one when they are few (about 100 at T = 5, 1,000 at T = 6 and 7, 10,000 at T = 8
    and 9 with the default fraction), else ``eval_size``. A seed's held-out accuracy is a proportion of
    this many examples, which the study's intervals count (study.basics.stats)."""
    return _eval_count(int(length), float(eval_fraction), int(eval_size))


@functools.lru_cache(maxsize=256)
def _eval_count(length: int, eval_fraction: float, eval_size: int) -> int:
    # eval_left_halves' own rule (``enumerated``): every held-out left half, counted, or the sample of
    # eval_size it draws, not drawn (at T = 100,000 the draw alone would need 40 GB).
    held = Palindromes(length, eval_fraction, eval_size).enumerated()
    return eval_size if held is None else int(held.shape[0])
