"""Training, pinned: the first records of a short run for every model and backend on the CPU, as
scripts/pin_curves.py wrote them to tests/fixtures/pinned-curves.json, in float64 so that the pin holds
to 1e-9 on any CPU (float32's last bits differ between CPUs' kernels). A change to the data stream,
the initialisation, a model, the loss, clipping, the optimizer or the evaluation moves them; the
committed references (results/) were made by the training pinned here, so this test says when
they no longer reproduce."""

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


def test_the_pinned_settings_are_the_scripts():
    assert PINNED["settings"] == pin_curves.SETTINGS
    assert sorted(PINNED["curves"]) == sorted(f"{m}/{b}" for m in pin_curves.MODELS for b in pin_curves.BACKENDS)


@pytest.mark.skipif(not torch.__version__.startswith(PINNED["torch"].split("+")[0]),
                    reason=f"the curves are pinned with torch {PINNED['torch']}; other versions may round differently")
@pytest.mark.parametrize("key", sorted(PINNED["curves"]))
def test_training_still_gives_the_pinned_curve(key):
    model, backend = key.split("/")
    now = pin_curves.curve(model, backend)
    then = PINNED["curves"][key]
    assert len(now) == len(then), f"training changed: {key} made {len(now)} records, pinned {len(then)}"
    for i, (a, b) in enumerate(zip(now, then, strict=True)):
        for k in pin_curves.KEYS:
            assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), (
                f"training changed: {key} record {i} (step {b['step']:.0f}) {k} is {a[k]!r}, pinned {b[k]!r} "
                f"(commit {PINNED['commit']}). If the change is meant, run the committed references again "
                "(results/README.md) and then python scripts/pin_curves.py")
