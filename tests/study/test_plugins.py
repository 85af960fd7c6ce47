"""A new searcher, scheduler or tracking callback is one file and one registry line
(docs/extending.md): each registry is what the engine reads when it builds a study's Tuner. No Ray
is started here; a model defined outside palrnn trains under Ray in test_study_ray.py."""

from ray import tune
from ray.tune.schedulers import MedianStoppingRule
from ray.tune.search import BasicVariantGenerator

import study
from study.engine import logger, schedulers, search
from study.engine.spec import TunerSpec
from study.engine.tuner import _tune_config


def _search_plan(tmp_path, **keywords):
    return study.plan(search="optuna", model="RNN", length=5, num_samples=2, smoke_test=True, name="s",
                      results_dir=str(tmp_path), **keywords)


def test_a_new_searcher_is_one_registry_line(tmp_path, monkeypatch, no_ray):
    made = []

    def my_searcher(spec):  # what a file in study/engine/search/ would hold
        made.append(spec)
        return BasicVariantGenerator()

    monkeypatch.setitem(search.SEARCHERS, "optuna", my_searcher)
    spec = TunerSpec(_search_plan(tmp_path), max_concurrent=1)
    config = _tune_config(spec)
    assert isinstance(config.search_alg, BasicVariantGenerator) and made == [spec]
    assert config.num_samples == 2


def test_a_new_scheduler_is_one_registry_line(tmp_path, monkeypatch, no_ray):
    def median(spec):  # what a file in study/engine/schedulers/ would hold
        s = spec.plan.search.settings
        return MedianStoppingRule(time_attr="step", metric=s.metric, mode=s.mode)

    monkeypatch.setitem(schedulers.SCHEDULERS, "asha", median)
    monkeypatch.setitem(search.SEARCHERS, "optuna", lambda spec: BasicVariantGenerator())  # no journal here
    assert isinstance(_tune_config(TunerSpec(_search_plan(tmp_path), max_concurrent=1)).scheduler, MedianStoppingRule)
    assert _tune_config(TunerSpec(_search_plan(tmp_path, scheduler=False), max_concurrent=1)).scheduler is None


def test_a_new_tracking_callback_is_one_registry_line(tmp_path, monkeypatch, no_ray):
    class Marker(tune.Callback):  # what study/engine/logger.py would hold
        def __init__(self, folder, name):
            self.folder, self.name = folder, name

    def markers(plan, folder, name):
        return [Marker(folder, name)]

    monkeypatch.setattr(logger, "TRACKERS", [*logger.TRACKERS, markers])
    plan = study.plan(grid="smoke", name="g", results_dir=str(tmp_path))
    made = logger.study_callbacks(TunerSpec(plan))
    assert [type(c).__name__ for c in made] == ["TensorBoardCallback", "Marker"]  # no --mlflow: no MLflow
    assert made[-1].folder == (tmp_path / "g").resolve() and made[-1].name == "g"
