import math

import pytest
import torch
from torch import nn

from palrnn.config import Config
from palrnn.models import LSTM, VanillaRNN, build_model

BACKENDS = ["scratch", "stacked", "fused"]


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("d,n", [(1, 128), (10, 128), (1, 7), (3, 32)])
def test_parameter_counts_follow_seed_formulas(d, n):
    p = 10
    assert count_parameters(VanillaRNN(d, n)) == n * d + n * n + n + p * n + p
    assert count_parameters(LSTM(d, n)) == 4 * (n * d + n * n + n) + p * n + p


def test_parameter_names_are_the_exercises():
    assert [k for k, _ in VanillaRNN().named_parameters()] == ["W_hx", "W_hh", "b_h", "W_ph", "b_p"]
    names = {k for k, _ in LSTM().named_parameters()}
    assert names == {f"{w}_{g}{s}" for g in "gifo" for w, s in (("W", "x"), ("W", "h"))} | {
        f"b_{g}" for g in "gifo"
    } | {"W_ph", "b_p"}


def _copy(src, dst):
    dst.load_state_dict(src.state_dict())
    return dst


@pytest.mark.parametrize("cls", [VanillaRNN, LSTM])
@pytest.mark.parametrize("init", ["seed", "default", "xavier", "orthogonal"])
@pytest.mark.parametrize("d,B,T", [(1, 1, 1), (1, 5, 7), (10, 33, 4)])
def test_backends_agree_on_outputs_and_gradients(cls, init, d, B, T):
    torch.manual_seed(0)
    x = torch.randint(0, 10, (B, T, d)).float() if d == 1 else torch.randn(B, T, d)
    y = torch.randint(0, 10, (B,))
    ref = cls(d, 16, init=init, seed=4, backend="scratch")
    out_ref = ref(x)
    nn.functional.cross_entropy(out_ref, y).backward()
    for backend in BACKENDS[1:]:
        m = _copy(ref, cls(d, 16, init="default", seed=99, backend=backend))
        out = m(x)
        nn.functional.cross_entropy(out, y).backward()
        torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-5)
        for (name, p), (_, q) in zip(m.named_parameters(), ref.named_parameters(), strict=True):
            # At T = 1 the recurrent matrix is multiplied by h_0 = 0 only: a zero gradient, or none.
            grad = p.grad if p.grad is not None else torch.zeros_like(p)
            torch.testing.assert_close(grad, q.grad, atol=1e-5, rtol=1e-4, msg=f"{backend} {name}")


def test_scratch_rnn_matches_torch_reference_with_copied_weights():
    m = VanillaRNN(1, 20, init="default", seed=1, backend="scratch")
    ref = nn.RNN(1, 20, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(m.W_hx)
        ref.weight_hh_l0.copy_(m.W_hh)
        ref.bias_ih_l0.copy_(m.b_h)
        ref.bias_hh_l0.zero_()
    x = torch.randn(6, 9, 1)
    out, _ = ref(x)
    torch.testing.assert_close(m.hidden_states(x), out, atol=1e-6, rtol=1e-5)


def test_scratch_lstm_matches_torch_reference_with_copied_weights():
    m = LSTM(1, 20, init="seed", seed=1, backend="scratch")
    ref = nn.LSTM(1, 20, batch_first=True)
    with torch.no_grad():  # torch's gate order is i, f, g, o
        ref.weight_ih_l0.copy_(torch.cat([m.W_ix, m.W_fx, m.W_gx, m.W_ox]))
        ref.weight_hh_l0.copy_(torch.cat([m.W_ih, m.W_fh, m.W_gh, m.W_oh]))
        ref.bias_ih_l0.copy_(torch.cat([m.b_i, m.b_f, m.b_g, m.b_o]))
        ref.bias_hh_l0.zero_()
    x = torch.randn(6, 9, 1)
    out, _ = ref(x)
    torch.testing.assert_close(m.hidden_states(x), out, atol=1e-6, rtol=1e-5)


def test_inits():
    seed = VanillaRNN(1, 128, init="seed", seed=0)
    w = torch.cat([p.flatten() for p in seed.parameters()])
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    # docs/exercise.md: N(0,1) weights with 128 units give W_hh a spectral radius near sqrt(128) ~ 11.
    radius = torch.linalg.eigvals(seed.W_hh).abs().max().item()
    assert 9 < radius < 13
    default = LSTM(1, 64, init="default", seed=0)
    bound = 1 / math.sqrt(64)
    assert all(p.abs().max() <= bound for p in default.parameters())
    ortho = LSTM(1, 32, init="orthogonal", seed=0)
    for name in LSTM.RECURRENT:
        W = getattr(ortho, name)
        torch.testing.assert_close(W @ W.T, torch.eye(32), atol=1e-5, rtol=0)
    assert ortho.b_f.abs().sum() == 0
    xavier = VanillaRNN(1, 32, init="xavier", seed=0)
    assert xavier.b_h.abs().sum() == 0 and xavier.W_hh.abs().max() <= math.sqrt(6 / 64)
    # A seed gives the same model every time; another seed another model.
    assert torch.equal(LSTM(init="seed", seed=5).W_gh, LSTM(init="seed", seed=5).W_gh)
    assert not torch.equal(LSTM(init="seed", seed=5).W_gh, LSTM(init="seed", seed=6).W_gh)


def test_forget_bias_opens_the_lstm_forget_gate_only():
    for init in ("seed", "xavier"):
        closed, opened = LSTM(1, 16, init=init, seed=3), LSTM(1, 16, init=init, seed=3, forget_bias=1.5)
        for (name, p), (_, q) in zip(closed.named_parameters(), opened.named_parameters(), strict=True):
            torch.testing.assert_close(q, p + 1.5 if name == "b_f" else p, atol=0, rtol=0, msg=name)
    # The RNN has no forget gate: the field changes nothing there.
    a, b = build_model(Config(model="RNN", hidden=8)), build_model(Config(model="RNN", hidden=8, forget_bias=2.0))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert build_model(Config(model="LSTM", hidden=8, forget_bias=2.0, init="xavier")).b_f.eq(2.0).all()
    with pytest.raises(ValueError, match="forget_bias: must be a finite number"):
        Config(forget_bias=float("nan"))


@pytest.mark.parametrize("B", [1, 2, 128, 300])
def test_any_batch_size(B):
    for model in ("RNN", "LSTM"):
        m = build_model(Config(model=model, hidden=8))
        assert m(torch.zeros(B, 5, 1)).shape == (B, 10)


def test_hand_derived_gradient_of_W_ph():
    """dL/dW_ph = (y_hat - y) h_T^T (docs/exercise.md), averaged over the batch as the mean loss is."""
    m = VanillaRNN(1, 12, init="seed", seed=2, backend="scratch")
    x = torch.randint(0, 10, (8, 6, 1)).float()
    y = torch.randint(0, 10, (8,))
    loss = nn.functional.cross_entropy(m(x), y)
    loss.backward()
    with torch.no_grad():
        h_T = m.hidden_states(x)[:, -1]  # (B, n)
        y_hat = torch.softmax(h_T @ m.W_ph.T + m.b_p, dim=1)  # (B, K)
        delta = (y_hat - nn.functional.one_hot(y, 10).float()) / 8  # (B, K)
        torch.testing.assert_close(m.W_ph.grad, delta.T @ h_T, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(m.b_p.grad, delta.sum(0), atol=1e-6, rtol=1e-5)


def test_hand_derived_gradient_of_W_hh_by_explicit_bptt():
    """dL/dW_hh = sum_t dL/dh_t * (1 - h_t^2) h_{t-1}^T, with dL/dh_{t-1} = W_hh^T [(1 - h_t^2) dL/dh_t]."""
    m = VanillaRNN(1, 12, init="default", seed=2, backend="scratch")
    B, T = 8, 7
    x = torch.randint(0, 10, (B, T, 1)).float()
    y = torch.randint(0, 10, (B,))
    nn.functional.cross_entropy(m(x), y).backward()
    with torch.no_grad():
        hs = m.hidden_states(x)  # (B, T, n)
        y_hat = torch.softmax(hs[:, -1] @ m.W_ph.T + m.b_p, dim=1)
        dh = (y_hat - nn.functional.one_hot(y, 10).float()) / B @ m.W_ph  # dL/dh_T (B, n)
        dW_hh = torch.zeros_like(m.W_hh)
        dW_hx = torch.zeros_like(m.W_hx)
        db_h = torch.zeros_like(m.b_h)
        for t in reversed(range(T)):
            da = dh * (1 - hs[:, t] ** 2)  # through tanh
            h_prev = hs[:, t - 1] if t > 0 else torch.zeros_like(hs[:, 0])
            dW_hh += da.T @ h_prev
            dW_hx += da.T @ x[:, t]
            db_h += da.sum(0)
            dh = da @ m.W_hh  # the product over earlier steps that vanishes or explodes
        torch.testing.assert_close(m.W_hh.grad, dW_hh, atol=1e-6, rtol=1e-4)
        torch.testing.assert_close(m.W_hx.grad, dW_hx, atol=1e-6, rtol=1e-4)
        torch.testing.assert_close(m.b_h.grad, db_h, atol=1e-6, rtol=1e-4)
