"""python -m study.compare and study.compare: studies aligned cell by cell, differences with
intervals judged against a practical margin, the settings the studies differ in (refused unless set
aside with --ignore), cells of one study only, bad input. Studies are the committed references,
study folders cut from them (their own trials, fewer cells), or small ones made by hand."""

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import study
from study.basics.errors import StudyError
from study.compare import main

ROOT = Path(__file__).resolve().parents[2]
LENGTHS = ROOT / "results" / "reference-lengths"
INIT = ROOT / "results" / "reference-init"
EXERCISE = ROOT / "results" / "reference-frontier-exercise"
BEST = ROOT / "results" / "reference-frontier-best"


def _cut(src: Path, dst: Path, keep, fixed=None) -> Path:
    """A study folder of ``src``'s trials that ``keep(trials)`` selects; ``fixed``: fields the new
    study held at one value instead of sweeping them (test_compare_frames.py uses it too)."""
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


def _study(folder: Path, cells: dict, **settings) -> Path:
    """A study folder made by hand: ``cells`` maps (model, length) to its seeds' final held-out
    accuracies, one finished trial each, every config field a column (palrnn's defaults, then
    ``settings``), as a grid that swept model and held everything else fixed."""
    from palrnn.config import Config

    fixed = {**{f.name: f.default for f in dataclasses.fields(Config)}, "patience": 3, **settings}
    rows = []
    for (model, length), accuracies in cells.items():
        for seed, acc in enumerate(accuracies):
            rows.append({**fixed, "trial_id": f"{model}{length}_{seed}", "model": model, "length": length,
                         "seed": seed, "step": 10_000, "eval_accuracy": acc,
                         "steps_to_target": 5000.0 if acc >= 0.99 else None, "status": "TERMINATED",
                         "stopped_by": "steps"})
    folder.mkdir(parents=True)
    models = sorted({m for m, _ in cells})
    space = {**{k: v for k, v in fixed.items() if k not in ("model", "length", "seed")}, "model": models,
             "length": sorted({t for _, t in cells}), "seed": list(range(max(map(len, cells.values()))))}
    (folder / "study.json").write_text(json.dumps({"name": folder.name, "kind": "grid", "axes": ["model"],
                                                   "param_space": space}))
    pd.DataFrame(rows).to_csv(folder / "trials.csv", index=False)
    return folder


def test_a_study_compared_with_itself_flags_nothing(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main([str(LENGTHS), str(LENGTHS), "--out", str(out), "--fail-on-difference"]) == 0
    table = pd.read_csv(out / "compare.csv")
    summary = pd.read_csv(LENGTHS / "summary.csv")
    assert len(table) == len(summary) == 12 and not table["differs"].any()
    assert set(table["present"]) == {"both"} and set(table["verdict"]) <= {"same", "inconclusive"}
    assert (table["accuracy_diff"] == 0).all() and (table["accuracy_diff_low"] <= 0).all()
    assert (table["accuracy_diff_high"] >= 0).all()
    assert table["margin"].eq(0.02).all()
    printed = capsys.readouterr().out
    assert "no cell differs by more than the margin \u00b10.02" in printed and f"comparison in {out}" in printed
    html = (out / "compare.html").read_text()
    assert "data:image/png;base64," in html and not re.search(r"(src|href)=\"https?:", html)  # self-contained
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seed_against_xavier_at_T10_still_differs_once_init_is_set_aside(tmp_path, capsys):
    """seed (N(0, 1)) against Xavier initialisation, RNN at T = 10, 3 seeds each (cut from
    reference-init): refused as it stands (the studies differ in init); with --ignore init the cell
    differs by far more than the margin, and --fail-on-difference exits 1."""
    def rnn10(init):
        return lambda t: (t["model"] == "RNN") & (t["length"] == 10) & (t["init"] == init)

    a = _cut(INIT, tmp_path / "rnn10-seed", rnn10("seed"), fixed={"init": "seed"})
    b = _cut(INIT, tmp_path / "rnn10-xavier", rnn10("xavier"), fixed={"init": "xavier"})
    out = tmp_path / "cmp"
    assert main([str(a), str(b), "--out", str(out), "--fail-on-difference"]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "init (seed | xavier)" in err and "--ignore init" in err and not out.exists()
    assert main([str(a), str(b), "--out", str(out), "--fail-on-difference", "--ignore", "init"]) == 1
    table = pd.read_csv(out / "compare.csv")
    (row,) = table.itertuples()
    assert (row.model, row.length, row.a_seeds, row.b_seeds) == ("RNN", 10, 3, 3)
    assert row.verdict == "differs" and row.differs and row.accuracy_diff_low > row.margin == 0.02
    assert row.solve_rate_diff_low > 0 and row.set_aside == "init"
    assert row.b_accuracy == pytest.approx(1.0, abs=1e-3) and row.a_solved == 0 and row.b_solved == 3
    printed = capsys.readouterr().out
    assert "1 cell differs by more than the margin \u00b10.02" in printed
    assert "set aside (--ignore): init" in printed
    # Without --fail-on-difference the same comparison exits 0.
    assert main([str(a), str(b), "--out", str(tmp_path / "again"), "--no-figures", "--ignore", "init"]) == 0


@pytest.mark.parametrize("case", ["one example per seed at T = 10", "0.9990 against 0.9995 at T = 10",
                                  "one or two examples per seed at T = 5", "two examples per seed at T = 5"])
def test_a_faithful_rerun_passes_fail_on_difference(tmp_path, capsys, case):
    """Seeds that differ by a held-out example or two (T = 10: 4,096 held-out examples, one is
    0.00024; T = 5: 100, one is 0.01) are never a difference: the margin absorbs them."""
    a_acc, b_acc, length = {
        "one example per seed at T = 10": ([1 - 1 / 4096] * 3, [1.0] * 3, 10),
        "0.9990 against 0.9995 at T = 10": ([0.9990, 0.9995, 0.9990], [0.9995, 0.9990, 0.9995], 10),
        "one or two examples per seed at T = 5": ([1.0, 1.0, 1.0], [0.99, 0.98, 0.99], 5),
        "two examples per seed at T = 5": ([1.0, 1.0, 1.0], [0.98, 0.98, 0.98], 5)}[case]
    a = _study(tmp_path / "reference", {("RNN", length): a_acc, ("LSTM", length): a_acc})
    b = _study(tmp_path / "rerun", {("RNN", length): b_acc, ("LSTM", length): b_acc})
    out = tmp_path / "cmp"
    assert main([str(a), str(b), "--fail-on-difference", "--out", str(out)]) == 0
    table = pd.read_csv(out / "compare.csv")
    assert len(table) == 2 and set(table["verdict"]) <= {"same", "inconclusive"} and not table["differs"].any()
    if length == 10:  # 4,096 held-out examples: the interval is narrow, well inside the margin
        assert set(table["verdict"]) == {"same"}
    assert table["margin"].eq(0.02).all()
    printed = capsys.readouterr().out
    assert "margin \u00b10.02 (--margin)" in printed and "no cell differs by more than the margin" in printed
    html = (out / "compare.html").read_text()
    assert "\u00b10.02" in html and "B - A [95% interval]" in html
    assert "a_accuracy_low" not in html.split("<details>")[0]  # the readable table; compare.csv's columns folded


def test_seeds_either_side_of_the_target_differ_in_solve_rate_only_and_pass(tmp_path):
    """0.989 against 0.991 (T = 10): 0/3 against 3/3 solved, an interval of the solve rates'
    difference that excludes 0, but the accuracies are the same within the margin: not a difference."""
    a = _study(tmp_path / "a", {("RNN", 10): [0.989] * 3})
    b = _study(tmp_path / "b", {("RNN", 10): [0.991] * 3})
    assert main([str(a), str(b), "--fail-on-difference", "--quiet", "--no-figures", "--out", str(tmp_path / "c")]) == 0
    (row,) = pd.read_csv(tmp_path / "c" / "compare.csv").itertuples()
    assert (row.a_solved, row.b_solved) == (0, 3) and row.solve_rate_diff_low > 0
    assert row.verdict == "same" and not row.differs


def test_studies_that_differ_in_fixed_settings_are_refused_until_they_are_set_aside(tmp_path, capsys):
    """reference-frontier-exercise (N(0, 1), 128 units, forget bias 0) against reference-frontier-best
    (Xavier, 64 units, forget bias 1): one line names each setting that differs with both values,
    nothing is paired or written; --ignore those fields pairs the shared cells and says so."""
    out = tmp_path / "cmp"
    assert main([str(EXERCISE), str(BEST), "--out", str(out)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    for named in ("hidden (128 | 64)", "init (seed | xavier)", "forget_bias (0 | 1)",
                  "--ignore hidden,init,forget_bias"):
        assert named in err, err
    assert "lr" not in err.split("--ignore")[0] and not out.exists()
    assert main([str(EXERCISE), str(BEST), "--out", str(out), "--ignore", "init, hidden,forget_bias"]) == 0
    printed = capsys.readouterr().out
    assert "set aside (--ignore): hidden, init, forget_bias" in printed
    assert printed.index("set aside") < printed.index("B - A [95% interval]")  # settings before the table
    table = pd.read_csv(out / "compare.csv")
    both = table[table["present"] == "both"]
    assert sorted(zip(both["model"], both["length"], strict=True)) == [
        ("GRU", 5), ("LSTM", 5), ("LSTM", 10), ("LSTM", 20), ("RNN", 5), ("RNN", 10)]
    assert table["set_aside"].eq("hidden,init,forget_bias").all()
    html = (out / "compare.html").read_text()
    settings = re.search(r'<table id="settings">.*?</table>', html, re.S).group(0)
    for field in ("hidden", "init", "forget_bias"):
        assert re.search(rf"<td class=\"text\">{field}</td>.*?set aside</td></tr>", settings)
    assert settings.count("set aside</td>") == 3 and settings.count(">equal</td>") == 15


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


BAD = {"not-a-study": ("not a study folder", []), "one-study": ("two or more", []),
       "no-shared-cell": ("no cell in common", []), "missing": ("no such folder", []),
       "unknown-ignore": ("--ignore: unknown config field 'hiden'; allowed: hidden, input", ["--ignore", "init,hiden"]),
       "cell-ignore": ("--ignore: length defines the cells", ["--ignore", "length"]),
       "swept-ignore": ("--ignore init: swept by a compared study", ["--ignore", "init"]),
       "negative-margin": ("--margin: '-0.1' is not", ["--margin", "-0.1"]),
       "text-margin": ("--margin: 'abc' is not", ["--margin", "abc"]),
       "margin-of-one": ("--margin: '1' is not", ["--margin", "1"]),
       "nan-margin": ("--margin: 'nan' is not", ["--margin", "nan"])}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, case, fault):
    rnn = _cut(LENGTHS, tmp_path / "rnn", lambda t: t["model"] == "RNN")
    lstm = _cut(LENGTHS, tmp_path / "lstm", lambda t: t["model"] == "LSTM")
    plain = tmp_path / "plain"
    plain.mkdir()
    argv = {"not-a-study": [str(rnn), str(plain)], "one-study": [str(rnn)], "no-shared-cell": [str(rnn), str(lstm)],
            "missing": [str(rnn), str(tmp_path / "nowhere")], "swept-ignore": [str(INIT), str(INIT)]
            }.get(case, [str(rnn), str(rnn)])
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main([*argv, *BAD[case][1], "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m study.compare: error: "), err
    assert BAD[case][0] in err[0], err
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written
    fault("a bad value to `python -m study.compare`", 1,
          "one line naming what is wrong, exit 2, nothing written")


def test_the_api_checks_margin_and_ignore_too(tmp_path):
    a = _study(tmp_path / "a", {("RNN", 10): [1.0, 1.0, 1.0]})
    with pytest.raises(StudyError, match=r"--margin: -0\.5"):
        study.compare(a, a, write=False, margin=-0.5)
    with pytest.raises(StudyError, match="unknown config field 'nope'"):
        study.compare(a, a, write=False, ignore=["nope"])
    comparison = study.compare(a, a, write=False, margin=0.001, ignore=["device"])
    assert comparison.margin == 0.001 and comparison.ignored == ["device"]
    assert comparison.table["margin"].eq(0.001).all() and comparison.table["set_aside"].eq("device").all()


def test_a_rerun_of_a_reference_is_checked_with_fail_on_difference(tmp_path):
    """The check a user or CI runs: a copy of a reference (a rerun that reproduced it) passes."""
    copy = tmp_path / "rerun"
    shutil.copytree(LENGTHS, copy, ignore=shutil.ignore_patterns("figures"))
    assert main([str(LENGTHS), str(copy), "--fail-on-difference", "--quiet", "--out", str(tmp_path / "c")]) == 0
