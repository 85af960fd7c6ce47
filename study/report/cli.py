"""python -m study.report's command line."""

from __future__ import annotations

import argparse
import sys

from palrnn.cli import RaisingParser, UsageError
from study.basics.errors import NotAStudy
from study.report.write import PROG, write_report


def build_parser() -> argparse.ArgumentParser:
    p = RaisingParser(prog=PROG, description="Write a study's summary.csv, figures/*.png and report.html and "
                                             "print its main tables (a memory frontier's frontier.csv and table too).")
    p.add_argument("path", help="the study's folder, results/<name> (holds study.json and trials.csv)")
    p.add_argument("--no-figures", action="store_true", help="write summary.csv only (default: figures too)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (default: print the tables)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m study.report PATH [--no-figures]``: 0 on success, 2 on bad input (one line on stderr)."""
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        write_report(args.path, echo=not args.quiet, figures=not args.no_figures)
    except (UsageError, NotAStudy) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return 0
