"""The report of a study folder: summary.csv, figures, report.html and printed text, computed from the
result tables first, then drawn (``python -m study.report``; its modules: docs/design.md)."""

from study.report.write import write_report

__all__ = ["write_report"]
