import hashlib

import pytest
import torch

from palrnn.config import Config
from palrnn.data import Palindromes, half_length
from palrnn.train import new_state


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("T", [1, 2, 5, 6, 10, 11, 100])
def test_batches_are_palindromes_and_target_is_first_digit(T):
    data = Palindromes(T)
    x, y = data.train_batch(64, gen())
    assert x.shape == (64, T, 1) and x.dtype == torch.float32
    assert y.shape == (64,) and y.dtype == torch.int64
    digits = x.squeeze(-1).long()
    assert torch.equal(x.squeeze(-1), digits.float())  # the digit's value, not one-hot
    full = torch.cat([digits, y[:, None]], dim=1)  # (B, T+1)
    assert torch.equal(full, full.flip(1))  # a palindrome
    assert torch.equal(y, digits[:, 0])  # the last digit is the first
    assert digits.min() >= 0 and digits.max() <= 9


def test_worked_example_from_docstring():
    data = Palindromes(5)
    left = torch.tensor([[3, 1, 4]])
    assert data.palindromes(left).tolist() == [[3, 1, 4, 4, 1, 3]]
    x, y = data._split(left)
    assert x.squeeze(-1).tolist() == [[3.0, 1.0, 4.0, 4.0, 1.0]] and y.tolist() == [3]
    assert half_length(5) == 3 and half_length(6) == 4


def test_onehot_input():
    data = Palindromes(7, onehot=True)
    x, y = data.train_batch(16, gen())
    assert x.shape == (16, 7, 10)
    assert torch.equal(x.sum(-1), torch.ones(16, 7))
    assert torch.equal(x[:, 0].argmax(-1), y)


def test_same_seed_same_batches_and_different_seed_different():
    a = Palindromes(9).train_batch(128, gen(1))
    b = Palindromes(9).train_batch(128, gen(1))
    c = Palindromes(9).train_batch(128, gen(2))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def _keys(x, y):
    return {tuple(row) for row in torch.cat([x.squeeze(-1).long(), y[:, None]], 1).tolist()}


@pytest.mark.parametrize("T", [5, 6])
def test_heldout_split_is_disjoint_and_complete_for_small_T(T):
    data = Palindromes(T, eval_fraction=0.1)
    ex, ey = data.eval_set()
    held = _keys(ex, ey)
    total = 10 ** half_length(T)
    # Every held-out palindrome is evaluated, each once, and about 10% are held out.
    assert len(held) == ex.shape[0]
    assert 0.06 * total < len(held) < 0.14 * total
    g = gen(3)
    seen = set()
    for _ in range(total * 15 // 1024):  # enough draws that missing one would be a 1e-4 event
        seen |= _keys(*data.train_batch(1024, g))
    assert not (seen & held)  # nothing held out is ever drawn for training
    assert len(seen) == total - len(held)  # and every other palindrome is


def test_large_T_uses_a_fixed_heldout_sample():
    data = Palindromes(12, eval_size=4096)
    ex, ey = data.eval_set()
    assert ex.shape == (4096, 12, 1)
    left = torch.cat([ex.squeeze(-1).long(), ey[:, None]], 1)[:, : data.m]
    assert bool(data.is_heldout(left).all())
    again = Palindromes(12, eval_size=4096).eval_set()
    assert torch.equal(ex, again[0])  # the same sample for every run at this length
    train_left = torch.cat([data.train_batch(512, gen(0))[0].squeeze(-1).long()], 1)[:, : data.m]
    assert not bool(data.is_heldout(train_left).any())


def test_very_long_palindromes_have_an_eval_set():
    data = Palindromes(100, eval_size=4096)
    ex, ey = data.eval_set()
    assert ex.shape == (4096, 100, 1)
    assert len(_keys(ex, ey)) > 4000


# One seed, one data stream (module doc): the CPU stream is pinned by these digests, so a change
# to how batches or the held-out sample are drawn cannot silently invalidate the committed
# reference results. sha256 of the bytes of x then y of the first 3 training batches drawn by
# new_state(Config(length=T, seed=3)).generator, and of eval_set() (T = 7: every held-out
# palindrome; T = 12: the fixed sample drawn by the held-out generator).
STREAM = {
    7: ("20c114ee6e01b3898228559d24bb70e9704175c5ea996ac01f2ff3dea18ce1e2",
        "a7c4e6988793577b0936c633a0afd052fb72cf464fcf58beef752e99c5c538ed"),
    12: ("fb3975b4706a4e93f897080d5f5c42cee6da523d6e2f939415c2322eb103470f",
         "6c588d829d8d21db78cfa96bdfa1e56dfed05c91be99d5dc7bcb81769e6ab59a"),
}


def _digest(*tensors):
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _fingerprint(length, device="cpu"):
    state = new_state(Config(model="RNN", hidden=8, length=length, seed=3, device=device))
    batches = [t for _ in range(3) for t in state.data.train_batch(128, state.generator)]
    return _digest(*batches), _digest(*state.data.eval_set())


@pytest.mark.parametrize("T", sorted(STREAM))
def test_the_data_stream_of_a_seed_never_changes(T):
    assert _fingerprint(T) == STREAM[T]


def test_data_is_drawn_on_the_cpu_then_moved_to_the_device():
    """Nothing about the drawing happens on ``device``: the meta device, where nothing can be
    computed, still gets batches, and the generator advances exactly as for the CPU."""
    g_cpu, g_meta = gen(5), gen(5)
    Palindromes(7).train_batch(64, g_cpu)
    x, y = Palindromes(7, device="meta").train_batch(64, g_meta)
    assert x.device.type == "meta" and x.shape == (64, 7, 1) and y.shape == (64,)
    assert torch.equal(g_cpu.get_state(), g_meta.get_state())
    ex, ey = Palindromes(12, device="meta").eval_set()
    assert ex.device.type == "meta" and ex.shape == (4096, 12, 1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("T", sorted(STREAM))
def test_cuda_gets_the_same_data_stream_as_the_cpu(T):
    assert _fingerprint(T, device="cuda") == STREAM[T]
