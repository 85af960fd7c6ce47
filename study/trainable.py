"""The import paths Ray pickled into tuner.pkl (reporter, callbacks, searcher, scheduler, ``_dirname``) in studies
made before study/ was split into layers: they resume through these names (tests/study/test_legacy_resume.py)."""

from study.engine.logger import MLflowCallback, TensorBoardCallback
from study.engine.search.frontier import FrontierCallback, FrontierScheduler, FrontierSearcher
from study.engine.search.optuna import PalrnnOptunaSearch
from study.engine.trainable import palrnn_trial
from study.engine.tuner import ProgressLine, _dirname

__all__ = ["FrontierCallback", "FrontierScheduler", "FrontierSearcher", "MLflowCallback", "PalrnnOptunaSearch",
           "ProgressLine", "TensorBoardCallback", "_dirname", "palrnn_trial"]
