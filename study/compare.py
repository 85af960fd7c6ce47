"""``python -m study.compare A B [C ...]`` and ``study.compare``: two or more studies side by side
(docs/compare.md); study/results/compare.py computes the comparison, study/report/compare.py prints and
writes it. This module is callable (``compare``), as ``import study.compare`` puts it on ``study``."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from palrnn.cli import RaisingParser, UsageError
from study.basics.errors import NotAStudy, StudyError


def compare(*paths: Any, out: str | os.PathLike[str] | None = None, write: bool = True, figures: bool = True,
            margin: float | None = None, ignore: str | Sequence[str] | None = None, by: str | None = None,
            labels: Sequence[str] | None = None) -> Any:
    """Compare studies, every later one against the first (docs/compare.md): folders, trials DataFrames or
    ``study.load_study``'s tables, or one study split ``by`` a config field it varies; ``labels`` their names,
    ``margin`` the practical margin (default ``DEFAULT_MARGIN``), ``ignore`` fixed settings set aside. Returns the
    ``Comparison`` (``.table``: compare.csv, ``.flagged``: its cells that differ, ``.settings``); writes its files
    into ``out`` (default: beside the first study's folder) unless ``write`` is False. StudyError on bad input."""
    from study.report.compare import default_folder, write_comparison
    from study.results.compare import DEFAULT_MARGIN, compare_studies

    comparison = compare_studies(list(paths), DEFAULT_MARGIN if margin is None else margin, ignore, by, labels)
    if write:
        write_comparison(comparison, Path(out) if out is not None else default_folder(comparison), figures=figures)
    return comparison


def build_parser() -> RaisingParser:
    from study.results.compare import DEFAULT_MARGIN, settings_fields

    p = RaisingParser(prog="python -m study.compare",
                      description="Compare studies cell by cell: accuracy and solve rate with 95% intervals, and "
                                  "each study's difference from the first judged against a practical margin. "
                                  "Studies that differ in a fixed setting are refused unless --ignore sets it aside.")
    p.add_argument("paths", nargs="+", metavar="STUDY", help="two or more study folders, results/<name>; "
                                                             "the first is the baseline A")
    p.add_argument("--out", help="folder for compare.csv, compare.png and compare.html "
                                 "(default: compare-<A>-vs-<B> beside the first study)")
    p.add_argument("--margin", default=str(DEFAULT_MARGIN), metavar="X",
                   help="practical margin in held-out accuracy, in [0, 1): a cell differs when the 95-percent "
                        "interval of B - A lies wholly outside [-X, +X], is the same when wholly inside, else "
                        f"inconclusive (default: {DEFAULT_MARGIN}, docs/compare.md)")
    p.add_argument("--ignore", metavar="FIELD,...",
                   help="fixed settings the studies may differ in, set aside: their cells are paired anyway "
                        f"(config fields: {', '.join(settings_fields())})")
    p.add_argument("--fail-on-difference", action="store_true",
                   help="exit 1 when a cell's verdict is 'differs' (outside the margin); default: exit 0")
    p.add_argument("--no-figures", action="store_true", help="write compare.csv only")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors and the output folder")
    return p


def main(argv: list[str] | None = None) -> int:
    """0: compared; 1: a cell differs and --fail-on-difference; 2: bad input (one line, nothing written)."""
    from study.report.compare import default_folder, text_lines, write_comparison
    from study.results.compare import compare_studies

    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        comparison = compare_studies(args.paths, args.margin, args.ignore)
        folder = Path(args.out) if args.out else default_folder(comparison)
        if folder.exists() and not folder.is_dir():
            raise StudyError(f"--out: {folder} is a file; give a folder")
        write_comparison(comparison, folder, figures=not args.no_figures)
    except (UsageError, NotAStudy, StudyError) as exc:
        print(f"python -m study.compare: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"python -m study.compare: error: cannot write the comparison: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print("\n".join(text_lines(comparison)))
    print(f"comparison in {folder}")
    return 1 if args.fail_on_difference and len(comparison.flagged) else 0


class _CallableModule(types.ModuleType):
    """``study.compare`` is this module (the package's ``__getattr__``): calling it calls ``compare``."""

    def __call__(self, *paths: Any, **kw: Any) -> Any:
        return compare(*paths, **kw)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    sys.exit(main())
