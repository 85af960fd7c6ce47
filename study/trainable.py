"""Where Ray finds, in a study made before study/ was split into layers, what it pickled.

Ray pickles a study's progress reporter, callbacks, searcher, scheduler and trial-folder namer
(``_dirname``) into its folder's tuner.pkl by their import paths; before the split they lived in
this module. A study interrupted then is resumed by today's code through these names
(tests/study/test_legacy_resume.py). New code imports them from ``study.engine``.
"""

from study.engine.logger import MLflowCallback, TensorBoardCallback
from study.engine.search.frontier import FrontierCallback, FrontierScheduler, FrontierSearcher
from study.engine.search.optuna import PalrnnOptunaSearch
from study.engine.trainable import palrnn_trial
from study.engine.tuner import ProgressLine, _dirname

__all__ = ["FrontierCallback", "FrontierScheduler", "FrontierSearcher", "MLflowCallback", "PalrnnOptunaSearch",
           "ProgressLine", "TensorBoardCallback", "_dirname", "palrnn_trial"]
