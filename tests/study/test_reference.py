"""The committed reference studies re-report to the very tables committed beside them."""

import shutil
from pathlib import Path

import pytest

from study.report import write_report

RESULTS = Path(__file__).resolve().parents[2] / "results"


@pytest.mark.parametrize("name", ["reference-lengths", "reference-init", "reference-forget", "reference-search-rnn20",
                                  "reference-search-rnn20-confirm"])
def test_reference_study_re_reports_identically(name, tmp_path):
    src = RESULTS / name
    assert (src / "summary.csv").is_file() and (src / "README.md").is_file(), f"{name} is not committed"
    copy = tmp_path / name
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("figures"))
    write_report(copy, echo=False, figures=False)
    assert (copy / "summary.csv").read_bytes() == (src / "summary.csv").read_bytes()
