"""Watching a study: TensorBoard curves at the training step, the Optuna journal that
optuna-dashboard opens, and MLflow runs, each checked against the study's own tables."""

import json
import os
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from palrnn.cli import UsageError
from palrnn.config import Config
from study.basics import tracking
from study.driver.finish import study_meta, study_toml
from study.engine.logger import (
    MLflowCallback,
    TensorBoardCallback,
    mlflow_callbacks,
    run_name,
    study_callbacks,
    swept_names,
)
from study.engine.search.optuna import PalrnnOptunaSearch
from study.engine.spec import TunerSpec
from study.planning.build import plan_from_args
from study.results.checkpoints import checkpoint_path, trial_key
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
BIN = Path(sys.executable).parent
# SQLAlchemy's, from inside MLflow's SQLite store.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")



def _scalars(run_dir, tag):
    """step -> value of a scalar in a TensorBoard run folder, the last value written for a step
    (what TensorBoard shows after a restart). tensorboard's reader where installed, else the
    event files read with tensorboardX's protobufs (ray[tune] brings tensorboardX)."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        EventAccumulator = None
    if EventAccumulator is not None:
        acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
        acc.Reload()
        return {e.step: e.value for e in acc.Scalars(tag)} if tag in acc.Tags()["scalars"] else {}
    from tensorboardX.proto import event_pb2

    out = {}
    for path in sorted(Path(run_dir).glob("events.out.tfevents.*")):
        data = path.read_bytes()
        i = 0
        while i + 12 <= len(data):
            (length,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + length])
            i += 12 + length + 4
            for v in event.summary.value:
                if v.tag == tag:
                    out[event.step] = v.simple_value
    return out


def _fake_trial(trial_id, config, swept, status="RUNNING", last=None):
    return SimpleNamespace(trial_id=trial_id, config=config, evaluated_params={k: config[k] for k in swept},
                           status=status, last_result=last or {})


# ---- hints and names ------------------------------------------------------------------------


def test_hints_name_the_commands_that_open_a_study(tmp_path, monkeypatch):
    folder = tmp_path / "my study"
    assert tracking.tensorboard_hint(folder) == f"tensorboard --logdir '{folder}/tensorboard'"
    assert tracking.optuna_dashboard_hint(folder) == f"optuna-dashboard '{folder}/optuna.journal'"
    assert tracking.mlflow_hint("sqlite:////r/s/mlflow.db") == "mlflow ui --backend-store-uri sqlite:////r/s/mlflow.db"
    assert tracking.mlflow_hint("http://host:5000") == "http://host:5000"
    lines = tracking.watch_lines(folder, search=True, mlflow="sqlite:////r/s/mlflow.db")
    assert [line.split(":")[0] for line in lines] == ["TensorBoard", "Optuna dashboard", "MLflow"]
    assert tracking.watch_lines(folder)[0].startswith("TensorBoard: tensorboard --logdir")
    monkeypatch.setattr(tracking, "installed", lambda module: module != "mlflow")
    assert tracking.mlflow_uri(None, folder) is None  # no --mlflow: no MLflow, installed or not
    with pytest.raises(UsageError, match=r"mlflow is not installed; pip install -e \"\.\[mlflow\]\""):
        tracking.mlflow_uri("", folder)
    monkeypatch.setattr(tracking, "installed", lambda module: True)
    assert tracking.mlflow_uri("", folder) == f"sqlite:///{folder.resolve()}/mlflow.db"
    assert tracking.mlflow_uri("http://h:5000", folder) == "http://h:5000"
    assert tracking.mlflow_uri("rel/store", folder) == str(Path("rel/store").resolve())
    assert tracking.artifact_location(f"sqlite:///{folder.resolve()}/mlflow.db") == (
        (folder.resolve() / "mlartifacts").as_uri())


def test_run_names_say_model_length_seed_and_the_swept_values():
    config = {"model": "LSTM", "length": 10, "seed": 0, "hidden": 64, "lr": 0.003, "max_norm": None}
    assert run_name(config, ["model", "hidden", "length", "lr", "seed"]) == "LSTM_T10_s0_hidden=64_lr=0.003"
    assert run_name(config, ["max_norm", "lr"]) == "LSTM_T10_s0_max_norm=none_lr=0.003"
    assert run_name({**config, "lr": 0.0012345678}, ["lr"]) == "LSTM_T10_s0_lr=0.00123457"


def test_tensorboard_keeps_the_last_value_of_a_step_a_restarted_trial_reports_again(tmp_path):
    pytest.importorskip("tensorboardX")
    cb = TensorBoardCallback(tmp_path)
    cb = pickle_roundtrip(cb)  # Ray pickles its run config, the callbacks with it
    cb.setup()
    config = {"model": "RNN", "length": 5, "seed": 0, "hidden": 8}
    a, b = _fake_trial("a", config, ["hidden", "seed"]), _fake_trial("b", config, ["hidden", "seed"])
    for step, acc in [(50, 0.5), (100, 0.6), (150, 0.7), (100, 0.65), (150, 0.75)]:  # restarted at step 50
        cb.on_trial_result(iteration=0, trials=[a], trial=a, result={"step": step, "eval_accuracy": acc,
                                                                     "diverged": False, "steps_to_target": None})
    cb.on_trial_result(iteration=0, trials=[b], trial=b, result={"step": 50, "eval_accuracy": 0.1})
    cb.on_trial_complete(iteration=0, trials=[a, b], trial=a)
    cb.on_experiment_end(trials=[a, b])
    runs = sorted(p.name for p in (tmp_path / "tensorboard").iterdir())
    assert runs == ["RNN_T5_s0_hidden=8", "RNN_T5_s0_hidden=8_b"]  # one configuration twice: told apart
    run = tmp_path / "tensorboard" / runs[0]
    assert _scalars(run, "palrnn/eval_accuracy") == pytest.approx({50: 0.5, 100: 0.65, 150: 0.75})
    assert _scalars(run, "palrnn/diverged") == {50: 0.0, 100: 0.0, 150: 0.0}
    assert _scalars(run, "palrnn/steps_to_target") == {}  # None: not a value


def pickle_roundtrip(obj):
    import pickle

    return pickle.loads(pickle.dumps(obj))


# ---- Optuna: the journal optuna-dashboard opens ---------------------------------------------


def _dashboard_studies(journal):
    """What `optuna-dashboard <journal>` (the hint's command) serves: its studies, each with its trials."""
    exe = BIN / "optuna-dashboard"
    port = free_port()
    cmd = [*tracking.optuna_dashboard_hint(journal.parent).replace("optuna-dashboard", str(exe), 1).split(),
           "--port", str(port), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as r:
                    studies = json.loads(r.read())["study_summaries"]
                for study in studies:
                    url = f"http://127.0.0.1:{port}/api/studies/{study['study_id']}"
                    with urllib.request.urlopen(url, timeout=30) as r:
                        study["trials"] = json.loads(r.read())["trials"]
                return studies
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"optuna-dashboard did not serve: {proc.stderr.read()}") from None
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """A tiny real search through the command line (its own Ray): its study folder."""
    results = tmp_path_factory.mktemp("search")
    cmd = [sys.executable, "-m", "study.run", "--search", "optuna", "--model", "RNN", "--length", "5",
           "--num-samples", "3", "--smoke-test", "--num-cpus", "2", "--dashboard-port", str(free_port()),
           "--results-dir", str(results), "--name", "s", "--no-report"]
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return results / "s"


@pytest.mark.ray
def test_optuna_journal_holds_the_trials_of_trials_csv(search):
    """Optuna's study in the journal has every trial of trials.csv with its params, its final
    eval_accuracy as value, and a state that fits stopped_by."""
    import optuna

    trials = pd.read_csv(search / "trials.csv")
    curves = pd.read_csv(search / "curves.csv")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(search / "optuna.journal")))
    study = optuna.load_study(study_name="palrnn", storage=storage)
    assert len(study.trials) == len(trials) == 3
    searched = ["hidden", "lr", "max_norm", "init", "optimizer"]
    matched = set()
    for t in study.trials:
        assert set(t.params) == set(searched)
        same = trials[(trials["hidden"] == t.params["hidden"]) & (trials["init"] == t.params["init"])
                      & (trials["optimizer"] == t.params["optimizer"])
                      & (trials["lr"].sub(t.params["lr"]).abs() <= 1e-12 * t.params["lr"])
                      & (trials["max_norm"].isna() if t.params["max_norm"] is None
                         else trials["max_norm"] == t.params["max_norm"])]
        assert len(same) == 1, (t.params, trials[searched])
        row = same.iloc[0]
        matched.add(row["trial_id"])
        # Ray's OptunaSearch tells Optuna the last result of a trial: its final eval_accuracy,
        # also for a trial ASHA cut (COMPLETE, not PRUNED); a failed trial is FAIL.
        expected = {"steps": "COMPLETE", "target": "COMPLETE", "scheduler": "COMPLETE", "diverged": "COMPLETE",
                    "error": "FAIL", "unfinished": "RUNNING"}[row["stopped_by"]]
        assert t.state.name == expected, (t.state, row["stopped_by"])
        if expected == "COMPLETE":
            assert t.value == pytest.approx(row["eval_accuracy"], abs=1e-12)
        if "stopped_by" in t.user_attrs:  # PalrnnOptunaSearch (study.trainable) records these too
            assert t.user_attrs["stopped_by"] == row["stopped_by"] and t.user_attrs["step"] == row["step"]
            curve = curves[curves["trial_id"] == row["trial_id"]]
            assert t.intermediate_values == pytest.approx(dict(zip(curve["step"], curve["eval_accuracy"],
                                                                   strict=True)))
    assert matched == set(trials["trial_id"])


@pytest.mark.ray
def test_optuna_dashboard_serves_the_journal(search):
    if not tracking.installed("optuna_dashboard"):
        pytest.skip('optuna-dashboard is not installed (pip install -e ".[viz]")')
    served = _dashboard_studies(search / "optuna.journal")
    assert [(s["study_name"], s["directions"]) for s in served] == [("palrnn", ["maximize"])]
    trials = pd.read_csv(search / "trials.csv")
    values = sorted(v for t in served[0]["trials"] for v in t.get("values") or [])
    assert len(served[0]["trials"]) == len(trials) and values == pytest.approx(sorted(trials["eval_accuracy"]))


def test_palrnn_optuna_search_records_steps_and_stopped_by(tmp_path):
    """The searcher's own additions, without Ray running: intermediate values at the training
    step (a restart's repeated step kept once) and the user attributes of trials.csv."""
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "j")))
    space = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    searcher = PalrnnOptunaSearch(space=space, metric="eval_accuracy", mode="max", study_name="palrnn",
                                          storage=storage, sampler=optuna.samplers.TPESampler(seed=0))
    for trial_id in ("a", "b", "c"):
        assert "lr" in searcher.suggest(trial_id)
    # A trial's last result (at its last step, or where ASHA stops it) comes with on_trial_complete only.
    for trial_id, steps in [("a", [50, 100, 150, 100, 150]), ("b", [50])]:
        for step in steps:
            searcher.on_trial_result(trial_id, {"step": step, "eval_accuracy": step / 1000, "training_iteration": 1})
    last = {"step": 200, "eval_accuracy": 0.2, "config/steps": 200, "diverged": False, "stopped_early": False}
    searcher.on_trial_complete("a", result=last)
    searcher.on_trial_complete("b", result={**last, "step": 100, "eval_accuracy": 0.1})  # ASHA cut it
    searcher.on_trial_complete("c", error=True)
    a, b, c = optuna.load_study(study_name="palrnn", storage=storage).trials
    assert a.intermediate_values == {50: 0.05, 100: 0.1, 150: 0.15, 200: 0.2}
    assert (a.state.name, a.value, a.user_attrs["stopped_by"], a.user_attrs["step"]) == ("COMPLETE", 0.2, "steps", 200)
    assert (b.state.name, b.value, b.user_attrs["stopped_by"]) == ("COMPLETE", 0.1, "scheduler")
    assert b.intermediate_values == {50: 0.05, 100: 0.1}
    assert (c.state.name, c.user_attrs["stopped_by"]) == ("FAIL", "error")


# ---- MLflow, the callback alone -------------------------------------------------------------


def test_mlflow_logs_trials_as_nested_runs_at_the_training_step_and_resumes_them(tmp_path, capsys):
    """The callback as Ray's driver calls it (trials faked, no Ray): a study run with a child run
    per trial; the trials' params, metrics at every step and final values; statuses; --resume."""
    mlflow = pytest.importorskip("mlflow", reason='mlflow is not installed (pip install -e ".[mlflow]")')
    import torch

    folder = tmp_path / "st"
    uri = tracking.mlflow_uri("", folder)
    base = Config.from_dict({"model": "RNN", "length": 5, "hidden": 8, "steps": 100, "eval_every": 50}).to_dict()
    a_cfg, b_cfg, c_cfg = base, {**base, "hidden": 16}, {**base, "hidden": 32, "max_norm": None}
    # The trial's checkpoint holds its whole curve: best_eval_accuracy comes from it.
    path = checkpoint_path(folder, trial_key(a_cfg))
    path.parent.mkdir(parents=True)
    torch.save({"extra": {"records": [{"step": 50, "eval_accuracy": 0.8}, {"step": 100, "eval_accuracy": 0.7}]}},
               path)
    spec = SimpleNamespace(mlflow=uri, grid_axes=["hidden", "seed"], search=None,
                           param_space={**base, "hidden": [8, 16, 32], "seed": [0]})
    (cb,) = mlflow_callbacks(spec, folder, "st")
    cb = pickle_roundtrip(cb)  # as Ray keeps it in tuner.pkl
    cb.setup()
    a, b = _fake_trial("a", a_cfg, ["hidden", "seed"]), _fake_trial("b", b_cfg, ["hidden", "seed"])
    for trial in (a, b):
        cb.on_trial_start(iteration=0, trials=[a, b], trial=trial)
    for trial, step, acc in [(a, 50, 0.8), (b, 50, 0.5), (a, 100, 0.7)]:
        result = {"step": step, "eval_accuracy": acc, "train_loss": 1 - acc, "diverged": False,
                  "steps_to_target": None, "stopped_early": False, "config": trial.config}
        cb.on_trial_result(iteration=0, trials=[a, b], trial=trial, result=result)
        trial.last_result = result
    a.status, b.status = "TERMINATED", "ERROR"
    cb.on_trial_complete(iteration=0, trials=[a, b], trial=a)
    cb.on_trial_error(iteration=0, trials=[a, b], trial=b)
    cb.on_experiment_end(trials=[a, b])

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name("palrnn")
    assert exp.artifact_location == (folder.resolve() / "mlartifacts").as_uri()  # not ./mlruns of the cwd
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert set(runs) == {"st", "RNN_T5_s0_hidden=8", "RNN_T5_s0_hidden=16"}
    parent, ra, rb = runs["st"], runs["RNN_T5_s0_hidden=8"], runs["RNN_T5_s0_hidden=16"]
    assert parent.info.status == "FAILED"  # a trial failed
    assert parent.data.params["length"] == "5" and "hidden" not in parent.data.params  # the fixed settings
    assert parent.data.tags["palrnn.folder"] == str(folder.resolve())
    for run in (ra, rb):
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert (ra.info.status, ra.data.tags["stopped_by"]) == ("FINISHED", "steps")
    assert (rb.info.status, rb.data.tags["stopped_by"]) == ("FAILED", "error")
    assert ra.data.params["hidden"] == "8" and ra.data.params["lr"] == str(a_cfg["lr"])
    assert ra.data.params["max_norm"] == "10.0"
    assert ra.data.metrics["eval_accuracy"] == 0.7 and ra.data.metrics["best_eval_accuracy"] == 0.8
    assert "steps_to_target" not in ra.data.metrics  # None is no value
    assert [(m.step, m.value) for m in client.get_metric_history(ra.info.run_id, "eval_accuracy")] == [
        (50, 0.8), (100, 0.7)]
    assert [(m.step, m.value) for m in client.get_metric_history(ra.info.run_id, "diverged")] == [(50, 0.0),
                                                                                               (100, 0.0)]

    # --resume: the pickled callback finds the study's run and each trial's run by its config,
    # whatever id Ray gives the trial now; a trial the study leaves unfinished ends KILLED.
    cb = pickle_roundtrip(cb)
    cb.setup()
    assert client.get_run(parent.info.run_id).info.status == "RUNNING"
    again, c = _fake_trial("new-id", a_cfg, ["hidden", "seed"]), _fake_trial("c", c_cfg, ["hidden", "seed"])
    for trial in (again, c):
        cb.on_trial_start(iteration=0, trials=[again, c], trial=trial)
    cb.on_trial_result(iteration=0, trials=[c], trial=c, result={"step": 50, "eval_accuracy": 0.6})
    again.status = "TERMINATED"
    cb.on_experiment_end(trials=[again, c])  # interrupted: c still running
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert len(runs) == 4 and runs["RNN_T5_s0_hidden=8"].info.run_id == ra.info.run_id
    assert runs["RNN_T5_s0_hidden=32"].info.status == "KILLED" and runs["st"].info.status == "KILLED"
    assert runs["RNN_T5_s0_hidden=32"].data.params["max_norm"] == "None"

    # At the study's end, its figures and report go to the study's run.
    (folder / "figures").mkdir()
    (folder / "figures" / "accuracy_vs_length.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "report.html").write_text("<html></html>")
    assert tracking.log_study_figures(uri, folder, "st") == parent.info.run_id
    assert {"figures", "report.html"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "figures")] == ["figures/accuracy_vs_length.png"]
    assert tracking.log_study_figures(uri, folder, "other") is None
    assert "no MLflow run of study other" in capsys.readouterr().out


def test_mlflow_that_fails_says_so_once_and_the_study_goes_on(tmp_path, capsys):
    pytest.importorskip("mlflow", reason='mlflow is not installed (pip install -e ".[mlflow]")')
    (tmp_path / "a-file").write_text("")  # a store that cannot be made: its folder is a file
    cb = MLflowCallback(f"sqlite:///{tmp_path}/a-file/mlflow.db", tmp_path, "st")
    cb.setup()
    trial = _fake_trial("a", {"model": "RNN", "length": 5, "seed": 0}, [])
    cb.on_trial_start(iteration=0, trials=[trial], trial=trial)
    cb.on_trial_result(iteration=0, trials=[trial], trial=trial, result={"step": 50, "eval_accuracy": 0.5})
    cb.on_experiment_end(trials=[trial])
    out = capsys.readouterr().out
    assert out.count("palrnn: MLflow logging to sqlite:///") == 1 and "the study goes on without it" in out


# ---- planning: --mlflow, a study file's mlflow, the watchers of a study's Ray experiments -------


def _plan(argv, tmp_path):
    from study import run

    argv = [*argv, "--results-dir", str(tmp_path)]
    return plan_from_args(run.build_parser().parse_args(argv), argv)


def test_mlflow_is_planned_kept_in_study_json_and_resumed(tmp_path, monkeypatch, capsys):
    import study
    from study.basics.errors import StudyError
    from study.run import main

    monkeypatch.setattr(tracking, "installed", lambda module: True)
    plan = _plan(["--grid", "smoke", "--mlflow", "--name", "m"], tmp_path)
    assert plan.mlflow == tracking.default_mlflow_uri(tmp_path / "m") == f"sqlite:///{tmp_path.resolve()}/m/mlflow.db"
    assert "\nmlflow = true\n" in study_toml(plan)  # a rerun logs to its own folder's store
    assert f"MLflow: every trial logged to {plan.mlflow}" in plan.text()
    assert _plan(["--grid", "smoke", "--mlflow", "http://h:5000"], tmp_path).mlflow == "http://h:5000"
    assert _plan(["--grid", "smoke"], tmp_path).mlflow is None
    assert study.plan(grid="smoke", mlflow=True, name="m", results_dir=str(tmp_path)).mlflow == plan.mlflow
    assert study.plan(grid="smoke", mlflow="http://h:5000", results_dir=str(tmp_path)).mlflow == "http://h:5000"
    (tmp_path / "s.toml").write_text('name = "s"\nmlflow = true\n[axes]\nhidden = [8]\n')
    assert _plan(["--study", str(tmp_path / "s.toml"), "--name", "x"], tmp_path).mlflow == \
        tracking.default_mlflow_uri(tmp_path / "x")
    assert _plan(["--study", str(tmp_path / "s.toml"), "--mlflow", "http://h:5000"], tmp_path).mlflow == \
        "http://h:5000"  # the command line's store, not the file's
    # study.json keeps the store: --resume logs to it; another store is refused.
    plan.folder.mkdir()
    (plan.folder / "study.json").write_text(json.dumps(study_meta(plan)))
    assert json.loads((plan.folder / "study.json").read_text())["mlflow"] == plan.mlflow
    assert _plan(["--resume", "--name", "m"], tmp_path).mlflow == plan.mlflow
    assert _plan(["--resume", "--name", "m", "--mlflow"], tmp_path).mlflow == plan.mlflow
    with pytest.raises(StudyError, match=r"plan another study than 'm' \(--mlflow: http://h:5000 here, sqlite:///"):
        _plan(["--resume", "--name", "m", "--mlflow", "http://h:5000"], tmp_path)
    assert main(["--dry-run", "--grid", "smoke", "--mlflow", "--results-dir", str(tmp_path)]) == 0
    assert "MLflow: every trial logged to sqlite:///" in capsys.readouterr().out


def test_mlflow_not_installed_is_one_line_exit_2_before_ray(tmp_path, monkeypatch, capsys):
    import ray

    from study.run import main

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray would have started"))
    monkeypatch.setattr(tracking, "installed", lambda module: module != "mlflow")
    (tmp_path / "s.toml").write_text('mlflow = true\n[axes]\nhidden = [8]\n')
    missing = 'mlflow is not installed; pip install -e ".[mlflow]"'
    for argv, line in [(["--grid", "smoke", "--mlflow"], f"--mlflow: {missing}"),
                       (["--study", str(tmp_path / "s.toml")], f"--study {tmp_path / 's.toml'}: mlflow: {missing}")]:
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--results-dir", str(tmp_path / "r")])
        out, err = capsys.readouterr()
        assert exc.value.code == 2 and out == "" and err == f"python -m study.run: error: {line}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_the_watchers_of_a_search_cell_and_of_a_frontier_write_to_the_study(tmp_path, monkeypatch):
    """A search over several cells runs one Ray experiment per cell (cells/<model>-T<length>/), and a
    frontier proposes whole configs: their TensorBoard runs and MLflow runs still go to the study's
    folder and the study's run, named by what the study varies."""
    monkeypatch.setattr(tracking, "installed", lambda module: True)
    search = _plan(["--search", "optuna", "--models", "RNN", "LSTM", "--lengths", "5", "--num-samples", "2",
                    "--name", "s", "--mlflow"], tmp_path)
    spec = TunerSpec(search, cell=search.cells[1])
    assert spec.results_dir == tmp_path / "s" / "cells" and spec.name == "LSTM-T5"
    tb, ml = study_callbacks(spec)
    assert tb.logdir == str((tmp_path / "s").resolve() / "tensorboard") and tb.swept is None
    assert (ml.folder, ml.name, ml.kind, ml.uri) == (str((tmp_path / "s").resolve()), "s", "optuna", search.mlflow)
    assert "model" not in ml.fixed and "length" not in ml.fixed and ml.fixed["steps"] == 10_000

    frontier = _plan(["--frontier", "--models", "LSTM", "--sweep", "init=default,xavier", "--name", "f", "--mlflow"],
                     tmp_path)
    tb, ml = study_callbacks(TunerSpec(frontier))
    assert tb.logdir == str((tmp_path / "f").resolve() / "tensorboard") and ml.kind == "frontier"
    config = {**frontier.cells[1], "hidden": 128, "steps": 10_000, "length": 20, "seed": 3}
    trial = _fake_trial("t", config, list(config))  # the searcher's whole config is its evaluated_params
    for cb in (tb, ml, pickle_roundtrip(tb), pickle_roundtrip(ml)):
        assert cb.swept == ["model", "init"]
        assert run_name(trial.config, swept_names(trial, cb.swept)) == "LSTM_T20_s3_init=xavier"
    assert tb.run_name(trial) == "LSTM_T20_s3_init=xavier"
    old = TensorBoardCallback.__new__(TensorBoardCallback)
    old.__setstate__({"logdir": tb.logdir})  # pickled before run names took the study's fields
    assert old.swept is None and "hidden=128" in old.run_name(trial)


# ---- a real study through the command line: TensorBoard and MLflow


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A tiny real grid through the command line (its own Ray), with --mlflow where mlflow is installed."""
    results = tmp_path_factory.mktemp("grid")
    mlflow = tracking.installed("mlflow")
    cmd = [sys.executable, "-m", "study.run", "--grid", "smoke", "--seeds", "1", "--lengths", "5", "--full",
           "--set", "steps=100", "--set", "eval_every=25", "--set", "batch_size=32", "--num-cpus", "2",
           "--dashboard-port", str(free_port()), "--results-dir", str(results), "--name", "g",
           *(["--mlflow"] if mlflow else ["--no-report"])]
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return SimpleNamespace(folder=results / "g", mlflow=mlflow, out=proc.stdout)


@pytest.mark.ray
def test_tensorboard_holds_every_evaluation_of_every_trial_at_its_step(grid):
    pytest.importorskip("tensorboardX")
    trials, curves = pd.read_csv(grid.folder / "trials.csv"), pd.read_csv(grid.folder / "curves.csv")
    assert len(trials) == 2 and len(curves) == 8
    board = grid.folder / "tensorboard"
    assert sorted(p.name for p in board.iterdir()) == ["LSTM_T5_s0", "RNN_T5_s0"]
    # Ray's own TensorBoard files (in the trial folders, at Ray's report count) are not written;
    # its result logs, which the tables fall back to, are.
    assert not list(grid.folder.glob("trial_*/events.out.tfevents.*"))
    assert list(grid.folder.glob("trial_*/progress.csv")) and list(grid.folder.glob("trial_*/result.json"))
    for row in trials.itertuples():
        curve = curves[curves["trial_id"] == row.trial_id]
        run = board / f"{row.model}_T5_s0"
        assert _scalars(run, "palrnn/step") == {s: float(s) for s in curve["step"]} == {25: 25, 50: 50, 75: 75,
                                                                                        100: 100}
        for metric in ("eval_accuracy", "eval_loss", "train_accuracy", "train_loss", "grad_norm",
                       "examples_per_second", "mean_train_accuracy", "diverged"):
            assert _scalars(run, f"palrnn/{metric}") == pytest.approx(
                dict(zip(curve["step"], curve[metric].astype(float), strict=True)), rel=1e-6), metric


@pytest.mark.ray
def test_mlflow_runs_of_a_real_study_equal_its_tables(grid):
    if not grid.mlflow:
        pytest.skip('mlflow is not installed (pip install -e ".[mlflow]")')
    import mlflow

    trials, curves = pd.read_csv(grid.folder / "trials.csv"), pd.read_csv(grid.folder / "curves.csv")
    uri = tracking.default_mlflow_uri(grid.folder)
    assert tracking.mlflow_hint(uri) in grid.out  # printed at the start
    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("palrnn").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("palrnn.role") == "study"]
    children = {r.info.run_name: r for r in runs if r.data.tags.get("palrnn.role") == "trial"}
    assert parent.info.run_name == "g" and parent.info.status == "FINISHED" and len(children) == len(trials) == 2
    for row in trials.itertuples():
        run = children[f"{row.model}_T5_s0"]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id and run.info.status == "FINISHED"
        for field in ("model", "length", "seed", "hidden", "lr", "steps", "init", "max_norm"):
            value = getattr(row, field)
            assert run.data.params[field] == ("None" if pd.isna(value) else str(value)), field
        assert run.data.metrics["eval_accuracy"] == pytest.approx(row.eval_accuracy)
        assert run.data.metrics["best_eval_accuracy"] == pytest.approx(row.best_eval_accuracy)
        assert run.data.metrics["step"] == row.step and run.data.tags["stopped_by"] == row.stopped_by
        curve = curves[curves["trial_id"] == row.trial_id]
        history = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "eval_accuracy")}
        assert history == pytest.approx(dict(zip(curve["step"], curve["eval_accuracy"], strict=True)))
    figures = {a.path for a in client.list_artifacts(parent.info.run_id, "figures")}
    assert figures and figures == {f"figures/{p.name}" for p in (grid.folder / "figures").iterdir()}


def test_a_trial_the_journal_finished_after_rays_last_save_reports_again_without_an_error(tmp_path):
    """A driver killed outright between a trial's end (the journal has it COMPLETE) and Ray's next
    save of the searcher: resumed, Ray continues that trial from its checkpoint and its results
    reach the restored searcher again, which keeps the journal's record as it was (no error, which
    would end the study: Optuna refuses to update a finished trial)."""
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "j")))
    space = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    first = PalrnnOptunaSearch(space=space, metric="eval_accuracy", mode="max", study_name="palrnn",
                               storage=storage, sampler=optuna.samplers.TPESampler(seed=0))
    first.suggest("a")
    first.on_trial_result("a", {"step": 50, "eval_accuracy": 0.05})
    first.save(str(tmp_path / "searcher.pkl"))  # Ray's last save: trial a still running
    last = {"step": 100, "eval_accuracy": 0.1, "config/steps": 100, "diverged": False, "stopped_early": False}
    first.on_trial_complete("a", result=last)  # then it ends, in the journal only; the driver is killed

    resumed = PalrnnOptunaSearch(space=space, metric="eval_accuracy", mode="max", study_name="palrnn",
                                 storage=storage, sampler=optuna.samplers.TPESampler(seed=0))
    resumed.restore(str(tmp_path / "searcher.pkl"))
    for step in (50, 100):  # trial a, continued from its checkpoint, reports its evaluations again
        resumed.on_trial_result("a", {"step": step, "eval_accuracy": step / 1000 + 0.5})
    resumed.on_trial_complete("a", result={**last, "eval_accuracy": 0.6})
    (a,) = optuna.load_study(study_name="palrnn", storage=storage).trials
    assert (a.state.name, a.value, a.user_attrs["step"]) == ("COMPLETE", 0.1, 100)
    assert a.intermediate_values == {50: 0.05, 100: 0.1}
