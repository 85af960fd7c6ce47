"""Measure the cost table of study.run's estimates on this machine and write it (docs/estimates.md):

    python scripts/calibrate_estimate.py      # a few minutes; rewrites study/planning/costs.json

Per model and thread count: a training step's and a forward pass's seconds as c0 + T (c1 + c2 B n +
c3 B n^2), the bytes autograd keeps per time step and sequence; Ray's costs from
results/bench/study-bench.json (python -m study.bench --grid lengths --json ...).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from study.basics.io import write_text_atomic  # noqa: E402
from study.planning.calibrate import COSTS, calibrate  # noqa: E402

if __name__ == "__main__":
    table = calibrate(ROOT / "results" / "bench" / "study-bench.json")
    write_text_atomic(COSTS, json.dumps(table, indent=1) + "\n")
    print(f"wrote {COSTS.relative_to(ROOT)}")
