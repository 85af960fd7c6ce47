"""The project's own rules, checked: ruff-clean, the one-way dependency, no citations of missing files.

palrnn, the core, imports exactly the standard library, PyTorch and tqdm (the progress bar of
``python -m palrnn``), and itself; never ``study``, Ray, Optuna, pandas or matplotlib
(docs/design.md).
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PALRNN_MAY_IMPORT = {"torch", "tqdm", "palrnn"} | set(sys.stdlib_module_names)
# Spelled in two parts so that this file does not mention them itself.
MISSING_FILES = ("SEED" + ".md", "DESIGN" + ".md")


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    p = subprocess.run([ruff, "check", "palrnn", "study", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def foreign_imports(source: str, filename: str = "<source>") -> list[str]:
    """The top-level modules ``source`` imports (absolute imports only) that palrnn may not."""
    bad = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        bad += [name for name in names if name.split(".")[0] not in PALRNN_MAY_IMPORT]
    return bad


def test_the_import_check_catches_what_it_should():
    allowed = "import os, json\nfrom __future__ import annotations\nimport torch.nn\nfrom tqdm import tqdm\n" \
              "from palrnn.config import Config\nfrom . import data\ndef f():\n    import collections.abc\n"
    assert foreign_imports(allowed) == []
    banned = "import numpy as np\ndef f():\n    from study import io\n    import ray.tune\nfrom pandas import X\n"
    assert sorted(foreign_imports(banned)) == ["numpy", "pandas", "ray.tune", "study"]


def test_palrnn_imports_only_the_stdlib_torch_and_tqdm():
    """Every import statement in palrnn, at any depth (lazy ones in functions too)."""
    files = sorted((ROOT / "palrnn").rglob("*.py"))
    assert len(files) > 5
    bad = {str(f.relative_to(ROOT)): foreign_imports(f.read_text(), str(f)) for f in files}
    assert {f: names for f, names in bad.items() if names} == {}


def test_palrnn_never_imports_the_study_stack():
    """docs/design.md: importing the core does not drag in the study layer or its libraries."""
    code = ("import sys, palrnn.train, palrnn.__main__, palrnn.bench, palrnn.cli, palrnn.io, palrnn.analysis; "
            "bad = [m for m in ('study', 'ray', 'optuna', 'pandas', 'matplotlib') if m in sys.modules]; print(bad)")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stdout + p.stderr


def test_nothing_cites_files_users_do_not_have():
    """The exercise and the design are docs/exercise.md and docs/design.md; no file outside docs/
    names the planning files the project was written from, which are not part of it. Tracked
    files and new ones not yet added (but not ignored ones)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    assert (ROOT / "docs" / "exercise.md").is_file() and (ROOT / "docs" / "design.md").is_file()
    offenders = []
    for name in listed.stdout.splitlines():
        path = ROOT / name
        if name.startswith("docs/") or path.suffix not in {".py", ".md", ".toml"} or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if any(missing in line for missing in MISSING_FILES):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)
