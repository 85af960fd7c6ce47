"""study.spec.load, a study.json read back as the study it describes, field by field: the mutants
that the planning tests let through (docs/testing.md, python scripts/mutation.py) each change one."""

import json

import pytest

from study.basics.errors import StudyError
from study.frontier.options import FrontierOptions
from study.spec.catalogue import default_space
from study.spec.load import load, search_from_meta
from study.spec.load import read_meta as from_meta
from study.spec.search import Search
from study.spec.space import parse_dist
from study.spec.studyfile import Study


def test_a_frontier_study_json():
    meta = {"kind": "frontier", "name": "fr-1",
            "param_space": {"model": ["RNN", "LSTM"], "init": ["default", "xavier"], "hidden": 64, "length": 5,
                            "seed": 0},
            "grid_axes": ["init", "length", "model", "seed"], "frontier": {"solve_rule": "2/3", "max_length": 40},
            "mlflow": "sqlite:////tmp/x/fr-1/mlflow.db"}
    assert from_meta(meta) == Study(name="frontier", fixed={"hidden": 64},
                                    axes={"model": ["RNN", "LSTM"], "init": ["default", "xavier"]},
                                    frontier=FrontierOptions(rule=(2, 3), max_length=40), mlflow=True)
    with pytest.raises(ValueError, match="solve_rule"):
        from_meta(meta | {"frontier": {"solve_rule": "9/3"}})


def test_a_grid_study_json_with_and_without_swept_seeds():
    meta = {"grid": "lengths", "param_space": {"model": ["RNN"], "length": [5, 6], "lr": 0.01, "seed": [0, 1, 2]},
            "grid_axes": ["length", "model", "seed"], "mlflow": "sqlite:////tmp/x/other/mlflow.db"}
    assert from_meta(meta) == Study(name="lengths", seeds=3, fixed={"lr": 0.01},
                                    axes={"model": ["RNN"], "length": [5, 6]}, mlflow="sqlite:////tmp/x/other/mlflow.db")
    one = {"kind": "grid", "param_space": {"model": "RNN", "length": [5], "seed": 7}, "grid_axes": ["length"]}
    assert from_meta(one) == Study(name="grid", seeds=1, fixed={"model": "RNN"}, axes={"length": [5]})


def test_a_search_study_json():
    meta = {"kind": "optuna", "name": "s", "mlflow": "http://h:5000",
            "param_space": {"model": ["RNN", "GRU"], "length": 20, "hidden": 64, "lr": 0.001, "seed": 0},
            "search": {"space": {"lr": "loguniform:1e-4:1e-2"}, "metric": "eval_loss", "num_samples": 7,
                       "scheduler": True, "seed": 3, "sampler": "random",
                       "objectives": [["eval_loss", "min"], ["steps_to_target", "min"]],
                       "perturbation_interval": 50, "perturb": ["lr"]}}
    search = Search(space={"lr": parse_dist("lr", "loguniform:1e-4:1e-2")}, metric="eval_loss", mode="min",
                    num_samples=7, scheduler="asha", seed=3, sampler="random", more=(("steps_to_target", "min"),),
                    perturbation_interval=50, perturb=("lr",))
    assert from_meta(meta) == Study(name="optuna", fixed={"hidden": 64}, axes={"model": ["RNN", "GRU"], "length": [20]},
                                    search=search, mlflow="http://h:5000")
    other = meta | {"param_space": {"model": "RNN", "length": [20, 30], "seed": 0}, "mlflow": ""}
    assert from_meta(other).axes == {"model": ["RNN"], "length": [20, 30]} and from_meta(other).mlflow is None


def test_an_older_search_block_has_the_defaults():
    assert search_from_meta({}) == Search(space=default_space())
    assert search_from_meta({"metric": "eval_loss", "scheduler": "off"}) == \
        Search(space=default_space(), metric="eval_loss", mode="min", scheduler="none")
    assert search_from_meta({"scheduler": "bogus", "mode": "min"}) == Search(space=default_space(), mode="min")


def test_load_reads_a_folder_or_a_file(tmp_path):
    meta = {"kind": "grid", "param_space": {"model": ["RNN"], "length": [5], "seed": [0]},
            "grid_axes": ["model", "length", "seed"]}
    (tmp_path / "study.json").write_text(json.dumps(meta))
    assert load(tmp_path) == load(tmp_path / "study.json") == from_meta(meta)
    (tmp_path / "study.toml").write_text('name = "mine"\nseeds = 2\n[axes]\nlength = [7]\n')
    assert load(tmp_path) == Study(name="mine", seeds=2, axes={"length": [7]})
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudyError, match=r"^here: a folder without study.toml or study.json is not a study$"):
        load(tmp_path / "empty", where="here")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(StudyError, match=r"^--study .*bad.json: not a study file \("):
        load(tmp_path / "bad.json")
