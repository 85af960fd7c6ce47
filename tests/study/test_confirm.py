"""A search's best config comes with the grid command that reruns it over seeds, all else equal."""

import shlex

from study import run
from study.planning.build import plan_from_args
from study.results.search import confirm_command
from study.spec.catalogue import default_space
from study.spec.space import for_model


def _plan(argv, tmp_path):
    argv = [*argv, "--results-dir", str(tmp_path)]
    return plan_from_args(run.build_parser().parse_args(argv), argv)


def test_confirm_command_reruns_the_best_config_over_seeds(tmp_path):
    plan = _plan(["--search", "optuna", "--model", "LSTM", "--length", "12", "--name", "s", "--set", "steps=3000",
                  "--set", "batch_size=64"], tmp_path)
    best = {"hidden": 64, "lr": 0.0012345678901234, "max_norm": None, "init": "xavier", "optimizer": "adam",
            "forget_bias": 2.0, "eval_accuracy": 1.0, "model": "LSTM", "length": 12}
    command = confirm_command(plan, best)
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "study.run"] and "--name" in words
    confirm = _plan(words[3:], tmp_path)
    assert confirm.kind == "grid" and confirm.n_trials == len(confirm.trials) == 5 and confirm.name == "s-confirm"
    space = confirm.param_space
    assert space["model"] == ["LSTM"] and space["length"] == [12] and space["seed"] == [0, 1, 2, 3, 4]
    for key, value in {**best, "steps": 3000, "batch_size": 64}.items():
        if key not in ("eval_accuracy", "model", "length"):
            assert space[key] == value, key  # the float survives exactly, none stays None
    assert space["patience"] == plan.param_space["patience"]


def test_confirm_command_keeps_full_smoke_and_the_results_folder(tmp_path):
    plan = _plan(["--search", "optuna", "--full", "--smoke-test", "--name", "s"], tmp_path / "my results")
    best = {"hidden": 32, "lr": 0.01, "max_norm": 10.0, "init": "seed", "optimizer": "sgd"}
    words = shlex.split(confirm_command(plan, best))
    assert words[words.index("--results-dir") + 1] == str(tmp_path / "my results")
    confirm = _plan(words[3:], tmp_path)
    for key, value in plan.param_space.items():  # the search's budget and stopping rule, not the grid's
        if key not in best and key != "seed":
            assert confirm.param_space[key] == ([value] if key in ("model", "length") else value), key
    assert confirm.param_space["patience"] == 0 and confirm.param_space["steps"] == 200


def test_an_lstm_search_also_chooses_the_forget_bias(tmp_path):

    space = default_space()
    assert "forget_bias" in for_model(space, "LSTM") and "forget_bias" not in for_model(space, "RNN")
    assert _plan(["--search", "optuna", "--model", "LSTM", "--name", "l"], tmp_path).axes[-1] == "forget_bias"
