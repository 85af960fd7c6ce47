"""A search's best trial, and the trials tied with it: best.json lists every trial with the best
value and the rule that chose among them, Optuna's own (study.best_trial: the first completed
trial with the best value, by trial number) where the search keeps a journal, else the first by
trial id; study.methods' repeats.csv names the trial its confirmation reruns."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from study.planning.plan import StudyPlan
from study.results.folder import read_study_folder
from study.results.search import (
    ID_TIE_BREAK,
    OPTUNA_TIE_BREAK,
    best_record,
    best_trial,
    optuna_numbers,
    ranked_trials,
    tied_words,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "results"


def _table():
    # Four trials at 1.0 (one of them errored: not ranked), one at 0.9; ids sort otherwise than Optuna's numbers.
    return pd.DataFrame({
        "trial_id": ["d", "a", "c", "b", "e"],
        "eval_accuracy": [1.0, 1.0, 0.9, 1.0, 1.0],
        "steps_to_target": [500, 3000, None, 1000, 200],
        "status": ["TERMINATED", "TERMINATED", "TERMINATED", "TERMINATED", "ERROR"],
    })


def test_ties_are_listed_and_broken_by_optunas_trial_number():
    numbers = {"a": 7, "b": 3, "c": 0, "d": 5, "e": 1}
    best = best_trial(_table(), numbers=numbers)
    assert best["trial_id"] == "b"  # the lowest number among those at 1.0; e errored, fewer steps do not count
    assert best["tied"] == ["b", "d", "a"] and best["tie_break"] == OPTUNA_TIE_BREAK
    assert ranked_trials(_table(), numbers=numbers)["trial_id"].tolist() == ["b", "d", "a", "c"]
    assert tied_words(best) == (f" (trial b, tied with 2 others: d, a; chosen as {OPTUNA_TIE_BREAK})")


def test_without_a_journal_ties_are_broken_by_trial_id():
    best = best_trial(_table())
    assert best["trial_id"] == "a" and best["tied"] == ["a", "b", "d"] and best["tie_break"] == ID_TIE_BREAK
    low = best_trial(_table(), "steps_to_target", "min")  # a metric to minimise: no tie here
    assert low["trial_id"] == "d" and low["tied"] == ["d"] and tied_words(low) == ""


def _copy(tmp_path, name):
    folder = tmp_path / name.replace("/", "-")
    shutil.copytree(REFERENCE / name, folder)  # opening a journal may write a lock beside it
    return folder


def _optuna_best(folder):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "optuna.journal")))
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    tied = [t.user_attrs["ray_trial_id"] for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
            if t.value == study.best_value]
    return study.best_trial.user_attrs["ray_trial_id"], tied


@pytest.mark.parametrize("name", ["reference-search-rnn20", "reference-methods-rnn20/cmaes-s2"])
def test_a_reference_searchs_best_is_optunas_best_trial(tmp_path, name):
    folder = _copy(tmp_path, name)
    data = read_study_folder(folder)
    best = best_record(StudyPlan.from_meta(data["meta"]), data["trials"], optuna_numbers(folder, data["meta"]))
    optuna_best, tied = _optuna_best(folder)
    assert best["trial_id"] == optuna_best and sorted(best["tied"]) == sorted(tied) and len(tied) >= 2
    assert best["tie_break"] == OPTUNA_TIE_BREAK
    assert f"--set lr={best['lr']!r}" in best["confirm"]  # the command confirms the trial chosen


def test_methods_repeats_name_the_trial_best_json_names_and_confirm_reruns(tmp_path):
    # cmaes-s2's repeats.csv named 56da6ad4 (the first of its 1.0 trials in trials.csv's order) and
    # confirmed ee6ee745 (best.json's).
    from study.methods import analyse

    shutil.copytree(REFERENCE / "reference-methods-rnn20" / "cmaes-s2", tmp_path / "cmaes-s2")
    repeats, _ = analyse(tmp_path, ["cmaes"], [2])
    best = json.loads((tmp_path / "cmaes-s2" / "best.json").read_text())
    assert repeats["best_trial"].tolist() == [best["trial_id"]] == ["ee6ee745"]
    assert repeats["best_eval_accuracy"].tolist() == [1.0]
