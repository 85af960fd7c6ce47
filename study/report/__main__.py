"""python -m study.report PATH: the command line, for a study folder or a study.methods folder."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from palrnn.cli import RaisingParser, UsageError
from study.basics.errors import NotAStudy
from study.report.write import PROG, write_report


def build_parser() -> argparse.ArgumentParser:
    p = RaisingParser(prog=PROG, description="Write a study's summary.csv, figures/*.png and report.html and "
                                             "print its main tables (a memory frontier's frontier.csv and table too); "
                                             "for a folder of search methods compared (python -m study.methods "
                                             "--out FOLDER), its methods.csv, repeats.csv and figures/methods.png.")
    p.add_argument("path", help="the study's folder, results/<name> (holds study.json and trials.csv), or a "
                                "study.methods folder (holds a folder per search, <method>-s<seed>)")
    p.add_argument("--no-figures", action="store_true",
                   help="write summary.csv only (default: figures too); not for a study.methods folder, whose "
                        "figure is its report")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (default: print the tables)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m study.report PATH [--no-figures]``: 0 on success, 2 on bad input (one line on stderr)."""
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        if is_methods_folder(args.path):  # re-reported by its own code, study.methods --analyse-only
            if args.no_figures:
                raise UsageError(f"--no-figures: {args.path} is a study.methods folder; its report is its tables "
                                 "and figures/methods.png, written together")
            from study import methods

            with contextlib.redirect_stdout(io.StringIO() if args.quiet else sys.stdout):
                return methods.main(methods_argv(args.path))
        write_report(args.path, echo=not args.quiet, figures=not args.no_figures)
    except (UsageError, NotAStudy) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _searches(folder: Path) -> list[tuple[str, int]]:
    """The (method, search seed) of each search a study.methods folder holds: ``<method>-s<seed>/study.json``."""
    from study.methods import METHODS

    found = [(method, int(seed)) for method, _, seed in (p.parent.name.rpartition("-s")
                                                         for p in folder.glob("*-s*/study.json"))
             if method in METHODS and seed.isdigit()]
    return sorted(found, key=lambda ms: (list(METHODS).index(ms[0]), ms[1]))


def is_methods_folder(path: str | Path) -> bool:
    """A folder study.methods wrote: no study.json of its own, and its searches' folders."""
    folder = Path(path)
    return folder.is_dir() and not (folder / "study.json").exists() and bool(_searches(folder))


def methods_argv(path: str | Path) -> list[str]:
    """``python -m study.methods --analyse-only`` options that redo a methods folder from its searches
    (``<method>-s<seed>``) and its confirming reruns (``confirm-<method>``: read, not run)."""
    folder = Path(path)
    searches = _searches(folder)
    methods = list(dict.fromkeys(m for m, _ in searches))
    seeds = sorted({s for _, s in searches})
    confirms = any((folder / f"confirm-{m}" / "study.json").is_file() for m in methods)
    return ["--out", str(folder), "--analyse-only", "--methods", *methods, "--search-seeds", *map(str, seeds),
            "--confirm-seeds", "5" if confirms else "0"]


if __name__ == "__main__":
    sys.exit(main())
