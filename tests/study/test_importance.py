"""Importances are what their label says: fANOVA, computed by Optuna's FanovaImportanceEvaluator
with the seeds the label names (not Optuna's default evaluator, PED-ANOVA in Optuna 5)."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from study.report.plots import plot_importances
from study.results.search import (
    FANOVA_SEEDS,
    fanova_importances,
    importance_label,
    importance_text,
    read_optuna_study,
    write_importances,
)

ROOT = Path(__file__).resolve().parents[2]
SEARCH = ROOT / "results" / "reference-search-rnn20"


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """reference-search-rnn20's Optuna study, from a copy of its journal (opening it may write a lock)."""
    folder = tmp_path_factory.mktemp("search")
    shutil.copy(SEARCH / "optuna.journal", folder / "optuna.journal")
    study = read_optuna_study(folder)
    assert study is not None and len(study.trials) == 40
    return folder, study


def test_importances_are_optunas_fanova_with_the_seeds_named(search):
    import optuna

    folder, study = search
    table = fanova_importances(study).set_index("param")
    by_seed = pd.DataFrame({s: optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=s)) for s in FANOVA_SEEDS}).astype(float)
    assert sorted(table.index) == sorted(by_seed.index) == ["hidden", "init", "lr", "max_norm", "optimizer"]
    for column, stat in (("fanova_mean", "mean"), ("fanova_min", "min"), ("fanova_max", "max")):
        expected = getattr(by_seed, stat)(axis=1)
        for param in table.index:
            assert table.loc[param, column] == pytest.approx(expected[param], abs=1e-9), (column, param)
    assert set(table["seeds"]) == {"0-9"} and set(table["evaluator"]) == {"optuna.importance.FanovaImportanceEvaluator"}
    # Not Optuna's default evaluator: that one gives lr 0.82 here, what the README once called fANOVA.
    default = optuna.importance.get_param_importances(study)
    assert default["lr"] > 0.7 and table.loc["lr", "fanova_max"] < 0.5
    # Most important first.
    assert list(table["fanova_mean"]) == sorted(table["fanova_mean"], reverse=True)


def test_the_file_the_figure_and_the_text_name_the_evaluator_and_its_seeds(search, tmp_path):
    _, study = search
    table = write_importances(tmp_path, study, seeds=(3, 4, 5))
    written = pd.read_csv(tmp_path / "importances.csv")
    assert list(written.columns) == ["param", "fanova_mean", "fanova_min", "fanova_max", "seeds", "evaluator"]
    assert written["fanova_mean"].to_numpy() == pytest.approx(table["fanova_mean"].to_numpy(), abs=1e-6)
    assert set(written["seeds"]) == {"3-5"}
    label = importance_label(str(written["seeds"].iloc[0]))
    assert label == "fANOVA (Optuna's FanovaImportanceEvaluator, seeds 3-5): mean over the seeds, and their range"
    assert importance_label((7,)) == "fANOVA (Optuna's FanovaImportanceEvaluator, seed 7)"
    ax = plot_importances(written).axes[0]
    assert ax.get_title() == "Hyperparameter importance: fANOVA (Optuna's FanovaImportanceEvaluator, seeds 3-5)"
    first = written.iloc[0]
    assert importance_text(written).startswith(
        f"{first['param']} {first['fanova_mean']:.2f} [{first['fanova_min']:.2f}, {first['fanova_max']:.2f}]")


def test_no_importances_where_fanova_cannot_split_the_objective(tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_categorical("hidden", [32]) / 64, n_trials=3)
    assert write_importances(tmp_path, study) is None and not (tmp_path / "importances.csv").exists()
