"""study.results.tidy's conversions, value by value: the mutants that test_tidy.py lets through
(docs/testing.md, python scripts/mutation.py) each change one of these."""

import pandas as pd

from palrnn.config import Config
from study.results.tidy import _booleans, _typed, tidy_runs, tidy_tables


def test_booleans_read_every_spelling_and_nothing_else():
    col = pd.Series(["True", " false ", "1", "0", "1.0", "0.0", "x", None], dtype=object)
    assert _booleans(col).tolist() == [True, False, True, False, True, False, pd.NA, pd.NA]


def test_text_in_a_number_column_is_missing():
    df = _typed(pd.DataFrame({"lr": ["x", "0.1"], "step": ["x", "3"]}))
    assert pd.isna(df["lr"][0]) and df["lr"][1] == 0.1 and pd.isna(df["step"][0]) and df["step"][1] == 3


def test_a_missing_config_field_is_its_default_and_a_missing_metric_is_missing():
    df = tidy_runs(pd.DataFrame({"trial_id": ["a"]}), ["forget_bias", "step"])
    assert df["forget_bias"][0] == Config().forget_bias and pd.isna(df["step"][0])


def test_curves_without_columns_stay_without():
    data = {"trials": pd.DataFrame({"trial_id": ["a"]}), "curves": pd.DataFrame(), "summary": pd.DataFrame()}
    assert tidy_tables(data)["curves"].columns.empty
