"""study/ in one-way layers (docs/design.md), computed from the code: every import statement of
study's and palrnn's modules, those inside functions included (``TYPE_CHECKING`` blocks aside),
relative ones (``from ..driver import execute``) read against the importing module's package.

- no import cycle among the modules, but for the one back edge docs/design.md names
  (``StudyPlan.run`` reaching the driver);
- each layer of study/ imports only the layers below it;
- Ray is imported by the engine only, and palrnn imports no study module.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top. A module belongs to the first layer whose prefix it starts with.
LAYERS = [
    ("basics", ["study.basics"]),
    ("frontier", ["study.frontier"]),
    ("spec", ["study.spec"]),
    ("plan", ["study.planning"]),
    ("results", ["study.results"]),
    ("engine", ["study.engine", "study.trainable"]),  # study.trainable: old pickles' names (test_legacy_resume)
    ("report", ["study.report"]),
    ("driver", ["study.driver"]),
    ("entry", ["study.report.__main__", "study.run", "study.bench", "study.gradients", "study"]),
]
# No back edge: planning derives, the entry layer runs (study.run.run_plan).
BACK_EDGES: set[tuple[str, str]] = set()
RAY_LAYER = "engine"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[1]):
                best = (i, len(p))
    assert best is not None, module
    return best[0]


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(source: str, module: str, known: set[str], package: bool = False, typing: bool = False) -> set[str]:
    """The modules of ``known`` that ``source`` imports, at any depth; ``from a import b`` counts as
    ``a.b`` when that is a module, else ``a``. A relative import (``from ..a import b``) is read
    against ``module``'s package (``module`` itself where it is a package's ``__init__``,
    ``package``). A package's own ``__init__`` is not counted. ``typing``: the imports of
    ``if TYPE_CHECKING:`` blocks count too."""
    out: set[str] = set()
    skip: set[int] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if _type_checking(node) and not typing:
            skip |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, package)
            for a in node.names:
                full = f"{base}.{a.name}"
                out.add(full if full in known else base)
    return {m for m in out if m != module}


def _absolute(node: ast.ImportFrom, module: str, package: bool) -> str:
    """The module ``from ... import`` names: its own name, or a relative one resolved against the
    importing module's package."""
    if node.level == 0:
        return str(node.module)
    parts = module.split(".") if package else module.split(".")[:-1]
    assert node.level - 1 < len(parts), f"{module}: a relative import above the top package"
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def graph(typing: bool = False) -> dict[str, set[str]]:
    files = sorted([*(ROOT / "study").rglob("*.py"), *(ROOT / "palrnn").rglob("*.py")])
    names = {module_name(f): f for f in files}
    known = set(names)
    return {m: {i for i in imports(f.read_text(), m, known, f.name == "__init__.py", typing)
                if i in known or i.split(".")[0] in ("ray",)}
            for m, f in names.items()}


def cycles(g: dict[str, set[str]], allowed: set[tuple[str, str]] = frozenset()) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), ``allowed`` edges left out."""
    edges = {m: {t for t in ts if t in g and (m, t) not in allowed} for m, ts in g.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle_through_an_import_inside_a_function():
    known = {"study.a", "study.b", "study.c"}
    g = {"study.a": imports("import study.b\n", "study.a", known),
         "study.b": imports("def f():\n    from study.c import x\n", "study.b", known),
         "study.c": imports("from study import a\nif TYPE_CHECKING:\n    import study.b\n", "study.c", known)}
    assert g["study.c"] == {"study.a"}  # a TYPE_CHECKING import is not one
    assert cycles(g) == [["study.a", "study.b", "study.c"]]
    assert cycles(g, {("study.b", "study.c")}) == []


def test_relative_imports_are_read_against_the_importing_module_s_package():
    known = {"study", "study.basics", "study.basics.stats", "study.basics.text", "study.driver",
             "study.driver.execute", "study.engine", "study.engine.search", "study.engine.search.optuna"}
    upward = "def f():\n    from ..driver.execute import cluster_address\n"
    assert imports(upward, "study.basics.stats", known) == {"study.driver.execute"}
    assert imports("from . import text\nfrom .text import wrap\n", "study.basics.stats", known) == {"study.basics.text"}
    assert imports("from .. import driver\n", "study.basics.stats", known) == {"study.driver"}
    assert imports("from ...driver import execute\n", "study.engine.search.optuna", known) == {"study.driver.execute"}
    # In a package's __init__, "." is the package itself.
    assert imports("from .search import optuna\n", "study.engine", known, package=True) == \
        {"study.engine.search.optuna"}
    # And the layer check sees it: basics importing the driver is upward.
    g = {"study.basics.stats": imports(upward, "study.basics.stats", known)}
    assert [(m, t) for m, ts in g.items() for t in ts if layer_of(t) > layer_of(m)] == \
        [("study.basics.stats", "study.driver.execute")]


def test_no_import_cycles_but_the_one_named_back_edge():
    g = graph()
    assert cycles(g, BACK_EDGES) == []
    for a, b in BACK_EDGES:  # the back edge is still there (else drop it from the list)
        assert b in g[a], (a, b)


def test_no_import_cycles_when_type_checking_imports_count():
    assert cycles(graph(typing=True), BACK_EDGES) == []


# The private names older pickles hold (Ray pickled them into study folders' tuner.pkl by these paths).
PICKLED = {("study.trainable", "_dirname")}


def private_imports(typing: bool = True) -> list[str]:
    """Every ``from a import _b`` (and ``a._b`` on a module imported as ``a``) by which a module of
    study/ or palrnn/ takes another module's private name; ``PICKLED`` aside."""
    files = sorted([*(ROOT / "study").rglob("*.py"), *(ROOT / "palrnn").rglob("*.py")])
    names = {module_name(f): f for f in files}
    out = []
    for m, f in names.items():
        tree = ast.parse(f.read_text())
        modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _absolute(node, m, f.name == "__init__.py")
                for a in node.names:
                    if f"{base}.{a.name}" in names:
                        modules[a.asname or a.name] = f"{base}.{a.name}"
                    elif a.name.startswith("_") and not a.name.startswith("__") and base in names \
                            and (m, a.name) not in PICKLED:
                        out.append(f"{m} imports {base}.{a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in names:
                        modules[a.asname or a.name] = a.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules \
                    and node.attr.startswith("_") and not node.attr.startswith("__"):
                out.append(f"{m} uses {modules[node.value.id]}.{node.attr}")
    return out


def test_no_module_imports_another_modules_private_name():
    assert private_imports() == []


def test_the_private_name_check_sees_an_import_and_an_attribute(tmp_path, monkeypatch):
    pkg = tmp_path / "study"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def _hidden():\n    pass\n")
    (pkg / "b.py").write_text("from study.a import _hidden\n")
    (pkg / "c.py").write_text("from study import a\n\na._hidden()\n")
    (tmp_path / "palrnn").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert private_imports() == ["study.b imports study.a._hidden", "study.c uses study.a._hidden"]


def test_each_layer_imports_only_layers_below_it():
    g = graph()
    bad = []
    for m, targets in g.items():
        if not m.startswith("study"):
            continue
        for t in targets:
            if t.startswith("study") and (m, t) not in BACK_EDGES and layer_of(t) > layer_of(m):
                bad.append(f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})")
    assert bad == []


def test_ray_is_imported_by_the_engine_only_and_palrnn_imports_no_study():
    g = graph()
    ray = sorted(m for m, ts in g.items() if any(t == "ray" or t.startswith("ray.") for t in ts))
    assert ray and all(LAYERS[layer_of(m)][0] == RAY_LAYER for m in ray), ray
    assert [m for m, ts in g.items() if m.startswith("palrnn") and any(t.startswith("study") for t in ts)] == []


def test_modules_and_functions_stay_small():
    """About 400 lines a module and 60 a function (argparse declarations aside)."""
    big = []
    for f in sorted([*(ROOT / "study").rglob("*.py"), *(ROOT / "palrnn").rglob("*.py")]):
        source = f.read_text()
        if source.count("\n") > 420:
            big.append(f"{f.relative_to(ROOT)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "parser" not in node.name \
                    and node.end_lineno - node.lineno + 1 > 60:
                big.append(f"{f.relative_to(ROOT)}:{node.lineno} {node.name}(): {node.end_lineno - node.lineno + 1}")
    assert big == []
