"""study.load_study gives every committed reference, of every kind and age, the same columns and
dtypes (study/results/tidy.py's docstring). The expected dtypes are written out here, column by
column, not taken from tidy.py's own lists: a column moved to the wrong list there fails this test."""

from pathlib import Path

import pandas as pd
import pytest

import study

RESULTS = Path(__file__).resolve().parents[2] / "results"
# Every committed study, the searches of a comparison of search methods (reference-methods-*) too.
REFERENCES = sorted(str(p.relative_to(RESULTS)) for p in [*RESULTS.glob("reference-*"), *RESULTS.glob("reference-*/*")]
                    if (p / "study.json").is_file())

# trial_id, the config fields (palrnn.config.field_names(), in order), then the recorded metrics.
CURVES = {
    "trial_id": "string",
    "model": "category", "length": "Int64", "hidden": "Int64", "input": "category", "init": "category",
    "forget_bias": "float64", "optimizer": "category", "lr": "float64", "momentum": "float64",
    "batch_size": "Int64", "max_norm": "float64", "steps": "Int64", "eval_every": "Int64",
    "eval_fraction": "float64", "eval_size": "Int64", "target": "float64", "patience": "Int64",
    "diverge_loss": "float64", "seed": "Int64", "backend": "category", "device": "category",
    "step": "Int64", "train_loss": "float64", "train_accuracy": "float64", "eval_loss": "float64",
    "eval_accuracy": "float64", "best_eval_accuracy": "float64", "examples_per_second": "float64",
    "grad_norm": "float64", "grad_norm_max": "float64", "mean_train_accuracy": "float64",
    "diverged": "boolean", "steps_to_target": "Int64", "stopped_early": "boolean",
}
# The curves' columns, then how the trial ended.
TRIALS = {
    **CURVES,
    "status": "category", "stopped_by": "category", "node": "category", "restarts": "Int64",
    "restarted_from_scratch": "boolean", "wall_seconds": "float64", "params": "Int64", "error": "string",
}
# What Population Based Training adds, after those.
PBT_TRIALS = {"member": "Int64", "exploits": "Int64", "lineage": "string"}
PBT_CURVES = {"exploited_from": "Int64"}
# Every summary has these; a study that swept other fields has those too (SWEPT), as group columns.
SUMMARY = {
    "model": "category", "length": "Int64", "seeds": "Int64", "eval_accuracy_mean": "float64",
    "eval_accuracy_low": "float64", "eval_accuracy_high": "float64", "solved": "Int64", "solved_low": "float64",
    "solved_high": "float64", "held": "Int64", "steps_to_target_median": "float64", "diverged": "Int64",
    "stopped_early": "Int64", "mean_train_accuracy": "float64", "train_accuracy_final": "float64",
    "errored": "Int64", "unfinished": "Int64", "cut": "Int64",
}
SWEPT = {"init": "category", "forget_bias": "float64", "hidden": "Int64", "lr": "float64", "max_norm": "float64",
         "optimizer": "category"}


def _dtypes(table: pd.DataFrame) -> dict[str, str]:
    return {c: str(table[c].dtype) for c in table.columns}


@pytest.mark.parametrize("name", REFERENCES)
def test_every_reference_loads_with_the_same_columns_and_dtypes(name):
    tables = study.load_study(RESULTS / name)
    trials, curves, summary = tables["trials"], tables["curves"], tables["summary"]
    pbt = "member" in trials
    assert _dtypes(trials) == {**TRIALS, **(PBT_TRIALS if pbt else {})}, name
    assert list(trials.columns) == [*TRIALS, *(PBT_TRIALS if pbt else {})], name
    assert _dtypes(curves) == {**CURVES, **(PBT_CURVES if pbt else {})}, name
    assert list(curves.columns) == [*CURVES, *(PBT_CURVES if pbt else {})], name
    swept = [c for c in summary.columns if c not in SUMMARY]
    assert set(swept) <= set(SWEPT), (name, swept)
    assert _dtypes(summary) == {**SUMMARY, **{c: SWEPT[c] for c in swept}}, name
    # Missing stays missing: a trial that never reached the target has <NA>, not 0 or NaN-as-float.
    never = trials["steps_to_target"].isna()
    assert (trials.loc[~never, "steps_to_target"] > 0).all()
    # The summary's counts are the counts summary.csv holds (3 seeds that stopped early stay 3).
    raw = pd.read_csv(RESULTS / name / "summary.csv")
    for count in ("seeds", "solved", "held", "diverged", "stopped_early", "errored", "unfinished", "cut"):
        if count in raw:
            assert summary[count].tolist() == raw[count].tolist(), (name, count)
    # What the pandas recipes need works on every one of them.
    pivot = trials.pivot_table(index="length", columns="model", values="eval_accuracy", aggfunc="mean",
                               observed=True)
    assert not pivot.empty


def test_the_references_hold_every_kind_of_table_checked_above():
    """The references include a PBT search and studies that swept each of SWEPT's fields, so that
    every dtype written out above is compared with a real table."""
    loaded = [study.load_study(RESULTS / name) for name in REFERENCES]
    assert any("member" in t["trials"] for t in loaded)
    assert set(SWEPT) <= {c for t in loaded for c in t["summary"].columns}


def test_an_older_study_gets_the_fields_it_did_not_have_yet():
    trials = study.load_study(RESULTS / "reference-frontier-best")["trials"]
    assert "forget_bias" in trials and trials["forget_bias"].notna().all()
    raw = pd.read_csv(RESULTS / "reference-init" / "trials.csv")
    loaded = study.load_study(RESULTS / "reference-init")["trials"]
    if "best_eval_accuracy" not in raw:
        assert loaded["best_eval_accuracy"].isna().all()
    if "forget_bias" not in raw:
        assert (loaded["forget_bias"] == 0.0).all()
