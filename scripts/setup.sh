#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment: .venv, or $VENV.
#
# On a CPU-only machine this installs torch's CPU build 2.13.0, then the project with its dev
# extra. GPU users: install the torch build for your CUDA first, then run with TORCH_SPEC=torch
# (any spec that your installed torch satisfies installs nothing more), e.g.
#   python3 -m venv .venv && .venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cu128
#   TORCH_SPEC=torch bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$TORCH_SPEC" -e ".[dev]" 2>&1 \
    | grep -v -e "^WARNING: Location" -e "^$" || true
"$VENV/bin/python" -c "import torch, ray, optuna, pandas, matplotlib; print(f'setup: torch {torch.__version__}, ray {ray.__version__}, optuna {optuna.__version__} in $VENV')"
