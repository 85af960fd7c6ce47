"""The report of a study folder: its summary.csv, figures, report.html and printed text, computed
from the result tables first, then drawn (``python -m study.report``).

    write.py   ``write_report``: summary.csv, the figures, report.html, the printed text
    text.py    the printed text
    html.py    report.html, one self-contained page
    plots/     the figures, each from a computed table (plots/__init__.py)
    frontier.py  a memory frontier's figure and frontier.csv
    compare.py   a comparison printed and written (results/compare.py computes it)
    __main__.py  the command line (an entry point: nothing here imports it)
"""

from study.report.write import write_report

__all__ = ["write_report"]
