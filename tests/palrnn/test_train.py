import math

import pytest
import torch

from palrnn.config import Config
from palrnn.train import CheckpointError, fit, load_checkpoint, new_state, save_checkpoint, train, train_step

TIMING = {"examples_per_second", "wall_seconds"}


def _strip(records):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def _run(config):
    records = []
    fit(config, on_eval=records.append)
    return records


@pytest.mark.parametrize("model", ["RNN", "LSTM"])
def test_same_config_and_seed_give_identical_metrics(model):
    cfg = Config(model=model, length=6, hidden=16, steps=60, eval_every=20, seed=3)
    a, b = _run(cfg), _run(cfg)
    assert len(a) == 3 and _strip(a) == _strip(b)
    assert _strip(_run(cfg.replace(seed=4))) != _strip(a)


def test_metrics_record_has_the_shared_vocabulary():
    (r,) = _run(Config(model="RNN", length=5, hidden=8, steps=10, eval_every=10))
    for key in ("step", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy", "examples_per_second",
                "grad_norm", "diverged", "steps_to_target"):
        assert key in r
    assert r["step"] == 10 and r["diverged"] is False and r["examples_per_second"] > 0


@pytest.mark.parametrize("model,optimizer", [("RNN", "rmsprop"), ("LSTM", "adam"), ("LSTM", "sgd")])
def test_checkpoint_resumes_bit_exactly(tmp_path, model, optimizer):
    cfg = Config(model=model, optimizer=optimizer, length=7, hidden=16, steps=40, eval_every=10, seed=1)
    straight = new_state(cfg)
    straight_records = list(train(straight))

    half = new_state(cfg.replace(steps=20))
    first = list(train(half))
    save_checkpoint(half, tmp_path / "ckpt.pt")
    resumed = load_checkpoint(tmp_path / "ckpt.pt")
    assert resumed.step == 20
    resumed.config = cfg
    second = list(train(resumed))

    for (name, p), (_, q) in zip(straight.model.named_parameters(), resumed.model.named_parameters(), strict=True):
        assert torch.equal(p, q), name
    first[-1]["done"] = False  # the half run was done; the straight one was not, at step 20
    assert _strip(first + second) == _strip(straight_records)
    assert torch.equal(straight.generator.get_state(), resumed.generator.get_state())


def test_corrupt_or_truncated_checkpoint_is_a_clear_error(tmp_path):
    state = new_state(Config(model="RNN", hidden=8, steps=5, eval_every=5))
    list(train(state))
    good = tmp_path / "good.pt"
    save_checkpoint(state, good)
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated.pt"):
        load_checkpoint(bad)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        load_checkpoint(garbage)


def test_checkpoint_loading_refuses_arbitrary_pickles(tmp_path):
    """weights_only=True: a file that would run code when unpickled is refused, not executed."""
    evil = tmp_path / "evil.pt"
    torch.save({"config": Config().to_dict(), "payload": _Evil()}, evil)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(evil)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_clipping_happens_between_backward_and_step():
    """With plain SGD the update is exactly lr * the clipped gradient, and grad_norm is pre-clip."""
    cfg = Config(model="RNN", init="seed", hidden=32, length=10, optimizer="sgd", momentum=0.0, lr=1.0,
                 max_norm=1e-3, steps=1)
    state = new_state(cfg)
    before = [p.detach().clone() for p in state.model.parameters()]
    loss, norm, _ = train_step(state)
    delta = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(state.model.parameters(), before, strict=True)))
    assert norm > 1.0  # the N(0,1) RNN's gradient is large...
    assert delta.item() == pytest.approx(1e-3, rel=1e-3)  # ...and the step used the clipped one


def test_no_clipping_when_max_norm_is_none():
    cfg = Config(model="RNN", hidden=32, length=10, optimizer="sgd", momentum=0.0, lr=1e-3, max_norm=None, steps=1)
    state = new_state(cfg)
    before = [p.detach().clone() for p in state.model.parameters()]
    _, norm, _ = train_step(state)
    delta = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(state.model.parameters(), before, strict=True)))
    assert delta.item() == pytest.approx(1e-3 * norm, rel=1e-3)


def test_divergence_is_recorded_not_raised():
    cfg = Config(model="RNN", init="seed", hidden=64, length=10, optimizer="rmsprop", lr=10.0,
                 max_norm=None, steps=2000, eval_every=100)
    records = _run(cfg)
    last = records[-1]
    assert last["diverged"] is True and last["step"] < 2000 and last["done"] is True
    assert last["train_loss"] > cfg.diverge_loss or not math.isfinite(last["train_loss"])


def test_non_finite_loss_is_divergence_and_parameters_stay_finite():
    state = new_state(Config(model="LSTM", hidden=8, steps=10, eval_every=5))
    with torch.no_grad():
        state.model.W_ph.fill_(float("inf"))
    records = list(train(state))
    assert len(records) == 1 and records[0]["diverged"] is True and records[0]["step"] == 1
    assert all(torch.isfinite(p).all() for n, p in state.model.named_parameters() if n != "W_ph")


def test_patience_stops_at_target_and_records_steps_to_target():
    cfg = Config(model="RNN", init="default", length=5, hidden=64, lr=3e-3, steps=3000, eval_every=50,
                 target=0.9, patience=2)
    records = _run(cfg)
    last = records[-1]
    assert last["stopped_early"] is True and last["step"] < 3000
    first_hit = next(r["step"] for r in records if r["eval_accuracy"] >= 0.9)
    assert last["steps_to_target"] == first_hit
    assert records[-1]["eval_accuracy"] >= 0.9 and records[-2]["eval_accuracy"] >= 0.9


@pytest.mark.slow
def test_lstm_learns_T5_on_heldout_data():
    r = fit(Config(model="LSTM", init="default", length=5, steps=1500, eval_every=250, patience=2))
    assert r["eval_accuracy"] >= 0.99, r


@pytest.mark.slow
def test_rnn_with_default_init_learns_T10_on_heldout_data():
    r = fit(Config(model="RNN", init="default", length=10, steps=2000, eval_every=250, patience=2))
    assert r["eval_accuracy"] >= 0.99, r


@pytest.mark.slow
def test_forget_bias_lets_the_lstm_learn_T20():
    """At T = 20 a zero-bias forget gate (sigmoid(0) = 0.5) halves the cell every step: the LSTM
    sits at chance. Opened with forget_bias 1, the same LSTM solves it (README, Findings)."""
    base = dict(model="LSTM", init="xavier", length=20, hidden=64, steps=1500, eval_every=250, patience=2)
    opened = fit(Config(**base, forget_bias=1.0))
    closed = fit(Config(**base, forget_bias=0.0))
    assert opened["eval_accuracy"] >= 0.99, opened
    assert closed["eval_accuracy"] < 0.2, closed  # chance is 0.1
