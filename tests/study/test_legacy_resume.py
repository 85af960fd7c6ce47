"""Studies interrupted by an older version of the code still resume.

tests/fixtures/legacy-dffe39a.tar.gz holds three study folders (a grid, an Optuna search and a
memory frontier) that the code at commit dffe39a (before study/ was split into layers) started and
then stopped with Ctrl-C; tests/fixtures/README.md says how they were made. Ray pickled that
code's classes into each folder's tuner.pkl (the progress reporter, the TensorBoard callback, the
Optuna and frontier searchers, the frontier's scheduler and callback) by their import paths of
then, ``study.trainable.*`` and ``study.frontier.*``; Ray also keeps the folder's absolute path
in them, so the studies are unpacked where they were made. Each is resumed as ``python -m study.run
--resume`` does, in this process, on the module's Ray (the ``ray_session`` fixture)."""

import io
import json
import pickle
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "tests" / "fixtures" / "legacy-dffe39a.tar.gz"
WHERE = Path("/tmp/palrnn-legacy-fixture")  # where dffe39a ran them: Ray's pickles name this folder



@pytest.fixture(scope="module")
def legacy():
    shutil.rmtree(WHERE, ignore_errors=True)
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(WHERE.parent, filter="data")
    yield WHERE
    shutil.rmtree(WHERE, ignore_errors=True)


def _resume(name, capsys):
    """``python -m study.run --resume`` of the fixture's study ``name``: its exit status, and what it printed."""
    from study.run import main

    code = main(["--resume", "--name", name, "--results-dir", str(WHERE), "--no-report"])
    out = capsys.readouterr()
    return code, out.out[-3000:] + out.err[-3000:]


def _complete(folder, n_trials=None):
    meta = json.loads((folder / "study.json").read_text())
    trials = pd.read_csv(folder / "trials.csv")
    curves = pd.read_csv(folder / "curves.csv")
    assert meta["status"] == "complete", meta["status"]
    assert len(meta["resumed"]) == 1  # this run's provenance beside the first run's
    if n_trials is not None:
        assert len(trials) == n_trials
    assert set(trials["status"]) == {"TERMINATED"}
    assert not (trials["stopped_by"] == "unfinished").any()
    assert not curves.duplicated(["trial_id", "step"]).any()
    return meta, trials, curves


def test_every_name_the_older_pickles_hold_resolves_today():
    """Each class or function of study that Ray pickled into the fixture's files, by its import
    path of then, is found today (unpickled here by a recording Unpickler; no Ray)."""
    needed: set[str] = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module, name):
            if module.split(".")[0] == "study":
                needed.add(f"{module}.{name}")
            return super().find_class(module, name)

    with tarfile.open(ARCHIVE) as tar:
        for member in tar.getmembers():
            if member.name.endswith(".pkl"):
                Recording(io.BytesIO(tar.extractfile(member).read())).load()
    # What the three kinds of study pickled (found by the same Unpickler on the code of then).
    assert needed == {"study.trainable.ProgressLine", "study.trainable.TensorBoardCallback", "study.trainable._dirname",
                      "study.trainable.PalrnnOptunaSearch", "study.trainable.FrontierSearcher",
                      "study.trainable.FrontierScheduler", "study.trainable.FrontierCallback",
                      "study.frontier.Frontier"}


@pytest.mark.slow
@pytest.mark.ray
def test_an_interrupted_grid_of_the_older_code_resumes(legacy, ray_session, capsys):
    before = json.loads((legacy / "grid" / "study.json").read_text())
    assert before["status"] == "interrupted"
    code, out = _resume("grid", capsys)
    assert code == 0, out
    _, trials, curves = _complete(legacy / "grid", n_trials=4)
    assert (trials["step"] == 1200).all()
    assert curves.groupby("trial_id")["step"].apply(list).map(lambda s: s == list(range(100, 1201, 100))).all()


@pytest.mark.slow
@pytest.mark.ray
def test_an_interrupted_search_of_the_older_code_resumes(legacy, ray_session, capsys):
    code, out = _resume("search", capsys)
    assert code == 0, out
    _, trials, _ = _complete(legacy / "search", n_trials=4)
    assert (legacy / "search" / "best.json").is_file()
    # The Optuna journal holds every sample: the three of the first run and the one resumed.
    import optuna

    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(legacy / "search" / "optuna.journal")))
    study = optuna.load_study(study_name="palrnn", storage=storage)
    assert len([t for t in study.trials if t.state.is_finished()]) >= 4


@pytest.mark.slow
@pytest.mark.ray
def test_an_interrupted_frontier_of_the_older_code_resumes(legacy, ray_session, capsys):
    before = json.loads((legacy / "frontier" / "frontier" / "state.json").read_text())
    code, out = _resume("frontier", capsys)
    assert code == 0, out
    _, trials, _ = _complete(legacy / "frontier")
    state = json.loads((legacy / "frontier" / "frontier" / "state.json").read_text())
    assert state != before
    table = pd.read_csv(legacy / "frontier" / "frontier.csv")
    assert "running" not in set(table["outcome"])
    assert len(trials) >= 4


OLD_PATHS = [("study.engine.progress", "ProgressLine"), ("study.engine.logger.tensorboard", "TensorBoardCallback"),
             ("study.engine.logger.mlflow", "MLflowCallback"), ("study.engine.callbacks.frontier", "FrontierCallback"),
             ("study.engine.schedulers.frontier", "FrontierScheduler")]


def test_classes_a_study_of_the_layered_code_pickled_before_their_modules_were_folded_are_found():
    """Studies started from ced1942 to 629cb91 name these classes in their tuner.pkl by the modules they were
    in then; a resume (``restore_tuner``) finds each in its module of today."""
    probe = (
        "import pickle, sys\n"
        "from study.engine import tuner\n"
        f"old = {OLD_PATHS!r}\n"
        "def load(m, n): return pickle.loads(f'c{m}\\n{n}\\n.'.encode())\n"
        "try:\n    load(*old[0]); print('found before')\nexcept ModuleNotFoundError:\n    pass\n"
        "tuner.find_moved()\n"
        "from study.engine.logger import MLflowCallback, TensorBoardCallback\n"
        "from study.engine.search.frontier import FrontierCallback, FrontierScheduler\n"
        "for m, n in old:\n    assert load(m, n) is {**globals(), **vars(tuner)}[n], (m, n)\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]
