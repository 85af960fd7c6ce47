"""python -m study.compare and study.compare: studies aligned cell by cell, differences with
intervals, flagged cells, cells of one study only, bad input. Studies are the committed references,
or study folders cut from them (their own trials, fewer cells)."""

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import study
from study.compare import main

ROOT = Path(__file__).resolve().parents[2]
LENGTHS = ROOT / "results" / "reference-lengths"
INIT = ROOT / "results" / "reference-init"


def _cut(src: Path, dst: Path, keep, fixed=None) -> Path:
    """A study folder of ``src``'s trials (and curves) that ``keep(trials)`` selects; ``fixed``:
    fields the new study held at one value instead of sweeping them."""
    dst.mkdir(parents=True)
    meta = json.loads((src / "study.json").read_text())
    trials = pd.read_csv(src / "trials.csv", dtype={"trial_id": str})
    trials = trials[keep(trials)]
    for field, value in (fixed or {}).items():
        meta["axes"] = [a for a in meta.get("axes") or [] if a != field]
        meta["param_space"] = {**meta.get("param_space", {}), field: value}
    meta["name"] = dst.name
    (dst / "study.json").write_text(json.dumps(meta))
    trials.to_csv(dst / "trials.csv", index=False)
    return dst


def test_a_study_compared_with_itself_flags_nothing(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main([str(LENGTHS), str(LENGTHS), "--out", str(out), "--fail-on-difference"]) == 0
    table = pd.read_csv(out / "compare.csv")
    summary = pd.read_csv(LENGTHS / "summary.csv")
    assert len(table) == len(summary) == 12 and not table["differs"].any()
    assert set(table["present"]) == {"both"}
    assert (table["accuracy_diff"] == 0).all() and (table["accuracy_diff_low"] <= 0).all()
    assert (table["accuracy_diff_high"] >= 0).all()
    printed = capsys.readouterr().out
    assert "no cell differs" in printed and f"comparison in {out}" in printed
    html = (out / "compare.html").read_text()
    assert "data:image/png;base64," in html and not re.search(r"(src|href)=\"https?:", html)  # self-contained
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_studies_that_differ_only_in_the_rnns_initialisation_flag_that_cell(tmp_path, capsys):
    """seed (N(0, 1)) against Xavier initialisation, RNN at T = 10, 3 seeds each: the cell is flagged."""
    def rnn10(init):
        return lambda t: (t["model"] == "RNN") & (t["length"] == 10) & (t["init"] == init)

    a = _cut(INIT, tmp_path / "rnn10-seed", rnn10("seed"), fixed={"init": "seed"})
    b = _cut(INIT, tmp_path / "rnn10-xavier", rnn10("xavier"), fixed={"init": "xavier"})
    out = tmp_path / "cmp"
    assert main([str(a), str(b), "--out", str(out), "--fail-on-difference"]) == 1
    table = pd.read_csv(out / "compare.csv")
    (row,) = table.itertuples()
    assert (row.model, row.length, row.a_seeds, row.b_seeds) == ("RNN", 10, 3, 3)
    assert row.differs and row.accuracy_diff_low > 0 and row.solve_rate_diff_low > 0
    assert row.b_accuracy == pytest.approx(1.0, abs=1e-3) and row.a_solved == 0 and row.b_solved == 3
    assert "1 cell differ" in capsys.readouterr().out
    # Without --fail-on-difference the same comparison exits 0.
    assert main([str(a), str(b), "--out", str(tmp_path / "again"), "--no-figures"]) == 0


def test_cells_only_one_study_has_are_listed(tmp_path):
    short = _cut(LENGTHS, tmp_path / "short", lambda t: t["length"] <= 8)
    comparison = study.compare(LENGTHS, short, write=False)
    table = comparison.table
    only = table[table["present"] != "both"]
    assert sorted(zip(only["model"], only["length"], strict=True)) == [
        ("LSTM", 9), ("LSTM", 10), ("RNN", 9), ("RNN", 10)]
    assert set(only["present"]) == {"only reference-lengths"} and only["b_seeds"].isna().all()
    assert only["accuracy_diff"].isna().all() and not only["differs"].any()
    assert len(table) == 12 and not comparison.flagged.shape[0]


def test_the_api_and_the_module_are_one(tmp_path):
    import study.compare  # noqa: F401  (the module replaces the function on the package: still callable)

    comparison = study.compare(LENGTHS, LENGTHS, out=tmp_path / "c")
    assert comparison.studies == ["reference-lengths", "reference-lengths#2"]
    assert (tmp_path / "c" / "compare.csv").is_file() and (tmp_path / "c" / "compare.html").is_file()


def test_default_folder_is_beside_the_first_study(tmp_path):
    a = _cut(LENGTHS, tmp_path / "a", lambda t: t["length"] <= 6)
    b = _cut(LENGTHS, tmp_path / "b", lambda t: t["length"] <= 6)
    assert main([str(a), str(b), "--quiet"]) == 0
    assert (tmp_path / "compare-a-vs-b" / "compare.csv").is_file()


@pytest.mark.parametrize("case", ["not-a-study", "one-study", "no-shared-cell", "missing"])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, case, fault):
    rnn = _cut(LENGTHS, tmp_path / "rnn", lambda t: t["model"] == "RNN")
    lstm = _cut(LENGTHS, tmp_path / "lstm", lambda t: t["model"] == "LSTM")
    plain = tmp_path / "plain"
    plain.mkdir()
    argv = {"not-a-study": [str(rnn), str(plain)], "one-study": [str(rnn)], "no-shared-cell": [str(rnn), str(lstm)],
            "missing": [str(rnn), str(tmp_path / "nowhere")]}[case]
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m study.compare: error: "), err
    assert {"not-a-study": "not a study folder", "one-study": "two or more", "no-shared-cell": "no cell in common",
            "missing": "no such folder"}[case] in err[0]
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written
    fault("a bad value to `python -m study.compare`", 1,
          "one line naming what is wrong, exit 2, nothing written")


def test_a_rerun_of_a_reference_is_checked_with_fail_on_difference(tmp_path):
    """The check a user or CI runs: a copy of a reference (a rerun that reproduced it) passes."""
    copy = tmp_path / "rerun"
    shutil.copytree(LENGTHS, copy, ignore=shutil.ignore_patterns("figures"))
    assert main([str(LENGTHS), str(copy), "--fail-on-difference", "--quiet", "--out", str(tmp_path / "c")]) == 0
