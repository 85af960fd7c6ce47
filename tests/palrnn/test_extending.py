"""A model defined outside palrnn (tests/toy_arch.py), named by its import path, trains like a built-in;
the registries of models and initialisations (docs/extending.md)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from palrnn.config import GATED_MODELS, INITS, MODELS, Config, check_model
from palrnn.models import ARCHITECTURES, LSTM, VanillaRNN, architecture, build_model, resolve_backend
from palrnn.models.base import Recurrent
from palrnn.models.init import SCHEMES, Scheme
from palrnn.train import fit, load_checkpoint, new_state, save_checkpoint, train

ROOT = Path(__file__).resolve().parents[2]
TOY = "tests.toy_arch:ToyRNN"


@pytest.fixture(autouse=True)
def repository_root_on_path(monkeypatch):
    """``tests.toy_arch`` imports from the repository root, as in ``python -m pytest`` or a Ray worker
    started there; this makes it so under a bare ``pytest`` too."""
    monkeypatch.syspath_prepend(str(ROOT))


def toy_config(**changes) -> Config:
    values = dict(model=TOY, length=4, hidden=16, input="onehot", init="default", lr=1e-2, batch_size=64,
                  steps=300, eval_every=300, seed=0)
    return Config(**{**values, **changes})


def test_the_toy_model_learns_the_task():
    """T = 4: 1000 palindromes, about 100 held out; chance is 0.1."""
    config = toy_config()
    assert check_model(config.model) == TOY and resolve_backend(config) == "scratch"
    result = fit(config)
    assert not result["diverged"]
    assert result["eval_accuracy"] >= 0.9, result


def test_the_toy_model_is_built_saved_and_loaded_like_a_built_in(tmp_path):
    from tests.toy_arch import ToyRNN

    assert architecture(TOY) is ToyRNN and architecture("LSTM") is LSTM
    state = new_state(toy_config(steps=10, eval_every=5, hidden=8))
    assert isinstance(state.model, ToyRNN) and isinstance(state.model, Recurrent)
    assert [k for k, _ in state.model.named_parameters()] == ["W_hx", "W_hh", "b_h", "W_ph", "b_p"]
    x = torch.randn(3, 6, 10)
    assert state.model(x).shape == (3, 10) and state.model.hidden_states(x).shape == (3, 6, 8)
    list(train(state))
    save_checkpoint(state, tmp_path / "toy.pt")
    loaded = load_checkpoint(tmp_path / "toy.pt")
    assert loaded.config.model == TOY and loaded.step == 10
    assert all(torch.equal(p, q) for p, q in zip(loaded.model.parameters(), state.model.parameters(), strict=True))


BAD_MODELS = [
    ("GPT", "must be one of RNN, LSTM, GRU, or MODULE:CLASS"),
    ("tests.toy_arch:NoSuchClass", "cannot import 'tests.toy_arch:NoSuchClass' (AttributeError"),
    ("tests.no_such_module:ToyRNN", "cannot import 'tests.no_such_module:ToyRNN' (ModuleNotFoundError"),
    ("tests.toy_arch:LEAK", "is not a class derived from nn.Module"),
    ("collections:OrderedDict", "is not a class derived from nn.Module"),
    ("tests.toy_arch:", "must be one of"),
    (":ToyRNN", "must be one of"),
]


@pytest.mark.parametrize("model,says", BAD_MODELS, ids=[m for m, _ in BAD_MODELS])
def test_a_bad_model_is_one_line_naming_the_field(model, says):
    with pytest.raises(ValueError) as exc:
        Config(model=model)
    message = str(exc.value)
    assert message.startswith("model: ") and "\n" not in message and says in message, message
    assert "MODULE:CLASS" in message


def test_a_custom_model_declares_its_gates_and_backends():
    with pytest.raises(ValueError, match=r"^init: chrono needs a gated model \(LSTM, GRU\), got tests.toy_arch:ToyRNN"):
        toy_config(init="chrono")
    with pytest.raises(ValueError, match="^backend: must be one of auto, scratch, got 'stacked'"):
        toy_config(backend="stacked")
    # forget_bias is the LSTM's (FORGET_GATE): the toy, like the RNN and the GRU, ignores it.
    a, b = build_model(toy_config()), build_model(toy_config(forget_bias=2.0))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_validating_a_built_in_model_imports_no_torch():
    code = ("import sys; from palrnn.config import Config, check_model; "
            "Config(model='GRU', init='chrono'); check_model('RNN'); print(sorted(m for m in sys.modules if "
            "m.split('.')[0] in ('torch', 'tests')))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stdout + p.stderr


def test_the_registries_agree_with_the_configs_names():
    assert tuple(ARCHITECTURES) == MODELS and tuple(SCHEMES) == INITS
    assert tuple(m for m, cls in ARCHITECTURES.items() if cls.GATED) == GATED_MODELS


def test_a_new_initialisation_is_one_registry_entry(monkeypatch):
    def zeros_draw(w, name, recurrent, hidden, g):
        w.zero_()

    monkeypatch.setitem(SCHEMES, "zeros", Scheme(zeros_draw))
    assert all(p.eq(0).all() for p in VanillaRNN(1, 8, init="zeros").parameters())
    with pytest.raises(ValueError, match="init: must be one of seed, default, xavier, orthogonal, chrono, zeros"):
        VanillaRNN(1, 8, init="ones")


def _palrnn(*args: str) -> subprocess.CompletedProcess:
    """``python -m palrnn`` as a fresh process started from the repository root, as Ray starts its workers."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "palrnn", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_command_line_trains_a_model_named_by_its_import_path():
    p = _palrnn("--model", TOY, "--length", "4", "--hidden", "8", "--steps", "20", "--eval-every", "10",
                "--json", "--no-progress")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["model"] == TOY and result["step"] == 20 and result["backend"] == "ToyRNN:scratch"


def test_the_command_line_refuses_a_bad_import_path_in_one_line():
    p = _palrnn("--model", "tests.toy_arch:Nope", "--steps", "1")
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m palrnn: error: --model: cannot import "), p.stderr
