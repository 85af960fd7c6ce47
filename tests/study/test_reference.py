"""The committed reference studies re-report to the very tables committed beside them."""

import shutil
from pathlib import Path

import pytest

from study.report import write_report
from study.results.summary import SUMMARY_STATS

RESULTS = Path(__file__).resolve().parents[2] / "results"


NAMES = ["reference-lengths", "reference-init", "reference-forget", "reference-search-rnn20",
         "reference-search-rnn20-confirm", "reference-search-rnn20-confirm-tied"]


@pytest.mark.parametrize("name", NAMES)
def test_reference_study_re_reports_identically(name, tmp_path):
    src = RESULTS / name
    assert (src / "summary.csv").is_file() and (src / "README.md").is_file(), f"{name} is not committed"
    copy = tmp_path / name
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("figures"))
    write_report(copy, echo=False, figures=False)
    for table in ("summary.csv", "trials.csv", "best.json", "importances.csv"):
        if (src / table).is_file():
            assert (copy / table).read_bytes() == (src / table).read_bytes(), table


@pytest.mark.parametrize("name", NAMES)
def test_reference_intervals_are_inside_the_unit_interval_and_never_zero_width(name):
    """The committed summaries were re-reported: new columns, every interval in [0, 1] around its mean."""
    import pandas as pd


    summary = pd.read_csv(RESULTS / name / "summary.csv")
    assert all(c in summary.columns for c in SUMMARY_STATS)
    ok = summary.dropna(subset=["eval_accuracy_low"])
    assert len(ok) == (summary["seeds"] >= 2).sum()  # an interval wherever there are two seeds (none in a search)
    assert (ok["eval_accuracy_low"] >= 0).all() and (ok["eval_accuracy_high"] <= 1).all()
    assert (ok["eval_accuracy_low"] <= ok["eval_accuracy_mean"]).all()
    assert (ok["eval_accuracy_mean"] <= ok["eval_accuracy_high"]).all()
    assert (ok["eval_accuracy_low"] < ok["eval_accuracy_high"]).all()  # the held-out examples leave room


def test_reference_search_summary_has_one_row_per_config():
    import pandas as pd

    trials = pd.read_csv(RESULTS / "reference-search-rnn20" / "trials.csv")
    summary = pd.read_csv(RESULTS / "reference-search-rnn20" / "summary.csv")
    assert len(summary) == len(trials) == 40
    assert summary["seeds"].sum() == 6 and summary["cut"].sum() == 34
    assert (summary["seeds"] + summary["cut"] == 1).all()


def test_every_reference_was_run_from_a_clean_commit():
    """Each committed study (the references, and the searches of a methods comparison) records the
    commit it ran from and a clean working tree, so that commit alone reproduces it."""
    import json

    metas = sorted(RESULTS.glob("reference-*/study.json")) + sorted(RESULTS.glob("reference-*/*/study.json"))
    assert len(metas) >= 10
    for path in metas:
        provenance = json.loads(path.read_text())["provenance"]
        assert len(provenance["commit"]) == 40 and provenance["dirty"] is False, path


def answer() -> str:
    """The README's first section, the answer: its lengths table and frontier summary."""
    text = (RESULTS.parent / "README.md").read_text(encoding="utf-8")
    return text.split("## The answer", 1)[1].split("\n## ", 1)[0]


def findings() -> str:
    """docs/findings.md, every finding, and the README's answer, which quotes some of them."""
    return (RESULTS.parent / "docs" / "findings.md").read_text(encoding="utf-8") + "\n" + answer()


def _table(text: str, header_cell: str) -> list[dict]:
    """The markdown table whose header row holds header_cell, as one dict a row."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("|") and header_cell in line)
    header = [c.strip() for c in lines[at].strip("|").split("|")]
    rows = []
    for line in lines[at + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)))
    return rows


def test_readme_findings_quote_the_committed_intervals():
    """The lengths table, in the README's answer and in docs/findings.md, is summary.csv's, to three
    decimals, with its method named."""
    import pandas as pd

    text = findings()
    assert "t(0.995) | Wilson" in text and "logit-t interval over" not in text
    assert "t(0.995) | Wilson" in answer()
    summary = pd.read_csv(RESULTS / "reference-lengths" / "summary.csv")

    def cell(model, t):
        r = summary[(summary["model"] == model) & (summary["length"] == t)].iloc[0]
        return f"{r.eval_accuracy_mean:.3f} [{r.eval_accuracy_low:.3f}, {r.eval_accuracy_high:.3f}]"

    for page in (answer(), (RESULTS.parent / "docs" / "findings.md").read_text(encoding="utf-8")):
        for t in range(5, 11):
            row = next(line for line in page.splitlines() if line.startswith(f"| {t} |"))
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert cells[1] == cell("RNN", t) and cells[3] == cell("LSTM", t)
    confirm = pd.read_csv(RESULTS / "reference-search-rnn20-confirm" / "summary.csv").iloc[0]
    assert (f"{confirm.eval_accuracy_mean:.3f} [{confirm.eval_accuracy_low:.3f}, "
            f"{confirm.eval_accuracy_high:.3f}]") in text


# ---- the memory frontier's references ----------------------------------------------------------

FRONTIERS = sorted(p.name for p in RESULTS.glob("reference-frontier-*") if (p / "study.json").is_file())
FRONTIER_HEADER = "longest T remembered (≥ 4/5 seeds)"
# Frontier searches stopped on purpose before they knew their cell's frontier (the time they were
# given ran out; their README says so): they give bounds, not a frontier.
STOPPED = {"reference-frontier-gru-long"}


def test_the_frontier_references_are_committed():
    assert {"reference-frontier-exercise", "reference-frontier-best"} <= set(FRONTIERS)


@pytest.mark.parametrize("name", FRONTIERS)
def test_reference_frontier_is_complete_and_re_reports_identically(name, tmp_path):
    """A committed frontier ended complete, keeps its search's state, and study.report rewrites the
    same frontier.csv and summary.csv from it."""
    import json

    src = RESULTS / name
    meta = json.loads((src / "study.json").read_text())
    assert meta["kind"] == "frontier" and meta["wall_seconds"] > 0
    assert (src / "frontier" / "state.json").is_file() and (src / "figures" / "frontier.png").is_file()
    assert (src / "README.md").is_file() and meta["command"] in (src / "README.md").read_text()
    from study.frontier.table import load_frontier

    if name in STOPPED:  # stopped, and says so
        assert meta["status"] == "interrupted" and not load_frontier(src).done
        assert "stopped" in (src / "README.md").read_text()
    else:
        assert meta["status"] == "complete" and load_frontier(src).done
    copy = tmp_path / name
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("figures"))
    (copy / "frontier.csv").unlink()
    write_report(copy, echo=False, figures=False)
    for table in ("frontier.csv", "summary.csv"):
        assert (copy / table).read_bytes() == (src / table).read_bytes(), table
    html = (copy / "report.html").read_text()
    assert "fitted crossing [95%]" in html and "held 0.99 at the last evaluation" in html


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)} min"


def test_readme_frontier_table_is_the_committed_frontiers():
    """Each row of the Findings' frontier table (model, study, longest T, first failure, wall
    time) is what that study's frontier/state.json and study.json say."""
    import json

    import pandas as pd

    from study.frontier.table import load_frontier

    text = findings()
    assert FRONTIER_HEADER in text
    rows = _table(text, FRONTIER_HEADER)
    assert {r["study"].strip("`") for r in rows} == set(FRONTIERS)
    for r in rows:
        folder = RESULTS / r["study"].strip("`")
        fr = load_frontier(folder)
        cells = [i for i, c in enumerate(fr.cells) if c["model"] == r["model"]]
        assert len(cells) == 1, r  # one cell per model in each reference frontier
        cell = cells[0]
        longest, first = fr.frontier(cell)
        if not fr.cell_done(cell):  # a stopped search: what it knew when it stopped
            assert folder.name in STOPPED and first is not None, r
            assert r[FRONTIER_HEADER] == (f"< {first}" if longest is None else f"≥ {longest}, < {first}"), r
        else:
            assert r[FRONTIER_HEADER] == ("none" if longest is None else
                                          str(longest) if first is not None else f"≥ {longest}"), r
        assert r["first failure"] == (f"none up to {fr.max_length}" if first is None else str(first)), r
        trials = pd.read_csv(folder / "trials.csv")
        assert r["trials"] == str((trials["model"] == r["model"]).sum()), r
        wall = json.loads((folder / "study.json").read_text())["wall_seconds"]
        assert r["wall time of the study"] == _minutes(wall), r
        _check_fitted_and_held(folder, r)


# The README's frontier summary: each cell is the "longest T" of the findings' row of these studies.
SUMMARY_STUDIES = {
    ("RNN", "the exercise's settings"): "reference-frontier-exercise",
    ("LSTM", "the exercise's settings"): "reference-frontier-exercise",
    ("GRU", "the exercise's settings"): "reference-frontier-exercise",
    ("RNN", "the best settings found"): "reference-frontier-rnn-search",
    ("LSTM", "the best settings found"): "reference-frontier-lstm-chrono",
    ("GRU", "the best settings found"): "reference-frontier-gru-long",
}


def test_readme_frontier_summary_is_the_findings_frontier_table():
    """The README's "how far" table quotes, per model, the findings' frontier rows it names (which
    the test above checks against the studies), the exercise's failure at T = 5 and chrono's bound."""
    detail = _table((RESULTS.parent / "docs" / "findings.md").read_text(encoding="utf-8"), FRONTIER_HEADER)
    summary = _table(answer(), "the best settings found")
    assert [r["model"] for r in summary] == ["RNN", "LSTM", "GRU"]
    for r in summary:
        for column in ("the exercise's settings", "the best settings found"):
            study_name = SUMMARY_STUDIES[(r["model"], column)]
            row = next(d for d in detail if d["model"] == r["model"] and d["study"] == f"`{study_name}`")
            assert r[column].split(" (")[0] == row[FRONTIER_HEADER], (r, row)
    lstm_best = next(d for d in detail if d["model"] == "LSTM" and d["study"] == "`reference-frontier-best`")
    assert f"({lstm_best[FRONTIER_HEADER]} with Xavier" in summary[1]["with them"]


def _check_fitted_and_held(folder, r):
    """The row's fitted crossing and held solves are frontier.csv's (a bound said as a bound)."""
    import math

    import pandas as pd

    probes = pd.read_csv(folder / "frontier.csv")
    probes = probes[probes["cell"] == r["model"]]
    fit = probes.iloc[0]
    text = r["fitted 0.8 crossing [95%]"]
    if math.isfinite(fit.fitted_length) and fit.fitted_low > 0 and math.isfinite(fit.fitted_high):
        assert text.startswith(f"{fit.fitted_length:.3g} [{fit.fitted_low:.3g}, {fit.fitted_high:.3g}]"), r
    elif math.isnan(fit.fitted_length) and math.isfinite(fit.fitted_low) and fit.fitted_low > 0:
        assert text.startswith(f"≥ {fit.fitted_low:.3g}") and "bound" in text, r  # every probe passed
    elif fit.fitted_low == 0 and fit.fitted_high == math.inf:
        assert "no interval" in text, r
    else:
        assert text.startswith("—"), r
    assert r["solves held to the end"] == f"{int(probes['held'].sum())} of {int(probes['k'].sum())}", r


def test_every_interval_the_findings_quote_is_a_committed_one():
    """Each "mean [low, high]" in docs/findings.md or the README's answer is a cell of a committed
    reference: a summary.csv
    row's held-out accuracy, or an odd-vs-even contrast the report computes from its trials.csv.
    A reference run again with other numbers fails here until the Findings follow it."""
    import re

    import pandas as pd

    from study.results.folder import read_study_folder, summary_axes
    from study.results.summary import parity_table

    known = set()
    for folder in sorted([*RESULTS.glob("reference-*"), *RESULTS.glob("reference-methods-*/confirm-*")]):
        if not (folder / "summary.csv").is_file():
            continue
        summary = pd.read_csv(folder / "summary.csv").dropna(subset=["eval_accuracy_low"])
        known |= {f"{r.eval_accuracy_mean:.3f} [{r.eval_accuracy_low:.3f}, {r.eval_accuracy_high:.3f}]"
                  for r in summary.itertuples()}
        data = read_study_folder(folder)
        parity = parity_table(data["trials"], summary_axes(data["meta"], data["trials"].columns))
        known |= {f"{r.contrast:+.3f} [{r.low:+.3f}, {r.high:+.3f}]" for r in parity.dropna().itertuples()}
    quoted = re.findall(r"[+−-]?\d\.\d{3} \[[+−-]?\d\.\d{3}, [+−-]?\d\.\d{3}\]", findings())
    assert len(quoted) >= 20
    missing = [q for q in quoted if q.replace("−", "-") not in known]
    assert not missing, f"quoted in docs/findings.md or the README's answer but in no committed reference: {missing}"


METHODS = RESULTS / "reference-methods-rnn20"


def test_the_methods_reference_re_analyses_to_its_committed_tables():
    """python -m study.methods --analyse-only over the committed searches gives the committed
    repeats.csv and methods.csv (each search's trials.csv, curves.csv and journal are committed)."""
    import pandas as pd

    from study.methods import METHODS as NAMES
    from study.methods import analyse

    repeats, summary = analyse(METHODS, list(NAMES), [0, 1, 2])
    committed = pd.read_csv(METHODS / "repeats.csv")
    assert len(repeats) == 15
    for column in ("method", "best_trial", "solved"):
        assert list(repeats[column].astype(str)) == list(committed[column].astype(str)), column
    for column in ("search_seed", "trials", "steps_spent", "trials_to_solve", "steps_to_solve", "best_eval_accuracy"):
        now, then = (pd.to_numeric(df[column], errors="coerce").fillna(-1).tolist() for df in (repeats, committed))
        assert now == pytest.approx(then), column
    table = pd.read_csv(METHODS / "methods.csv")
    for column in ("solved", "trials_to_solve", "steps_to_solve", "best_eval_accuracy"):
        assert list(summary[column].astype(str)) == list(table[column].astype(str)), column


def test_readme_methods_table_is_the_committed_methods_csv():
    import pandas as pd

    from study.methods import markdown

    page = (RESULTS.parent / "docs" / "findings.md").read_text()
    assert markdown(pd.read_csv(METHODS / "methods.csv")) in page
