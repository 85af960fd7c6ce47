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


NAMES = ["reference-lengths", "reference-init", "reference-forget", "reference-search-rnn20",
         "reference-search-rnn20-confirm"]


@pytest.mark.parametrize("name", NAMES)
def test_reference_intervals_are_logit_t_inside_the_unit_interval(name):
    """The committed summaries were re-reported: new columns, every interval in [0, 1] around its mean."""
    import pandas as pd

    from study import tables as tb

    summary = pd.read_csv(RESULTS / name / "summary.csv")
    assert all(c in summary.columns for c in tb.SUMMARY_STATS)
    ok = summary.dropna(subset=["eval_accuracy_low"])
    assert len(ok) == (summary["seeds"] >= 2).sum()  # an interval wherever there are two seeds (none in a search)
    assert (ok["eval_accuracy_low"] >= 0).all() and (ok["eval_accuracy_high"] <= 1).all()
    assert (ok["eval_accuracy_low"] <= ok["eval_accuracy_mean"]).all()
    assert (ok["eval_accuracy_mean"] <= ok["eval_accuracy_high"]).all()


def test_reference_search_summary_has_one_row_per_config():
    import pandas as pd

    trials = pd.read_csv(RESULTS / "reference-search-rnn20" / "trials.csv")
    summary = pd.read_csv(RESULTS / "reference-search-rnn20" / "summary.csv")
    assert len(summary) == len(trials) == 40
    assert summary["seeds"].sum() == 6 and summary["cut"].sum() == 34
    assert (summary["seeds"] + summary["cut"] == 1).all()


def findings() -> str:
    text = (RESULTS.parent / "README.md").read_text(encoding="utf-8")
    return text.split("## Findings", 1)[1].split("\n## ", 1)[0]


def test_readme_findings_quote_the_committed_intervals():
    """The lengths table in README's Findings is summary.csv's, to three decimals, with its method named."""
    import pandas as pd

    text = findings()
    assert "logit-t" in text and "Student-t interval over" not in text
    summary = pd.read_csv(RESULTS / "reference-lengths" / "summary.csv")

    def cell(model, t):
        r = summary[(summary["model"] == model) & (summary["length"] == t)].iloc[0]
        return f"{r.eval_accuracy_mean:.3f} [{r.eval_accuracy_low:.3f}, {r.eval_accuracy_high:.3f}]"

    for t in range(5, 11):
        row = next(line for line in text.splitlines() if line.startswith(f"| {t} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == cell("RNN", t) and cells[3] == cell("LSTM", t)
    confirm = pd.read_csv(RESULTS / "reference-search-rnn20-confirm" / "summary.csv").iloc[0]
    assert (f"{confirm.eval_accuracy_mean:.3f} [{confirm.eval_accuracy_low:.3f}, "
            f"{confirm.eval_accuracy_high:.3f}]") in text
