"""docs/design.md names only modules that exist: every ``name.py`` and ``folder/`` of its layer
drawing, read against the layer's folder (``driver/  execute.py, shared.py`` is study/driver/...),
and every path it quotes in backticks (``engine/tuner.py``, ``study/trainable.py``)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
PY = re.compile(r"(?<![\w./])((?:[a-z_]+/)*[a-z_]+\.py)\b")
FOLDER = re.compile(r"^([a-z_]+/)\s")
# "kinds/ (grid.py, ...": the names after a sub-folder are in it; or a module's name.
TOKEN = re.compile(r"(?<![\w/])(?P<sub>[a-z_]+)/ \(|(?<![\w./])(?P<py>(?:[a-z_]+/)*[a-z_]+\.py)\b")


def drawn_modules(text: str) -> list[tuple[str, Path]]:
    """Each name of the layer drawing (the first fenced block), with the path it names: a line
    that starts with ``folder/`` opens that folder of study/; a name is looked up there, then in a
    sub-folder the same line named before it (``search/optuna.py, frontier.py``), then in study/."""
    block = text.split("```", 2)[1]
    out = []
    folder = sub = ROOT / "study"
    for line in block.splitlines():
        m = FOLDER.match(line)
        if m:
            folder = sub = ROOT / "study" / m.group(1)
        elif line.startswith("entry points"):
            folder = sub = ROOT / "study"
        for token in TOKEN.finditer(line):  # in the order they come: a sub-folder holds the names after it
            if token.group("sub"):
                sub = folder / token.group("sub")
                continue
            name = token.group("py")
            candidates = [folder / name, sub / name, ROOT / "study" / name, ROOT / name]
            found = next((c for c in candidates if c.is_file()), candidates[0])
            if "/" in name:
                sub = found.parent
            out.append((name, found))
    return out


def quoted_paths(text: str) -> list[tuple[str, Path]]:
    """Every ``path.py`` (``engine/tuner.py:finish_short`` too) or ``folder/sub/`` in backticks
    outside the drawing, read from the repository's root, study/ or palrnn/; a bare ``name.py``
    is the one module of that name anywhere in them."""
    rest = text.split("```", 2)[2]
    out = []
    for quoted in re.findall(r"`([^`\s]+)`", rest):
        path = quoted.split(":")[0]
        if not (path.endswith(".py") or (path.endswith("/") and "/" in path[:-1])):
            continue
        candidates = [ROOT / path, ROOT / "study" / path, ROOT / "palrnn" / path]
        if "/" not in path:
            candidates += sorted([*(ROOT / "study").rglob(path), *(ROOT / "palrnn").rglob(path)])
        out.append((quoted, next((c for c in candidates if c.exists()), candidates[0])))
    return out


def test_every_module_the_layer_drawing_names_exists():
    text = DESIGN.read_text()
    names = drawn_modules(text)
    assert len(names) > 40, names  # the drawing was read
    missing = [name for name, path in names if not path.is_file()]
    assert not missing, f"docs/design.md's layer drawing names modules that do not exist: {missing}"


def test_every_path_design_md_quotes_exists():
    quoted = quoted_paths(DESIGN.read_text())
    assert len(quoted) > 10, quoted
    missing = [q for q, path in quoted if not path.exists()]
    assert not missing, f"docs/design.md quotes paths that do not exist: {missing}"


def test_a_module_that_does_not_exist_is_caught():
    text = DESIGN.read_text().replace("finish.py", "nosuch_module.py", 1)
    assert any(not p.is_file() for _, p in drawn_modules(text))
    text = DESIGN.read_text() + "\nSee `engine/nosuch.py`.\n"
    assert any(not p.exists() for _, p in quoted_paths(text))
