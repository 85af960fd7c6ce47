"""The docs build as a site with MkDocs (mkdocs.yml, the `docs` extra): `mkdocs build --strict`
passes on the project's pages, with the README as the home page and the references' figures in
the site, and fails on a broken link or anchor. Without MkDocs the tests skip, saying so; with
PALRNN_REQUIRE_DOCS=1 (.ci/run sets it) they fail instead, so CI never passes without them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mkdocs():
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        if os.environ.get("PALRNN_REQUIRE_DOCS") == "1":
            pytest.fail("PALRNN_REQUIRE_DOCS=1 but MkDocs is not installed: pip install -e \".[docs]\"")
        pytest.skip("MkDocs is not installed (pip install -e \".[docs]\")")


def _build(project: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(project / "mkdocs.yml"), "-d", str(site)],
                          cwd=project, capture_output=True, text=True, timeout=120)


def _copy(tmp_path: Path) -> Path:
    """The files the site is built from, in a folder of their own."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    (project / "scripts").mkdir()
    for name in ("mkdocs.yml", "README.md", "scripts/mkdocs_hooks.py"):
        shutil.copy(ROOT / name, project / name)
    for png in ROOT.glob("results/*/figures/*.png"):
        (project / png.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, project / png.relative_to(ROOT))
    return project


def test_the_docs_build_strictly_with_the_readme_as_home(mkdocs, tmp_path):
    run = _build(ROOT, tmp_path / "site")
    assert run.returncode == 0, run.stderr
    home = (tmp_path / "site" / "index.html").read_text()
    assert "The answer" in home and 'href="findings/"' in home
    findings = (tmp_path / "site" / "findings" / "index.html").read_text()
    assert 'src="../results/reference-lengths/figures/accuracy_vs_length.png"' in findings
    assert (tmp_path / "site" / "results" / "reference-lengths" / "figures" / "accuracy_vs_length.png").is_file()
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")}
    nav = (ROOT / "mkdocs.yml").read_text()
    assert not [p for p in pages if f": {p}.md" not in nav], "a page of docs/ is missing from mkdocs.yml's nav"


@pytest.mark.parametrize("broken", [
    ("docs/findings.md", "[the frontier](frontiers.md)"),           # a page that does not exist
    ("docs/study.md", "[gone](search.md#no-such-section)"),         # an anchor that does not exist
    ("README.md", "[lost](docs/nowhere.md)"),                       # the home page's link to a page
    ("docs/findings.md", "![figure](../results/none/figures/x.png)"),  # a figure that is not committed
])
def test_a_broken_link_fails_the_strict_build(mkdocs, tmp_path, broken):
    project = _copy(tmp_path)
    assert _build(project, tmp_path / "ok").returncode == 0
    page, link = broken
    with open(project / page, "a", encoding="utf-8") as f:
        f.write(f"\n\nSee {link}.\n")
    run = _build(project, tmp_path / "site")
    assert run.returncode != 0 and "WARNING" in run.stderr + run.stdout, run.stderr
