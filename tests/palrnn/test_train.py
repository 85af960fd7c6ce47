import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch

from palrnn.checkpoint import CHECKPOINT_VERSION
from palrnn.config import Config
from palrnn.train import (
    CheckpointError,
    fit,
    load_checkpoint,
    new_state,
    save_checkpoint,
    train,
    train_step,
)

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
    """weights_only=True: a checkpoint valid in every other way, but carrying an object that runs
    code when unpickled (here: it writes a marker file), is refused, and the code does not run."""
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    state = new_state(Config(model="RNN", hidden=8, length=5, steps=10, eval_every=5))
    save_checkpoint(state, path, extra={"records": [], "note": _Evil(marker)})
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(path)
    assert not marker.exists()
    torch.load(path, map_location="cpu", weights_only=False)  # the payload is live: unpickled, it runs
    assert marker.read_text() == "ran"


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "ran"))


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
    base = dict(model="LSTM", init="xavier", length=20, hidden=64, eval_every=250, patience=2)
    # Two processes, one per core; opened reaches 0.99 near step 2,000 and stops there.
    with ProcessPoolExecutor(2) as pool:
        opened, closed = pool.map(fit, [Config(**base, steps=3000, forget_bias=1.0),
                                        Config(**base, steps=1500, forget_bias=0.0)])
    assert opened["eval_accuracy"] >= 0.99, opened
    assert closed["eval_accuracy"] < 0.2, closed  # chance is 0.1


# ---- 1a: a diverging step is not taken ---------------------------------------------------------


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_a_step_whose_loss_exceeds_diverge_loss_is_not_taken():
    """The run ends diverged on a finite loss above diverge_loss, and its parameters are those
    the last good step left: the diverging step's update was never applied."""
    cfg = Config(model="RNN", init="default", optimizer="sgd", momentum=0.0, lr=50.0, max_norm=None, length=5,
                 hidden=16, diverge_loss=5.0, steps=200, eval_every=50)
    state = new_state(cfg)
    snapshots = {0: _params(state.model)}
    records = list(train(state, on_step=lambda step: snapshots.__setitem__(step, _params(state.model))))
    last = records[-1]
    assert last["diverged"] is True and last["step"] >= 2
    assert math.isfinite(last["train_loss"]) and last["train_loss"] > cfg.diverge_loss  # finite, just too large
    good = snapshots[last["step"] - 1]
    assert any(not torch.equal(p, q) for p, q in zip(good, snapshots[0], strict=True))  # earlier steps were taken
    for p, q in zip(state.model.parameters(), good, strict=True):
        assert torch.equal(p, q)


def test_train_step_leaves_model_and_optimizer_alone_on_a_diverging_loss():
    cfg = Config(model="LSTM", hidden=8, length=5, diverge_loss=1e-3, steps=1)  # every loss is above 1e-3
    state = new_state(cfg)
    before = _params(state.model)
    loss, _, _ = train_step(state)
    assert loss > cfg.diverge_loss
    assert all(torch.equal(p, q) for p, q in zip(state.model.parameters(), before, strict=True))
    assert state.optimizer.state_dict()["state"] == {}  # RMSprop never stepped


# ---- 1b, 1c: every problem with a checkpoint file is a CheckpointError naming it ---------------


def _saved(tmp_path, steps=5):
    state = new_state(Config(model="RNN", hidden=8, length=5, steps=steps, eval_every=5))
    list(train(state))
    path = tmp_path / "good.pt"
    save_checkpoint(state, path)
    return torch.load(path, weights_only=True)


def _edited(tmp_path, payload, name="edited.pt"):
    path = tmp_path / name
    torch.save(payload, path)
    return path


def test_checkpoint_of_another_version_is_refused(tmp_path):
    payload = _saved(tmp_path)
    assert payload["version"] == CHECKPOINT_VERSION
    path = _edited(tmp_path, {**payload, "version": CHECKPOINT_VERSION - 1}, "old.pt")
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    message = str(exc.value)
    assert "old.pt" in message
    assert f"version {CHECKPOINT_VERSION - 1}" in message and f"version {CHECKPOINT_VERSION}" in message
    without = {k: v for k, v in payload.items() if k != "version"}
    with pytest.raises(CheckpointError, match="no_version.pt.*version None"):
        load_checkpoint(_edited(tmp_path, without, "no_version.pt"))


LOOP_KEYS = ["step", "steps_to_target", "streak", "diverged", "stopped_early", "train_correct_all", "history",
             "window", "last"]


@pytest.mark.parametrize("key", LOOP_KEYS)
def test_checkpoint_missing_a_loop_key_is_a_checkpoint_error(tmp_path, key):
    payload = _saved(tmp_path)
    loop = {k: v for k, v in payload["loop"].items() if k != key}
    with pytest.raises(CheckpointError, match=f"edited.pt.*{key}"):
        load_checkpoint(_edited(tmp_path, {**payload, "loop": loop}))


@pytest.mark.parametrize("edit", [
    lambda p: {k: v for k, v in p.items() if k != "model"},
    lambda p: {k: v for k, v in p.items() if k != "loop"},
    lambda p: {**p, "loop": [1, 2, 3]},
    lambda p: {**p, "loop": {**p["loop"], "step": "ten"}},
    lambda p: {**p, "loop": {**p["loop"], "diverged": 0}},
    lambda p: {**p, "loop": {**p["loop"], "history": [[5]]}},
    lambda p: {**p, "loop": {**p["loop"], "window": {"loss": 1.0}}},
    lambda p: {**p, "config": {**p["config"], "hidden": -1}},
    lambda p: {**p, "config": {**p["config"], "colour": "blue"}},
    lambda p: {**p, "generator": torch.zeros(3, dtype=torch.uint8)},
    lambda p: {**p, "model": {}},
    lambda p: [p],
], ids=["no model", "no loop", "loop not a dict", "step a str", "diverged an int", "history entry not a pair",
        "window incomplete", "invalid config", "unknown config field", "bad generator state", "empty model",
        "not a dict"])
def test_malformed_checkpoint_is_a_checkpoint_error(tmp_path, edit):
    with pytest.raises(CheckpointError, match="edited.pt"):
        load_checkpoint(_edited(tmp_path, edit(_saved(tmp_path))))


# ---- 1d, 2: the batch generator is a CPU one on every device ---------------------------------


def test_the_batch_generator_is_a_cpu_generator_whatever_the_device(monkeypatch):
    """A CUDA run draws its batches with a CPU generator (so its state loads on any device); the
    model is built on the CPU here so this runs on machines without a GPU."""
    import palrnn.checkpoint as train_module

    real = train_module.build_model
    monkeypatch.setattr(train_module, "build_model", lambda config: real(config.replace(device="cpu")))
    state = new_state(Config(model="RNN", hidden=8, length=5, device="cuda"))
    assert state.generator.device.type == "cpu" and state.data.device.type == "cuda"


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_cuda
def test_cpu_checkpoint_resumes_on_cuda_with_the_same_data(tmp_path):
    cfg = Config(model="LSTM", hidden=16, length=7, steps=20, eval_every=10, seed=2)
    cpu = new_state(cfg)
    list(train(cpu))
    save_checkpoint(cpu, tmp_path / "cpu.pt")
    gpu = load_checkpoint(tmp_path / "cpu.pt", device="cuda")
    assert gpu.step == 20 and next(gpu.model.parameters()).device.type == "cuda"
    x_cpu, y_cpu = cpu.data.train_batch(128, cpu.generator)
    x_gpu, y_gpu = gpu.data.train_batch(128, gpu.generator)
    assert x_gpu.device.type == "cuda" and torch.equal(x_gpu.cpu(), x_cpu) and torch.equal(y_gpu.cpu(), y_cpu)
    gpu.reconfigure(gpu.config.replace(steps=30))
    assert list(train(gpu))[-1]["step"] == 30


# ---- 1e: --resume with another target or patience recounts from the history --------------------


def test_resume_with_another_target_and_patience_recounts_from_the_history(tmp_path):
    """Trained to step 150 against target 0.01 (every evaluation hits it), then resumed against
    0.75 with patience 2: the run goes on exactly as if it had had target 0.75 from the start."""
    cfg = Config(model="RNN", init="default", length=5, hidden=32, lr=1e-2, steps=300, eval_every=25)
    new = {"target": 0.75, "patience": 2}
    straight = _run(cfg.replace(**new))
    at_150 = next(r for r in straight if r["step"] == 150)
    assert not at_150["done"], "the straight run must still be going at step 150 for this test"

    half = new_state(cfg.replace(steps=150, target=0.01))
    list(train(half))
    assert half.steps_to_target == 25 and half.streak == 6  # counted against the old target
    assert [step for step, _ in half.history] == [25, 50, 75, 100, 125, 150]
    save_checkpoint(half, tmp_path / "half.pt")

    resumed = load_checkpoint(tmp_path / "half.pt", overrides={"steps": 300, **new})
    assert resumed.config == cfg.replace(**new)
    expected_streak = 0
    for r in straight:
        if r["step"] <= 150:
            expected_streak = expected_streak + 1 if r["eval_accuracy"] >= 0.75 else 0
    assert resumed.streak == expected_streak
    assert (resumed.steps_to_target, resumed.stopped_early) == (at_150["steps_to_target"], at_150["stopped_early"])
    assert resumed.last["steps_to_target"] == at_150["steps_to_target"]
    rest = list(train(resumed))
    assert _strip(rest) == _strip([r for r in straight if r["step"] > 150])


def test_resume_with_a_patience_already_met_is_done_at_once(tmp_path):
    cfg = Config(model="RNN", hidden=8, length=5, steps=30, eval_every=10, target=0.01)
    state = new_state(cfg)
    list(train(state))
    assert state.streak == 3 and not state.stopped_early
    save_checkpoint(state, tmp_path / "c.pt")
    resumed = load_checkpoint(tmp_path / "c.pt", overrides={"steps": 100, "patience": 2})
    assert resumed.stopped_early and resumed.done and resumed.last["stopped_early"] is True
    assert list(train(resumed)) == []
    back = load_checkpoint(tmp_path / "c.pt", overrides={"steps": 100, "patience": 0})
    assert not back.stopped_early and not back.done and back.steps_to_target == 10


def test_resume_refuses_to_change_what_the_run_trains(tmp_path):
    _saved(tmp_path)
    with pytest.raises(ValueError, match="hidden: cannot change") as exc:
        load_checkpoint(tmp_path / "good.pt", overrides={"hidden": 32})
    assert not isinstance(exc.value, CheckpointError)
    with pytest.raises(ValueError, match="target"):
        load_checkpoint(tmp_path / "good.pt", overrides={"target": 2.0})


def test_a_checkpoint_carries_the_callers_extra_values(tmp_path):
    state = new_state(Config(model="RNN", hidden=8, length=5, steps=5, eval_every=5))
    list(train(state))
    save_checkpoint(state, tmp_path / "a.pt", extra={"wall_seconds": 1.5, "restarts": 2, "note": "x"})
    loaded = load_checkpoint(tmp_path / "a.pt")
    assert loaded.extra == {"wall_seconds": 1.5, "restarts": 2, "note": "x"}
    save_checkpoint(loaded, tmp_path / "b.pt")  # by default, the state's own
    assert load_checkpoint(tmp_path / "b.pt").extra == loaded.extra
    payload = torch.load(tmp_path / "a.pt", weights_only=True)
    with pytest.raises(CheckpointError, match="edited.pt.*extra"):
        load_checkpoint(_edited(tmp_path, {**payload, "extra": [1, 2]}))
