"""Training, pinned: the first records of a short run for every model and backend on the CPU, as
scripts/pin_curves.py wrote them to tests/fixtures/pinned-curves.json, in float64. The pin holds to a
relative 1e-6: a CPU's kernels (AVX2 or AVX-512, another vendor) sum in other orders and move the last
digits from one machine to the next (one clean-clone run on another 2-core EPYC saw 3.5e-9 on the
LSTM's eval loss), while a real change of training moves them far more (the test below scales the
learning rate by 1.0001 and sees it). A change to the data stream, the initialisation, a model, the
loss, clipping, the optimizer or the evaluation moves them; the committed references (results/) were
made by the training pinned here, so this test says when they no longer reproduce."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
PINNED = json.loads((ROOT / "tests" / "fixtures" / "pinned-curves.json").read_text())
_spec = importlib.util.spec_from_file_location("pin_curves", ROOT / "scripts" / "pin_curves.py")
pin_curves = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin_curves)
REL = 1e-6  # what survives another CPU's kernels; a real change of training moves the curve past it
SAME_TORCH = torch.__version__.startswith(PINNED["torch"].split("+")[0])
why_skip = f"the curves are pinned with torch {PINNED['torch']}; other versions may round differently"


def mismatches(now: list[dict], then: list[dict]) -> list[str]:
    """Each (record, key) where ``now`` differs from ``then`` by more than REL (relative, and absolute near 0)."""
    if len(now) != len(then):
        return [f"{len(now)} records, pinned {len(then)}"]
    return [f"record {i} (step {b['step']:.0f}) {k} is {a[k]!r}, pinned {b[k]!r}"
            for i, (a, b) in enumerate(zip(now, then, strict=True)) for k in pin_curves.KEYS
            if a[k] != pytest.approx(b[k], rel=REL, abs=REL)]


def test_the_pinned_settings_are_the_scripts():
    assert PINNED["settings"] == pin_curves.SETTINGS
    assert sorted(PINNED["curves"]) == sorted(f"{m}/{b}" for m in pin_curves.MODELS for b in pin_curves.BACKENDS)


@pytest.mark.skipif(not SAME_TORCH, reason=why_skip)
@pytest.mark.parametrize("key", sorted(PINNED["curves"]))
def test_training_still_gives_the_pinned_curve(key):
    bad = mismatches(pin_curves.curve(*key.split("/")), PINNED["curves"][key])
    assert not bad, (f"training changed: {key} " + "; ".join(bad[:3]) + f" (commit {PINNED['commit']}). If the change "
                     "is meant, run the committed references again (results/README.md) and then "
                     "python scripts/pin_curves.py")


@pytest.mark.skipif(not SAME_TORCH, reason=why_skip)
@pytest.mark.parametrize("model", ["RNN", "LSTM"])
def test_a_real_change_of_training_is_past_the_tolerance(model, monkeypatch):
    """The learning rate scaled by 1.0001: a change far smaller than any a user would make moves the
    curve past REL, so the tolerance that survives another CPU still catches a change of training."""
    monkeypatch.setitem(pin_curves.SETTINGS, "lr", pin_curves.SETTINGS["lr"] * 1.0001)
    assert mismatches(pin_curves.curve(model, "scratch"), PINNED["curves"][f"{model}/scratch"])
