"""A PBT member's steps_to_target and best_eval_accuracy are its own since its last exploit, read
from its own curve, not the donor's history its weights carried (reference-methods-rnn20/pbt-s0,
trial c63e7_00003, e8a48_00003 since it was run again: trials.csv said 1,750, the donor's; its own
curve first reaches 0.99 at 2,250).
No Ray here; tests/study/test_pbt.py checks a real PBT study's tables too."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from study.results.pbt import own_since_exploit
from study.results.trials import trial_tables

ROOT = Path(__file__).resolve().parents[2]
PBT = ROOT / "results" / "reference-methods-rnn20" / "pbt-s0"


def _own(curve: pd.DataFrame, target: float) -> tuple[float | None, float]:
    """(first step at or above target, best accuracy) of a member's records after its last exploit."""
    curve = curve.sort_values("step")
    marked = curve.index[curve["exploited_from"].notna()]
    own = curve.loc[marked[-1]:] if len(marked) else curve
    hit = own[own["eval_accuracy"] >= target]
    return (float(hit["step"].iloc[0]) if len(hit) else None), float(own["eval_accuracy"].max())


def test_every_member_of_the_committed_pbt_search_against_its_own_curve():
    trials = pd.read_csv(PBT / "trials.csv", dtype={"trial_id": str})
    curves = pd.read_csv(PBT / "curves.csv", dtype={"trial_id": str})
    own, own_curves = own_since_exploit(trials, curves)
    own = own.set_index("trial_id")
    for trial_id, curve in curves.groupby("trial_id"):
        steps, best = _own(curve, float(curve["target"].iloc[0]))
        got = own.loc[trial_id, "steps_to_target"]
        assert (pd.isna(got) and steps is None) or got == steps, (trial_id, got, steps)
        assert own.loc[trial_id, "best_eval_accuracy"] == pytest.approx(best, abs=1e-12), trial_id
        assert (pd.isna(got) and pd.isna(trials.set_index("trial_id").loc[trial_id, "steps_to_target"])) \
            or got == trials.set_index("trial_id").loc[trial_id, "steps_to_target"], trial_id  # as committed
        marked = curve.loc[curve["exploited_from"].notna(), "step"]
        assert pd.isna(got) or not len(marked) or got >= marked.max(), trial_id  # never before its last exploit
        last = own_curves[own_curves["trial_id"] == trial_id].sort_values("step").iloc[-1]
        assert (pd.isna(last["steps_to_target"]) and pd.isna(got)) or last["steps_to_target"] == got
    # Member 3 took member 14's weights at step 2,250 and was at 1.0 there: its own solve is 2,250;
    # its donor reached 0.99 at 1,750, which the member's state (and so trials.csv before) carried.
    assert own.loc["e8a48_00003", "steps_to_target"] == 2250
    assert own.loc["e8a48_00014", "steps_to_target"] == 1750
    assert curves.loc[(curves["trial_id"] == "e8a48_00003") & (curves["step"] == 2250), "exploited_from"].item() == 14
    assert len(own) == len(trials) and list(own_curves["trial_id"]) == list(curves["trial_id"])


def test_a_solve_before_the_last_exploit_is_not_the_members():
    # Member 1 reaches 0.99 at 200 on its own, takes member 0's weights at 300, then never
    # reaches it again; member 0 reaches it at 400.
    rows = [("x_00000", 100, 0.5, None), ("x_00000", 200, 0.6, None), ("x_00000", 300, 0.7, None),
            ("x_00000", 400, 0.995, None), ("x_00001", 100, 0.8, None), ("x_00001", 200, 0.992, None),
            ("x_00001", 300, 0.993, None), ("x_00001", 400, 0.9, 0), ("x_00001", 500, 0.95, None)]
    curves = pd.DataFrame(rows, columns=["trial_id", "step", "eval_accuracy", "exploited_from"]).assign(
        target=0.99, steps_to_target=[None, None, None, 400, None, 200, 200, 200, 200])
    trials = pd.DataFrame({"trial_id": ["x_00000", "x_00001"], "steps_to_target": [400, 200],
                           "best_eval_accuracy": [0.995, 0.993], "eval_accuracy": [0.995, 0.95]})
    own, own_curves = own_since_exploit(trials, curves)
    assert pd.isna(own.loc[1, "steps_to_target"]) and own.loc[1, "best_eval_accuracy"] == 0.95
    assert own.loc[0, "steps_to_target"] == 400 and own.loc[0, "best_eval_accuracy"] == 0.995
    # Per record: its own since the exploit before that record.
    per_record = own_curves.loc[own_curves["trial_id"] == "x_00001", "steps_to_target"].tolist()
    assert pd.isna(per_record[0]) and per_record[1:3] == [200, 200] and pd.isna(per_record[3:]).all()


def test_a_new_pbt_studys_tables_count_the_members_own_evaluations():
    # The records of a member that took member 0's weights at step 200: its state's history (and so
    # the record's steps_to_target, 100) is member 0's; its own evaluations reach 0.99 at 300.
    lineage = json.dumps([{"step": 200, "from": 0, "config": {"lr": 0.01}}])
    records = [{"step": s, "eval_accuracy": a, "steps_to_target": t, "target": 0.99, "lineage": lineage,
                "lr": 0.01, "max_norm": 1.0}
               for s, a, t in ((100, 0.5, None), (200, 0.6, None), (300, 0.995, 100), (400, 0.999, 100))]
    trials, curves = trial_tables([("x_00001", {"lr": 0.001, "target": 0.99}, records[-1], pd.DataFrame(records),
                               "TERMINATED", None)], ["lr", "target"])
    assert trials.loc[0, "steps_to_target"] == 300 and trials.loc[0, "best_eval_accuracy"] == 0.999
    assert curves["steps_to_target"].tolist()[2:] == [300, 300]


def test_re_reporting_the_committed_pbt_search_writes_the_members_own_steps(tmp_path):
    from study.report.write import write_report

    folder = tmp_path / "pbt-s0"
    shutil.copytree(PBT, folder)
    out = write_report(folder, echo=False, figures=False)
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str}).set_index("trial_id")
    assert trials.loc["e8a48_00003", "steps_to_target"] == 2250
    curves = pd.read_csv(folder / "curves.csv", dtype={"trial_id": str})
    assert curves[(curves["trial_id"] == "e8a48_00003") & (curves["step"] == 2250)]["steps_to_target"].item() == 2250
    for table in ("trials.csv", "curves.csv"):  # the committed tables are the re-reported ones
        assert (folder / table).read_bytes() == (PBT / table).read_bytes(), table
    assert ",14\n" in (folder / "curves.csv").read_text()  # exploited_from stays an integer
    solved = out["summary"]["steps_to_target_median"].dropna()
    assert set(solved) == set(trials["steps_to_target"].dropna())  # one trial per config
