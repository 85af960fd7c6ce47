"""A frontier's every launched seed has a row in trials.csv: one the search launched that never
reported (Ray held it PENDING for a free CPU when the study stopped) is unfinished, with no metrics
(reference-frontier-gru-long lost its T = 150 seed 2 so). No Ray here."""

import json
import shutil
from pathlib import Path

import pandas as pd

from study import run
from study.driver.finish import finish, study_meta
from study.frontier.search import Frontier
from study.planning.build import plan_from_args

ROOT = Path(__file__).resolve().parents[2]


def _plan(tmp_path):
    argv = ["--frontier", "--models", "LSTM", "--solve-rule", "2/3", "--set", "steps=100", "--name", "f",
            "--results-dir", str(tmp_path)]
    return plan_from_args(run.build_parser().parse_args(argv), argv)


def _row(trial_id, trial, stopped_by="scheduler", step=40):
    return {"trial_id": trial_id, "model": "LSTM", "length": trial.length, "seed": trial.seed, "steps": 100,
            "step": step, "status": "TERMINATED", "stopped_by": stopped_by, "diverged": False,
            "eval_accuracy": 0.5, "steps_to_target": None}


def test_a_launched_seed_that_never_reported_has_an_unfinished_row(tmp_path, capsys):
    # T = 5's seeds 0 and 1 solve it (2/3: passed); T = 10's seed 0 (speculative) trains, its seed 1
    # waits PENDING for a CPU; T = 5's seed 2, launched before T = 5 passed, the search stopped
    # before it reported; then Ctrl-C. Ray's results hold three trials.
    fr = Frontier([{"model": "LSTM"}], rule=(2, 3), speculate=1, base={"steps": 100})
    launched = [fr.next_trial() for _ in range(5)]
    assert [(t.length, t.seed) for t in launched] == [(5, 0), (5, 1), (10, 0), (10, 1), (5, 2)]
    for t in launched[:2]:
        fr.record(*t, solved=True, steps_to_target=50)
    fr.stop(*launched[4])
    assert fr.outcome(0, 5) == "passed" and fr.seed_state(launched[4]) == "stopped"
    plan = _plan(tmp_path)
    plan.folder.mkdir(parents=True)
    ids = {f"r{i}": t for i, t in enumerate(launched)}
    state = {**fr.to_dict(), "ray_trials": {k: list(t) for k, t in ids.items()}}
    (plan.folder / "frontier").mkdir()
    (plan.folder / "frontier" / "state.json").write_text(json.dumps(state))
    (plan.folder / "study.json").write_text(json.dumps(study_meta(plan)))
    trials = pd.DataFrame([_row("r0", launched[0], "target", 60), _row("r1", launched[1], "target", 60),
                           _row("r2", launched[2])])
    curves = pd.DataFrame(columns=["trial_id", "model", "length", "seed", "steps", "step"])
    tables = finish(plan, trials, curves, 1.0, report=False, echo=True)
    written = pd.read_csv(plan.folder / "trials.csv").set_index("trial_id")
    assert sorted(written.index) == ["r0", "r1", "r2", "r3", "r4"]
    assert written.loc["r3", ["length", "seed", "status", "stopped_by"]].tolist() == [10, 1, "PENDING", "unfinished"]
    assert written.loc["r4", ["length", "seed", "status", "stopped_by"]].tolist() == [5, 2, "TERMINATED", "scheduler"]
    assert written.loc[["r3", "r4"], ["step", "eval_accuracy", "steps_to_target"]].isna().all().all()
    assert written.loc["r2", "stopped_by"] == "unfinished"  # stopped with the study, not by the search
    assert written.loc[["r0", "r1"], "stopped_by"].tolist() == ["target"] * 2
    assert tables["unfinished"] == 2 and "interrupted: 2 trials unfinished" in capsys.readouterr().out
    assert "\nr0,LSTM,5,0,100,60," in (plan.folder / "trials.csv").read_text()  # steps stay integers


def test_re_reporting_gru_long_gives_its_three_t150_seeds_a_row(tmp_path):
    from study.report.write import write_report

    folder = tmp_path / "gru-long"
    shutil.copytree(ROOT / "results" / "reference-frontier-gru-long", folder)
    # As the study's code wrote it: no row for the T = 150 seed that waited for a CPU (bfa65278).
    lines = (folder / "trials.csv").read_text().splitlines(keepends=True)
    (folder / "trials.csv").write_text("".join(line for line in lines if not line.startswith("bfa65278,")))
    before = pd.read_csv(folder / "trials.csv")
    assert len(before[before["length"] == 150]) == 2
    out = write_report(folder, echo=False, figures=False)
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    at150 = trials[trials["length"] == 150].set_index("seed")
    assert sorted(at150.index) == [0, 1, 2] and set(at150["stopped_by"]) == {"unfinished"}
    assert at150.loc[2, "trial_id"] == "bfa65278" and at150.loc[2, "status"] == "PENDING"
    assert pd.isna(at150.loc[2, "eval_accuracy"])
    assert (trials["length"] != 150).sum() == len(before[before["length"] != 150])
    row = out["summary"][out["summary"]["length"] == 150].iloc[0]
    assert row["unfinished"] == 3 and row["seeds"] == 0
    assert ",5000.0," not in (folder / "trials.csv").read_text().splitlines()[1]  # steps stay integers
    # Re-reported again: the same bytes, and the committed table's.
    text = (folder / "trials.csv").read_text()
    write_report(folder, echo=False, figures=False)
    assert (folder / "trials.csv").read_text() == text
    assert text == (ROOT / "results" / "reference-frontier-gru-long" / "trials.csv").read_text()
