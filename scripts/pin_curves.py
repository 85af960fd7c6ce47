"""Write tests/fixtures/pinned-curves.json: the first records of a short training run for every
model and backend on the CPU, which tests/palrnn/test_pinned.py compares today's training with.

    python scripts/pin_curves.py        (from the repository root, with the project's .venv)

Run it only when training is meant to change, and then run the committed references again too
(results/README.md): their numbers were made by the training this file pins.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from palrnn.config import Config  # noqa: E402
from palrnn.train import new_state, train  # noqa: E402

FILE = ROOT / "tests" / "fixtures" / "pinned-curves.json"
MODELS = ("RNN", "LSTM", "GRU")
BACKENDS = ("scratch", "stacked", "fused")
# Short, but long enough that every part of a step (data, forward, loss, backward, clipping, the
# optimizer, the held-out evaluation) has moved the numbers: 3 records of 60 steps.
SETTINGS = {"length": 6, "hidden": 16, "batch_size": 32, "steps": 180, "eval_every": 60, "init": "default",
            "lr": 3e-3, "max_norm": 1.0, "patience": 0, "seed": 3}
KEYS = ("step", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy", "grad_norm")


def curve(model: str, backend: str) -> list[dict[str, float]]:
    """The run in float64: float32's last bits differ between CPUs (the kernels a CPU's instruction set
    selects sum in other orders; one CI machine moved losses by 2e-6 and flipped a prediction at a tie),
    while float64 keeps them ~1e-9 apart; tests/palrnn/test_pinned.py compares to a relative 1e-6."""
    torch.set_num_threads(1)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        state = new_state(Config(model=model, backend=backend, **SETTINGS))
        return [{k: float(r[k]) for k in KEYS} for r in train(state)]
    finally:
        torch.set_default_dtype(before)


def main() -> int:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    data = {"settings": SETTINGS, "torch": torch.__version__, "commit": commit,
            "curves": {f"{m}/{b}": curve(m, b) for m in MODELS for b in BACKENDS}}
    FILE.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {FILE.relative_to(ROOT)} ({len(data['curves'])} curves, torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
