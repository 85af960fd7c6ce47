"""MkDocs hooks of the docs site (mkdocs.yml): the README is the site's home page, and the
committed references' figures that the pages show are part of the site.

On GitHub the README links `docs/PAGE.md` and the pages link `../results/...`; in the site the
README is `index.md` beside the pages, and `results/` is copied to the site's root. The links are
rewritten to match, so that one text serves both and `mkdocs build --strict` still checks them.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
FIGURES = "results/*/figures/*.png"


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "index.md", abs_src_path=str(ROOT / "README.md")))
    for png in sorted(ROOT.glob(FIGURES)):
        files.append(File.generated(config, png.relative_to(ROOT).as_posix(), abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri == "index.md":  # the README, at the site's root beside the pages
        return re.sub(r"\]\(docs/", "](", markdown)
    return re.sub(r"\]\(\.\./results/", "](results/", markdown)
