#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment: .venv, or $VENV. docs/setup.md tells it all.
#
#   bash scripts/setup.sh                     torch 2.13.0, CPU build (TORCH_BUILD=cpu, the default), then the
#                                             project with its dev extra
#   TORCH_BUILD=cuda bash scripts/setup.sh    torch 2.13.0 built with CUDA: PyPI's Linux wheel, or with
#                                             TORCH_CUDA=cu128 (say) the PyTorch index's build for that CUDA
#   TORCH_SPEC=torch bash scripts/setup.sh    keep a torch you installed yourself: any pip spec it satisfies
#                                             installs nothing more (TORCH_SPEC overrides TORCH_BUILD)
#   CONSTRAINED=1 bash scripts/setup.sh       every package at the version the tests were run with (constraints.txt)
#
# The CPU build is torch 2.13.0+cpu. It is taken from the indexes pip is configured with (pip.conf,
# PIP_* variables) when they have it, else from the PyTorch CPU index (TORCH_CPU_INDEX); on macOS,
# PyPI's torch is the CPU build. Run again, it installs nothing new and checks the build. VENV, PYTHON
# (the interpreter that makes the venv) and TORCH_VERSION can be set too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_BUILD=${TORCH_BUILD:-cpu}
TORCH_CUDA=${TORCH_CUDA:-}
TORCH_SPEC=${TORCH_SPEC:-}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
CONSTRAINED=${CONSTRAINED:-0}

say() { echo "setup: $*"; }
# pip, quieter; a failure stops the script (pipefail).
pip() {
    "$VENV/bin/python" -m pip --disable-pip-version-check "$@" 2>&1 \
        | { grep -v -e "^WARNING: Location" -e "^$" || true; }
}

# Python 3.11 or newer with its venv module, checked before anything is made or installed: one line
# naming what is missing (a python3 too old, or without venv, would otherwise fail late, inside pip).
if [ ! -x "$VENV/bin/python" ]; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "setup: $PYTHON not found; install Python 3.11 or newer (Debian/Ubuntu: apt-get install python3" \
             "python3-venv), or set PYTHON to one" >&2
        exit 1
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
        found=$("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "unknown")
        echo "setup: $PYTHON is Python $found; palrnn needs 3.11 or newer (Debian/Ubuntu: apt-get install" \
             "python3.11 python3.11-venv, then PYTHON=python3.11 bash scripts/setup.sh)" >&2
        exit 1
    fi
    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "setup: $PYTHON has no venv module (with ensurepip); Debian/Ubuntu: apt-get install python3-venv" \
             "(or python3.X-venv for your Python 3.X)" >&2
        exit 1
    fi
    "$PYTHON" -m venv "$VENV"
fi
constraints=()
if [ "$CONSTRAINED" = 1 ]; then
    constraints=(-c constraints.txt)
    say "constrained to constraints.txt"
fi
installed=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('torch'))" 2>/dev/null || true)

# Does an index pip is configured with offer this exact version (local part included) of torch?
offered() {
    "$VENV/bin/python" -m pip --disable-pip-version-check index versions torch 2>/dev/null \
        | sed -n 's/^Available versions: //p' | tr -d ' ' | tr ',' '\n' | grep -xF "$1" >/dev/null
}

# torch_spec: what the project's own install line asks for. torch_index: where torch alone comes from first
# (its wheel only: its dependencies then come with the project's, from the configured indexes).
torch_index=""
if [ -n "$TORCH_SPEC" ]; then
    torch_spec=$TORCH_SPEC
    say "torch: TORCH_SPEC=$TORCH_SPEC"
else
    case "$TORCH_BUILD" in
    cpu)
        if [ "$(uname -s)" = Darwin ]; then
            torch_spec="torch==$TORCH_VERSION"  # PyPI's macOS wheels are the CPU build, without +cpu
        else
            torch_spec="torch==$TORCH_VERSION+cpu"
            if [ "$installed" = "$TORCH_VERSION+cpu" ]; then
                say "torch $installed (CPU build) is installed"
            elif offered "$TORCH_VERSION+cpu"; then
                say "torch $TORCH_VERSION+cpu: from the indexes pip is configured with"
            else
                torch_index=$TORCH_CPU_INDEX
                say "torch $TORCH_VERSION+cpu: from $torch_index"
            fi
        fi
        ;;
    cuda)
        if [ -n "$TORCH_CUDA" ]; then
            torch_spec="torch==$TORCH_VERSION+$TORCH_CUDA"
            if [ "$installed" != "$TORCH_VERSION+$TORCH_CUDA" ] && ! offered "$TORCH_VERSION+$TORCH_CUDA"; then
                torch_index="https://download.pytorch.org/whl/$TORCH_CUDA"
            fi
        else
            torch_spec="torch===$TORCH_VERSION"  # exactly 2.13.0: PyPI's Linux build (CUDA), never a +cpu one
        fi
        say "torch: $torch_spec${torch_index:+ from $torch_index}"
        ;;
    *)
        echo "setup: TORCH_BUILD must be cpu or cuda (or set TORCH_SPEC), not '$TORCH_BUILD'" >&2
        exit 2
        ;;
    esac
fi

if [ -n "$torch_index" ]; then
    pip install -q --no-deps ${constraints[@]+"${constraints[@]}"} --index-url "$torch_index" "$torch_spec" || {
        echo "setup: could not install $torch_spec from $torch_index (unreachable? docs/setup.md tells the" \
             "other ways: TORCH_CPU_INDEX, TORCH_SPEC)" >&2
        exit 1
    }
fi
pip install -q ${constraints[@]+"${constraints[@]}"} "$torch_spec" -e ".[dev]"

check=$TORCH_BUILD  # which build to insist on; none for a TORCH_SPEC
if [ -n "$TORCH_SPEC" ]; then check=any; fi
"$VENV/bin/python" - "$VENV" "$check" <<'EOF'
import sys

import optuna
import pandas
import ray
import torch

venv, build = sys.argv[1:]
cuda = torch.version.cuda
kind = f"CUDA {cuda} build" if cuda else "CPU build"
print(f"setup: torch {torch.__version__} ({kind}), ray {ray.__version__}, optuna {optuna.__version__}, "
      f"pandas {pandas.__version__}, Python {sys.version.split()[0]} in {venv}")
if build == "cpu" and cuda:
    sys.exit(f"setup: TORCH_BUILD=cpu, but torch {torch.__version__} is built with CUDA {cuda}")
if build == "cuda" and not cuda:
    sys.exit(f"setup: TORCH_BUILD=cuda, but torch {torch.__version__} is the CPU build")
EOF
