import math

import pytest
import torch
from torch import nn

from palrnn.config import Config
from palrnn.models import GRU, LSTM, VanillaRNN, build_model, resolve_backend
from palrnn.models.init import chrono_
from palrnn.train import fit

BACKENDS = ["scratch", "stacked", "fused"]


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
NAMES = ["W_zx", "W_zh", "b_z", "W_rx", "W_rh", "b_r", "W_nx", "W_nh", "b_nx", "b_nh", "W_ph", "b_p"]


def _copy(src, dst):
    dst.load_state_dict(src.state_dict())
    return dst


@pytest.mark.parametrize("d,n", [(1, 128), (10, 128), (1, 7), (3, 32)])
def test_parameter_names_and_count_follow_the_docstring_formula(d, n):
    p = 10
    m = GRU(d, n)
    assert [k for k, _ in m.named_parameters()] == NAMES
    assert count_parameters(m) == 3 * (n * d + n * n) + 4 * n + p * n + p
    # torch's nn.GRU has two biases per gate, 3(nd + n^2 + 2n); those of z and r add up, so one each here.
    assert count_parameters(m) == count_parameters(nn.GRU(d, n)) - 2 * n + p * n + p


@pytest.mark.parametrize("init", ["seed", "default", "xavier", "orthogonal", "chrono"])
@pytest.mark.parametrize("d,B,T", [(1, 1, 1), (1, 5, 7), (10, 33, 4), (1, 128, 12)])
def test_backends_agree_on_outputs_and_gradients(init, d, B, T):
    torch.manual_seed(0)
    x = torch.randint(0, 10, (B, T, d)).float() if d == 1 else torch.randn(B, T, d)
    y = torch.randint(0, 10, (B,))
    if init == "chrono":
        ref = GRU(d, 16, init="default", seed=4, backend="scratch")
        chrono_(ref, horizon=30, seed=4)
    else:
        ref = GRU(d, 16, init=init, seed=4, backend="scratch")
    out_ref = ref(x)
    nn.functional.cross_entropy(out_ref, y).backward()
    for backend in BACKENDS[1:]:
        m = _copy(ref, GRU(d, 16, init="default", seed=99, backend=backend))
        out = m(x)
        nn.functional.cross_entropy(out, y).backward()
        torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-5)
        for (name, p), (_, q) in zip(m.named_parameters(), ref.named_parameters(), strict=True):
            # At T = 1 the recurrent matrices are multiplied by h_0 = 0 only: a zero gradient, or none.
            grad = p.grad if p.grad is not None else torch.zeros_like(p)
            torch.testing.assert_close(grad, q.grad, atol=1e-5, rtol=1e-4, msg=f"{backend} {name}")


def test_scratch_gru_matches_torch_reference_with_copied_weights():
    m = GRU(3, 20, init="seed", seed=1, backend="scratch")
    ref = nn.GRU(3, 20, batch_first=True)
    with torch.no_grad():  # torch's gate order is r, z, n; its hidden-side biases of r and z are zero here
        ref.weight_ih_l0.copy_(torch.cat([m.W_rx, m.W_zx, m.W_nx]))
        ref.weight_hh_l0.copy_(torch.cat([m.W_rh, m.W_zh, m.W_nh]))
        ref.bias_ih_l0.copy_(torch.cat([m.b_r, m.b_z, m.b_nx]))
        ref.bias_hh_l0.copy_(torch.cat([torch.zeros(40), m.b_nh]))
    x = torch.randn(6, 9, 3)
    out, _ = ref(x)
    torch.testing.assert_close(m.hidden_states(x), out, atol=1e-6, rtol=1e-5)


def test_hand_derived_gradients_at_T1():
    """With h_0 = 0: z = sigmoid(W_zx x + b_z), r = sigmoid(W_rx x + b_r), n = tanh(W_nx x + r b_nh + b_nx),
    h_1 = (1 - z) n. So dh_1/dz = -n, dh_1/dn = 1 - z, and with delta = (y_hat - y) / B, dL/dh_1 = delta W_ph:
        dL/db_z  = sum_B dL/dh_1 * (-n) * z (1 - z)
        dL/db_nh = sum_B dL/dh_1 * (1 - z) * (1 - n^2) * r
        dL/dW_ph = delta^T h_1;  and dL/dW_zh = dL/dW_rh = dL/dW_nh = 0."""
    B = 8
    m = GRU(1, 12, init="seed", seed=2, backend="scratch")
    x = torch.randint(0, 10, (B, 1, 1)).float()
    y = torch.randint(0, 10, (B,))
    nn.functional.cross_entropy(m(x), y).backward()
    with torch.no_grad():
        x_1 = x[:, 0]  # (B, 1)
        z = torch.sigmoid(x_1 @ m.W_zx.T + m.b_z)  # (B, n)
        r = torch.sigmoid(x_1 @ m.W_rx.T + m.b_r)
        n = torch.tanh(x_1 @ m.W_nx.T + r * m.b_nh + m.b_nx)
        h = (1 - z) * n
        torch.testing.assert_close(m.hidden_states(x)[:, 0], h)
        y_hat = torch.softmax(h @ m.W_ph.T + m.b_p, dim=1)  # (B, K)
        delta = (y_hat - nn.functional.one_hot(y, 10).float()) / B  # (B, K)
        dh = delta @ m.W_ph  # (B, n)
        torch.testing.assert_close(m.b_z.grad, (dh * -n * z * (1 - z)).sum(0), atol=1e-6, rtol=1e-4)
        torch.testing.assert_close(m.b_nh.grad, (dh * (1 - z) * (1 - n**2) * r).sum(0), atol=1e-6, rtol=1e-4)
        torch.testing.assert_close(m.W_ph.grad, delta.T @ h, atol=1e-6, rtol=1e-5)
        for name in GRU.RECURRENT:
            assert getattr(m, name).grad.abs().max() == 0, name


def test_every_init_applies():
    seed = GRU(1, 128, init="seed", seed=0)
    w = torch.cat([p.flatten() for p in seed.parameters()])
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    default = GRU(1, 64, init="default", seed=0)
    bound = 1 / math.sqrt(64)
    assert all(p.abs().max() <= bound for p in default.parameters())
    assert default.W_zh.abs().max() > 0.95 * bound  # uniform over the whole interval, not a narrower one
    ortho = GRU(1, 32, init="orthogonal", seed=0)
    for name in GRU.RECURRENT:
        W = getattr(ortho, name)
        torch.testing.assert_close(W @ W.T, torch.eye(32), atol=1e-5, rtol=0)
    xavier = GRU(1, 32, init="xavier", seed=0)
    for m in (ortho, xavier):
        assert all(getattr(m, b).abs().sum() == 0 for b in ("b_z", "b_r", "b_nx", "b_nh", "b_p"))
    assert xavier.W_zh.abs().max() <= math.sqrt(6 / 64)
    assert torch.equal(GRU(init="seed", seed=5).W_nh, GRU(init="seed", seed=5).W_nh)
    assert not torch.equal(GRU(init="seed", seed=5).W_nh, GRU(init="seed", seed=6).W_nh)


def _expected_log_uniform(a):
    """Mean and standard deviation of log u, u ~ U(1, a)."""
    mean = (a * math.log(a) - a + 1) / (a - 1)
    second = (a * math.log(a) ** 2 - 2 * a * math.log(a) + 2 * a - 2) / (a - 1)
    return mean, math.sqrt(second - mean**2)


@pytest.mark.parametrize("T", [10, 50])
def test_chrono_statistics(T):
    n = 512
    mean, sd = _expected_log_uniform(T - 1)
    tol = 5 * sd / math.sqrt(n)
    gru = build_model(Config(model="GRU", init="chrono", hidden=n, length=T, seed=1))
    lstm = build_model(Config(model="LSTM", init="chrono", hidden=n, length=T, seed=1))
    for b in (gru.b_z, lstm.b_f):
        assert b.min() >= 0 and b.max() <= math.log(T - 1) + 1e-6
        assert abs(b.mean().item() - mean) < tol and abs(b.std().item() - sd) < 0.2 * sd
    assert torch.equal(lstm.b_i, -lstm.b_f)
    # Every other parameter is default's, draw for draw.
    for model, gates in ((gru, {"b_z"}), (lstm, {"b_f", "b_i"})):
        default = build_model(Config(model=type(model).__name__, init="default", hidden=n, length=T, seed=1))
        for (name, p), (_, q) in zip(model.named_parameters(), default.named_parameters(), strict=True):
            assert torch.equal(p, q) != (name in gates), name


def test_chrono_horizon_forget_bias_and_refusals():
    # T <= 2: the interval U(1, T - 1) is {1}, log 1 = 0.
    assert build_model(Config(model="GRU", init="chrono", hidden=8, length=2)).b_z.eq(0).all()
    # The horizon is the config's length: a longer T, longer memories.
    short = build_model(Config(model="GRU", init="chrono", hidden=256, length=5))
    long = build_model(Config(model="GRU", init="chrono", hidden=256, length=100))
    assert short.b_z.max() <= math.log(4) + 1e-6 < long.b_z.max()
    # forget_bias is still added to b_f after the init (b_i stays -chrono's b_f).
    plain = build_model(Config(model="LSTM", init="chrono", hidden=8, length=20))
    opened = build_model(Config(model="LSTM", init="chrono", hidden=8, length=20, forget_bias=1.0))
    torch.testing.assert_close(opened.b_f, plain.b_f + 1.0, atol=0, rtol=0)
    assert torch.equal(opened.b_i, plain.b_i)
    # The vanilla RNN has no gates.
    with pytest.raises(ValueError, match=r"init: chrono needs a gated model \(LSTM, GRU\), got RNN"):
        Config(model="RNN", init="chrono")
    with pytest.raises(ValueError, match="init: chrono needs a gated model"):
        chrono_(VanillaRNN(1, 8), horizon=10, seed=0)
    # A model built directly has no horizon to draw from.
    for cls in (GRU, LSTM):
        with pytest.raises(ValueError, match="init: chrono needs the horizon"):
            cls(1, 8, init="chrono")


def test_config_and_build_model_accept_the_gru():
    cfg = Config(model="GRU", hidden=8)
    m = build_model(cfg)
    assert isinstance(m, GRU) and m.backend == resolve_backend(cfg)
    # The GRU has no forget gate: forget_bias changes nothing.
    other = build_model(cfg.replace(forget_bias=2.0))
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), other.parameters(), strict=True))
    for B in (1, 2, 128, 300):
        assert m(torch.zeros(B, 5, 1)).shape == (B, 10)
    assert build_model(cfg.replace(input="onehot"))(torch.zeros(3, 4, 10)).shape == (3, 10)


@pytest.mark.slow
def test_gru_with_default_init_learns_T10_on_heldout_data():
    r = fit(Config(model="GRU", init="default", length=10, hidden=64, lr=3e-3, steps=2000, eval_every=100,
                   patience=2))
    assert r["eval_accuracy"] >= 0.99, r
