"""study.load_study gives every committed reference, of every kind and age, the same columns and
dtypes (study/results/tidy.py)."""

from pathlib import Path

import pandas as pd
import pytest

import study
from palrnn.config import field_names
from study.results.tidy import BOOLEANS, CATEGORIES, FLOATS, INTEGERS, METRICS, TRIAL_END

RESULTS = Path(__file__).resolve().parents[2] / "results"
# Every committed study, the searches of a comparison of search methods (reference-methods-*) too.
REFERENCES = sorted(str(p.relative_to(RESULTS)) for p in [*RESULTS.glob("reference-*"), *RESULTS.glob("reference-*/*")]
                    if (p / "study.json").is_file())
TRIALS = ["trial_id", *field_names(), *METRICS, *TRIAL_END]


def _dtype(name):
    if name in CATEGORIES:
        return "category"
    if name in INTEGERS:
        return "Int64"
    if name in FLOATS:
        return "float64"
    if name in BOOLEANS:
        return "boolean"
    return "string"


@pytest.mark.parametrize("name", REFERENCES)
def test_every_reference_loads_with_the_same_columns_and_dtypes(name):
    tables = study.load_study(RESULTS / name)
    trials, curves, summary = tables["trials"], tables["curves"], tables["summary"]
    assert list(trials.columns[: len(TRIALS)]) == TRIALS
    for column in TRIALS:
        assert str(trials[column].dtype) == _dtype(column), (name, column, trials[column].dtype)
    assert list(curves.columns[: 1 + len(field_names()) + len(METRICS)]) == ["trial_id", *field_names(), *METRICS]
    assert str(curves["step"].dtype) == "Int64" and str(curves["model"].dtype) == "category"
    assert str(summary["seeds"].dtype) == "Int64" and str(summary["model"].dtype) == "category"
    # Missing stays missing: a trial that never reached the target has <NA>, not 0 or NaN-as-float.
    never = trials["steps_to_target"].isna()
    assert (trials.loc[~never, "steps_to_target"] > 0).all()
    # What the pandas recipes need works on every one of them.
    pivot = trials.pivot_table(index="length", columns="model", values="eval_accuracy", aggfunc="mean",
                               observed=True)
    assert not pivot.empty


def test_an_older_study_gets_the_fields_it_did_not_have_yet():
    trials = study.load_study(RESULTS / "reference-frontier-best")["trials"]
    assert "forget_bias" in trials and trials["forget_bias"].notna().all()
    raw = pd.read_csv(RESULTS / "reference-init" / "trials.csv")
    loaded = study.load_study(RESULTS / "reference-init")["trials"]
    if "best_eval_accuracy" not in raw:
        assert loaded["best_eval_accuracy"].isna().all()
    if "forget_bias" not in raw:
        assert (loaded["forget_bias"] == 0.0).all()
