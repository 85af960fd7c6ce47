"""study.compare on pandas: trials DataFrames (as study.load_study gives them), study.load_study's
tables, and one study split by a column (by="init") give the same rows, verdicts, margin,
intervals and settings refusal as the equivalent study folders (cut from the committed references
without Ray, as tests/study/test_compare.py cuts them); bad by= and labels= are one-line
StudyErrors."""

from pathlib import Path

import pandas as pd
import pytest
from test_compare import _cut

import study
from study.basics.errors import StudyError

ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "results" / "reference-init"
EXERCISE = ROOT / "results" / "reference-frontier-exercise"
BEST = ROOT / "results" / "reference-frontier-best"
INITS = ["default", "orthogonal", "seed", "xavier"]  # the tables' order: the first is A
LABELS = ("study_a", "study_b", "present")  # the only columns that name the studies


def _per_init(tmp_path: Path, inits, keep=lambda t: True) -> list[Path]:
    return [_cut(INIT, tmp_path / name, lambda t, n=name: keep(t) & (t["init"] == n), fixed={"init": name})
            for name in inits]


def _same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Every column but the labels equal (floats to 1e-12); both sides present in the same cells."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got.drop(columns=list(LABELS)), want.drop(columns=list(LABELS)),
                                  check_exact=False, rtol=0, atol=1e-12)
    assert (got["present"] == "both").tolist() == (want["present"] == "both").tolist()


@pytest.mark.parametrize("margin", [0.02, 0.3])
def test_by_init_gives_the_folder_comparisons_rows(tmp_path, margin):
    """reference-init split by init (a folder, study.load_study's tables, its trials DataFrame)
    against four folders that each held one init, compared with ignore="init": the same rows,
    verdicts, intervals and margin; the split's labels are init=value, its set_aside is init."""
    folders = _per_init(tmp_path, INITS)
    want = study.compare(*folders, write=False, ignore="init", margin=margin).table
    tables = study.load_study(INIT)
    for source in (INIT, str(INIT), tables, tables["trials"]):
        comparison = study.compare(source, by="init", write=False, margin=margin)
        _same_rows(comparison.table, want)
        assert comparison.studies == [f"init={name}" for name in INITS] and comparison.by == "init"
        assert comparison.ignored == ["init"] and comparison.table["set_aside"].eq("init").all()
        assert comparison.table["margin"].eq(margin).all()
        assert set(comparison.table["study_b"]) == {"init=orthogonal", "init=seed", "init=xavier"}
    verdicts = want["verdict"].value_counts()
    assert verdicts.get("differs", 0) > 0 and verdicts.get("same", 0) > 0  # both kinds of verdict are checked


def test_dataframes_give_the_folder_comparisons_rows(tmp_path):
    """The notebook's question: the RNN at T = 10, N(0, 1) against Xavier. Two DataFrames filtered
    from study.load_study's trials are refused as two such folders are (they differ in init), and
    with ignore="init" give the folders' row: differs, by far more than the margin."""
    rnn10 = lambda t: (t["model"] == "RNN") & (t["length"] == 10)  # noqa: E731
    folders = _per_init(tmp_path, ["seed", "xavier"], rnn10)
    with pytest.raises(StudyError) as folder_error:
        study.compare(*folders, write=False)
    trials = study.load_study(INIT)["trials"]
    frames = [trials[rnn10(trials) & (trials["init"] == name)] for name in ("seed", "xavier")]
    with pytest.raises(StudyError) as frame_error:
        study.compare(*frames, write=False)
    assert "init (seed | xavier)" in str(frame_error.value) and "ignore" in str(frame_error.value)
    assert str(frame_error.value) == str(folder_error.value).replace("seed and xavier", "A and B")
    want = study.compare(*folders, write=False, ignore="init").table
    got = study.compare(*frames, write=False, ignore="init")
    _same_rows(got.table, want)
    assert got.studies == ["A", "B"] and got.folders == {}
    (row,) = got.table.itertuples()
    assert row.verdict == "differs" and row.accuracy_diff_low > 0.02 and row.set_aside == "init"
    split = study.compare(trials[rnn10(trials) & trials["init"].isin(["seed", "xavier"])], by="init", write=False,
                          labels=["N(0, 1)", "Xavier"])
    _same_rows(split.table, want)
    assert split.studies == ["N(0, 1)", "Xavier"] and list(split.settings.columns[1:3]) == split.studies


def test_by_sets_aside_only_its_own_column(tmp_path):
    """Two frontier references in one DataFrame, split by init: they also differ in hidden and
    forget_bias, and the refusal names those two, not init; set aside, the shared cells pair."""
    both = pd.concat([study.load_study(EXERCISE)["trials"], study.load_study(BEST)["trials"]], ignore_index=True)
    with pytest.raises(StudyError) as error:
        study.compare(both, by="init", write=False)
    message = str(error.value)
    assert "hidden (128 | 64)" in message and "forget_bias (0 | 1)" in message
    assert "init (" not in message and "\n" not in message
    want = study.compare(EXERCISE, BEST, write=False, ignore="init,hidden,forget_bias").table
    got = study.compare(both, by="init", write=False, ignore=["hidden", "forget_bias"])
    _same_rows(got.table, want)
    assert got.table["set_aside"].eq("hidden,init,forget_bias").all()


def test_a_split_folder_writes_beside_it_and_a_dataframe_needs_out(tmp_path):
    (folder,) = [_cut(INIT, tmp_path / "init", lambda t: t["length"] <= 10)]
    study.compare(folder, by="init", figures=False)
    assert (tmp_path / "compare-init-by-init" / "compare.csv").is_file()
    trials = study.load_study(folder)["trials"]
    with pytest.raises(StudyError, match=r"^out: the first study is a DataFrame.*give out="):
        study.compare(trials, by="init", figures=False)
    study.compare(trials, by="init", out=tmp_path / "frames", figures=False)
    assert (tmp_path / "frames" / "compare.csv").is_file()


TRIALS = study.load_study(INIT)["trials"]
BAD = {
    "unknown column": (dict(by="hiden"), r"^by='hiden': no such column in A's trials; split by a setting A "
                                         r"varies: init$"),
    "one value": (dict(by="hidden"), r"^by='hidden': A has one hidden \(128\); nothing to compare"),
    "model": (dict(by="model"), r"^by='model': model and length define the cells"),
    "seed": (dict(by="seed"), r"^by='seed': model and length define the cells .*seed is averaged"),
    "an outcome": (dict(by="eval_accuracy"), r"^by='eval_accuracy': not a config field"),
    "not a name": (dict(by=["init"]), r"^by=\['init'\]: give one column's name"),
    "two studies": (dict(by="init", extra=True), r"^by='init' splits one study by its values; give one study, "
                                                 r"not 2$"),
    "labels too few": (dict(by="init", labels=["a", "b"]), r"^labels: give 4 distinct names, one per value of init"),
    "labels twice": (dict(labels=["a", "a"], extra=True), r"^labels: give 2 distinct names, one per study"),
    "one study": (dict(), r"^give two or more studies to compare .*or one with by="),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_by_and_labels_are_one_line_study_errors(case):
    keywords, message = BAD[case]
    keywords = dict(keywords)
    studies = [TRIALS, TRIALS] if keywords.pop("extra", False) else [TRIALS]
    with pytest.raises(StudyError, match=message) as error:
        study.compare(*studies, write=False, **keywords)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("thing, message", [
    (TRIALS.drop(columns=["eval_accuracy"]), r"^study 2: a table without eval_accuracy is not a trials table"),
    (TRIALS.iloc[:0], r"^study 2: the trials table has no rows"),
    (42, r"^study 2: not a study \(int\); give a study folder, a trials DataFrame"),
])
def test_what_is_not_a_study_is_named(thing, message):
    with pytest.raises(StudyError, match=message):
        study.compare(TRIALS, thing, write=False)
