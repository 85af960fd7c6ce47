"""python -m study.report: files written, deterministic re-report, one-line errors with exit 2."""

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from study.report.__main__ import main
from study.report.write import write_report
from study.results.exercise import CI_COLUMN, exercise_points
from study.results.summary import curves_table

ROOT = Path(__file__).resolve().parents[2]


def make_folder(path: Path, models=("RNN", "LSTM"), lengths=(5, 6), extra=None, kind="grid") -> Path:
    """A study folder as study.run leaves it: study.json, trials.csv, curves.csv (3 seeds per cell)."""
    path.mkdir(parents=True, exist_ok=True)
    name, values = next(iter((extra or {"_": [None]}).items()))
    trials, curves = [], []
    for v in values:
        for model in models:
            for t in lengths:
                for seed in range(3):
                    tid = f"{model}_{t}_{v}_{seed}"
                    final = 1.0 if model == "LSTM" else max(0.1, round(0.95 - 0.2 * (t - 5) - 0.05 * seed, 4))
                    solved = final >= 0.99
                    cfg = {"model": model, "length": t, "hidden": 128, "lr": 0.003 * (seed + 1),
                           "max_norm": 10.0, "seed": seed, **({} if v is None else {name: v})}
                    steps = [100, 200] if solved else [100, 200, 300]
                    for step in steps:
                        acc = final if step == steps[-1] else final / 2
                        curves.append({"trial_id": tid, **cfg, "step": step, "train_loss": 1 - acc,
                                       "train_accuracy": acc, "eval_loss": 1 - acc, "eval_accuracy": acc,
                                       "mean_train_accuracy": acc * 0.8, "diverged": False,
                                       "steps_to_target": 200 if solved and step == 200 else None,
                                       "stopped_early": solved and step == 200})
                    trials.append({"trial_id": tid, **cfg, "step": steps[-1], "train_accuracy": final,
                                   "eval_accuracy": final, "mean_train_accuracy": final * 0.7,
                                   "diverged": False, "steps_to_target": 200 if solved else None,
                                   "stopped_early": solved, "status": "TERMINATED", "node": "n", "wall_seconds": 1.0})
    axes = ["model"] + ([] if extra is None else [name])
    meta = {"name": path.name, "kind": kind, "grid": "smoke" if kind == "grid" else None, "axes": axes,
            "command": "python -m study.run", "started": "2026-01-01T00:00:00", "finished": None,
            "wall_seconds": None, "target": 0.99}
    (path / "study.json").write_text(json.dumps(meta))
    pd.DataFrame(trials).to_csv(path / "trials.csv", index=False)
    pd.DataFrame(curves).to_csv(path / "curves.csv", index=False)
    return path


# The settings of a user's sweep, the exercise's but for a few hundred steps.
BASE = {"hidden": 128, "input": "scalar", "init": "seed", "optimizer": "rmsprop", "lr": 0.001, "batch_size": 128,
        "max_norm": 10.0, "steps": 300, "eval_every": 100, "forget_bias": 0.0, "patience": 0, "target": 0.99}


def make_sweep(path: Path, axes: dict, models=("RNN",), lengths=(5, 6), seeds: int = 2, fixed=None) -> Path:
    """A user's own study as study.run writes it: study.json with kind, axes and param_space (every
    field a value or its list of swept values), trials.csv and curves.csv; models x lengths x
    ``axes``' values x seeds."""
    path.mkdir(parents=True, exist_ok=True)
    base = {**BASE, **(fixed or {})}
    trials, curves = [], []
    for i, (model, t, *values) in enumerate(itertools.product(models, lengths, *axes.values())):
        for seed in range(seeds):
            cfg = {**base, "model": model, "length": t, **dict(zip(axes, values, strict=True)), "seed": seed}
            acc = min(1.0, round(0.3 + 0.05 * i + 0.02 * seed, 4))
            tid = f"t{i}s{seed}"
            for step in (100, 200):
                curves.append({"trial_id": tid, **cfg, "step": step, "eval_accuracy": acc * step / 200,
                               "train_accuracy": acc, "mean_train_accuracy": acc / 2, "diverged": False,
                               "stopped_early": False})
            trials.append({"trial_id": tid, **cfg, "step": 200, "eval_accuracy": acc, "train_accuracy": acc,
                           "mean_train_accuracy": acc / 2, "diverged": False,
                           "steps_to_target": 200 if acc >= 0.99 else None, "stopped_early": False,
                           "status": "TERMINATED", "stopped_by": "steps"})
    space = {**base, "model": list(models), "length": list(lengths), **{k: list(v) for k, v in axes.items()},
             "seed": list(range(seeds))}
    meta = {"name": path.name, "kind": "grid", "grid": None,
            "axes": (["model"] if len(models) > 1 else []) + list(axes), "param_space": space,
            "command": "python -m study.run", "started": "2026-01-01T00:00:00", "target": 0.99}
    (path / "study.json").write_text(json.dumps(meta))
    pd.DataFrame(trials).to_csv(path / "trials.csv", index=False)
    pd.DataFrame(curves).to_csv(path / "curves.csv", index=False)
    return path


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def figures(path: Path) -> list[str]:
    return sorted(p.name for p in (path / "figures").iterdir()) if (path / "figures").exists() else []


def test_report_writes_summary_and_figures(tmp_path, capsys):
    folder = make_folder(tmp_path / "study")
    assert main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert figures(folder) == ["accuracy_vs_length.png", "curves_LSTM.png", "curves_RNN.png", "curves_both.png",
                               "mean_accuracy_vs_length.png", "steps_to_target.png"]
    summary = pd.read_csv(folder / "summary.csv")
    assert summary[["model", "length", "seeds", "solved"]].values.tolist() == [
        ["RNN", 5, 3, 0], ["RNN", 6, 3, 0], ["LSTM", 5, 3, 3], ["LSTM", 6, 3, 3]]
    assert summary["eval_accuracy_mean"].tolist() == pytest.approx([0.9, 0.7, 1.0, 1.0])
    assert CI_COLUMN in out and "exercise" in out
    assert "t(0.995) | Wilson" in out and "docs/statistics.md" in out
    assert "docs/exercise.md" in out and "SEED" + ".md" not in out
    assert "not in the means" not in out  # every trial finished
    lines = out.splitlines()
    rnn6 = next(line for line in lines if line.split()[:1] == ["6"])  # RNN T=6 row (index repeated blank)
    assert "0.700" in rnn6 and rnn6.rstrip().endswith("0.99")
    assert not list(folder.glob(".*.tmp")) and not list((folder / "figures").glob(".*.tmp"))


def test_re_report_is_byte_identical(tmp_path, capsys):
    folder = make_folder(tmp_path / "study")
    assert main([str(folder), "--no-figures"]) == 0
    first = (folder / "summary.csv").read_bytes()
    assert main([str(folder), "--no-figures", "--quiet"]) == 0
    assert (folder / "summary.csv").read_bytes() == first
    assert figures(folder) == []
    assert capsys.readouterr().out.count("wrote") == 1


def test_write_report_returns_tables(tmp_path):
    folder = make_folder(tmp_path / "study", models=("LSTM",), extra={"init": ["seed", "default"]})
    tables = write_report(folder, echo=False)
    assert set(tables) == {"summary", "accuracy_vs_length", "curves_summary", "figures"}
    assert list(tables["summary"].columns[:3]) == ["model", "length", "init"]
    assert tables["curves_summary"]["seeds"].tolist() == [3] * 8  # 2 inits x 2 lengths x 2 steps
    names = sorted(p.name for p in tables["figures"])
    assert "accuracy_vs_length_by_init.png" not in names  # it would repeat accuracy_vs_length.png
    assert "curves_both.png" not in names  # one model only


def test_held_values_in_curves_summary(tmp_path):
    folder = make_folder(tmp_path / "study", models=("RNN", "LSTM"), lengths=(5,))
    bands = write_report(folder, echo=False, figures=False)["curves_summary"]
    lstm = bands[bands["model"] == "LSTM"]
    assert lstm["step"].tolist() == [100, 200] and lstm["eval_accuracy_mean"].tolist() == [0.5, 1.0]
    rnn = bands[bands["model"] == "RNN"]
    assert rnn["step"].tolist() == [100, 200, 300]


def bad_cases(tmp: Path):
    afile = tmp / "afile"
    afile.write_text("x")
    empty = tmp / "empty"
    empty.mkdir()
    no_trials = tmp / "no_trials"
    no_trials.mkdir()
    (no_trials / "study.json").write_text("{}")
    broken = tmp / "broken"
    broken.mkdir()
    (broken / "study.json").write_text("{not json")
    (broken / "trials.csv").write_text("a\n1\n")
    return [
        ([str(tmp / "nosuch")], "no such folder"),
        ([str(afile)], "not a folder"),
        ([str(empty)], "not a study folder (no study.json); give results/<name>"),
        ([str(no_trials)], "not a study folder (no trials.csv)"),
        ([str(broken)], "study.json cannot be read"),
        ([], "the following arguments are required: path"),
        ([str(empty), "--nosuch"], "unrecognized arguments: --nosuch"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, case, fault):
    argv, expected = bad_cases(tmp_path)[case]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("study.report: error: ")
    assert expected in captured.err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    fault("a bad value to `python -m study.report`", 1,
          "one line naming the option and what is allowed, exit 2, no traceback, nothing written")


def test_module_entry_point(tmp_path):
    p = subprocess.run([sys.executable, "-m", "study.report", str(tmp_path / "nosuch")], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [f"study.report: error: {tmp_path / 'nosuch'}: no such folder; "
                                             "give results/<name>"]


def test_optuna_study_figures(tmp_path, capsys):
    import optuna

    folder = make_folder(tmp_path / "search", models=("RNN",), lengths=(10,), kind="optuna")
    meta = json.loads((folder / "study.json").read_text())
    meta.update(axes=["hidden", "lr"], search={"storage": "optuna.journal"})
    (folder / "study.json").write_text(json.dumps(meta))
    (folder / "best.json").write_text(json.dumps({"trial_id": "RNN_10_None_0", "eval_accuracy": 0.0,
                                                  "hidden": 16, "lr": 0.003, "steps_to_target": None}))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(folder / "optuna.journal")))
    study = optuna.create_study(study_name="palrnn", storage=storage, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: -abs(math.log10(t.suggest_float("lr", 1e-4, 1e-2, log=True)) + 3)
                   + t.suggest_categorical("hidden", [16, 32]) / 100, n_trials=5)
    assert main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert figures(folder) == ["best_curve.png", "optuna_history.png", "optuna_importances.png"]
    assert "best trial: eval_accuracy=0, hidden=16, lr=0.003, steps_to_target=none" in out
    # a search's trials differ in config, not seed: the best are listed, no mean over "seeds"
    assert "3 best of 3 trials (one seed each; ASHA cut 0 early;" in out and "mean over seeds" not in out
    assert "summary.csv: one row per config (3 rows, 3 with a finished trial)" in out
    summary = pd.read_csv(folder / "summary.csv")
    # one row per config (the three trials drew lr 0.003, 0.006, 0.009): configs are never averaged as seeds
    assert summary["lr"].tolist() == pytest.approx([0.003, 0.006, 0.009]) and summary["seeds"].tolist() == [1, 1, 1]
    assert summary["eval_accuracy_low"].isna().all()  # one trial each: no interval


def test_search_summary_keeps_configs_apart_and_cut_trials_out(tmp_path, capsys):
    folder = make_folder(tmp_path / "search", models=("RNN",), lengths=(6,), kind="optuna")
    meta = json.loads((folder / "study.json").read_text())
    meta.update(axes=["hidden", "lr"])
    (folder / "study.json").write_text(json.dumps(meta))
    trials = pd.read_csv(folder / "trials.csv")
    trials["lr"] = [0.001, 0.001, 0.02]  # two trials of one config, one of another
    trials["stopped_by"] = ["steps", "steps", "scheduler"]
    trials.to_csv(folder / "trials.csv", index=False)
    assert main([str(folder), "--no-figures"]) == 0
    out = capsys.readouterr().out
    summary = pd.read_csv(folder / "summary.csv")
    assert summary[["lr", "seeds", "cut"]].values.tolist() == [[0.001, 2, 0], [0.02, 0, 1]]
    assert summary.loc[0, "eval_accuracy_mean"] == pytest.approx((0.75 + 0.7) / 2)
    assert "ASHA cut 1 early" in out and "(2 rows, 1 with a finished trial)" in out


def test_grid_report_counts_trials_left_out(tmp_path, capsys):
    folder = make_folder(tmp_path / "study")
    trials = pd.read_csv(folder / "trials.csv")
    trials["stopped_by"] = "steps"
    trials.loc[0, ["status", "stopped_by"]] = ["ERROR", "error"]
    trials.loc[1, "stopped_by"] = "unfinished"
    trials.to_csv(folder / "trials.csv", index=False)
    assert main([str(folder), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "not in the means (summary.csv counts them): 1 trial errored, 1 trial unfinished" in out
    summary = pd.read_csv(folder / "summary.csv")
    first = summary.iloc[0]  # RNN T=5: seeds 0 and 1 left out, seed 2 alone
    assert (first.seeds, first.errored, first.unfinished, first.cut) == (1, 1, 1, 0)
    assert first.eval_accuracy_mean == pytest.approx(0.85)


def test_summary_intervals_inside_the_unit_interval(tmp_path):
    folder = make_folder(tmp_path / "study")
    summary = write_report(folder, echo=False, figures=False)["summary"]
    assert (summary["eval_accuracy_low"] >= 0).all() and (summary["eval_accuracy_high"] <= 1).all()
    rnn5 = summary.iloc[0]  # 0.95, 0.90, 0.85
    assert rnn5.eval_accuracy_low < rnn5.eval_accuracy_mean < rnn5.eval_accuracy_high <= 1
    assert rnn5.eval_accuracy_low == pytest.approx(0.9 - 9.924843 * 0.05 / 3 ** 0.5, abs=1e-5)  # t(0.995, 2)


def test_a_study_without_results(tmp_path, capsys):
    folder = make_folder(tmp_path / "study")
    (folder / "trials.csv").write_text("")
    (folder / "curves.csv").unlink()
    assert main([str(folder)]) == 0
    assert "no finished trials" in capsys.readouterr().out
    assert (folder / "summary.csv").read_text().startswith("model,length,seeds,eval_accuracy_mean,")
    assert figures(folder) == []


def test_report_prints_the_provenance_line_and_writes_the_page(tmp_path, capsys):
    from study.basics.provenance import provenance, provenance_line

    folder = make_folder(tmp_path / "study")
    assert main([str(folder), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == ("provenance: provenance not recorded (study made before provenance was kept) · "
                                   "2026-01-01 00:00 → not finished")  # an older study.json: no provenance
    assert f"wrote {folder / 'summary.csv'}, {folder / 'report.html'}" in out
    assert (folder / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    meta = json.loads((folder / "study.json").read_text())
    meta.update(provenance=provenance(["python", "-m", "study.run"], threads_per_trial=1),
                finished="2026-01-01T00:08:00", wall_seconds=480.0, status="complete")
    (folder / "study.json").write_text(json.dumps(meta))
    assert main([str(folder), "--no-figures"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line == f"provenance: {provenance_line(meta)}" and line.endswith("2026-01-01 00:00 → 00:08 (8 min)")
    assert provenance_line(meta) in (folder / "report.html").read_text(encoding="utf-8")


# ---- any study: the report follows what it swept ----------------------------------------------------

HIDDEN_LR = ["hidden=32, lr=0.001", "hidden=32, lr=0.003", "hidden=64, lr=0.001", "hidden=64, lr=0.003"]


def test_a_two_axis_user_sweep(tmp_path, capsys):
    """hidden {32, 64} x lr {0.001, 0.003} x T {5, 6}, RNN, 2 seeds: one summary row per config, every
    combination in the figures' legends, no exercise column (not the exercise's settings)."""
    from study.report import plots

    folder = make_sweep(tmp_path / "sweep", {"hidden": [32, 64], "lr": [0.001, 0.003]})
    trials = pd.read_csv(folder / "trials.csv")
    trials.loc[trials["seed"] == 1, "lr"] *= 1 + 1e-13  # 0.0030000000000003: a float as a CSV round trip leaves it
    trials.to_csv(folder / "trials.csv", index=False)
    assert main([str(folder)]) == 0
    out = capsys.readouterr().out
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary.columns[:4]) == ["model", "length", "hidden", "lr"]
    assert len(summary) == 8 and (summary["seeds"] == 2).all()
    assert not summary.duplicated(["model", "length", "hidden", "lr"]).any()
    assert summary["lr"].tolist() == [0.001, 0.003] * 4
    assert figures(folder) == ["accuracy_vs_length.png", "curves_RNN.png", "mean_accuracy_vs_length.png"]
    fig = plots.plot_accuracy(summary)
    assert legend_texts(fig.axes[0]) == HIDDEN_LR
    assert "exercise" not in out and CI_COLUMN in out
    assert "model T hidden lr" in " ".join(out.split())


def test_a_sweep_at_one_length(tmp_path, capsys):
    """hidden x lr at T = 20 with RNN and GRU: figures against hidden, no T column, no exercise."""
    from study.report import plots

    folder = make_sweep(tmp_path / "flat", {"hidden": [32, 64], "lr": [0.001, 0.003]}, models=("GRU", "RNN"),
                        lengths=(20,))
    tables = write_report(folder, echo=True)
    out = capsys.readouterr().out
    assert figures(folder) == ["accuracy_vs_hidden.png", "curves_GRU.png", "curves_RNN.png", "curves_both.png",
                               "mean_accuracy_vs_hidden.png"]
    assert list(tables["accuracy_vs_length"].index.names) == ["model", "hidden", "lr"]
    assert "every trial at T = 20 (the study swept no length)" in out and "exercise" not in out
    assert "grid None" not in out
    summary = pd.read_csv(folder / "summary.csv")
    assert summary["model"].tolist() == ["RNN"] * 4 + ["GRU"] * 4 and (summary["length"] == 20).all()
    fig = plots.plot_accuracy(summary)
    assert [ax.get_xlabel() for ax in fig.axes] == ["hidden units", "hidden units"]
    assert [ax.get_title() for ax in fig.axes] == ["RNN", "GRU"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Final held-out accuracy at T = 20" in page and "figures/accuracy_vs_hidden.png" in page
    assert "<th>T</th>" not in page.split('id="summary"')[1].split("</table>")[0]


def test_max_norm_none_is_a_group(tmp_path):
    from study.report import plots

    folder = make_sweep(tmp_path / "clip", {"max_norm": [None, 1.0]})
    write_report(folder, echo=False)
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 4 and (summary["seeds"] == 2).all()
    assert summary["max_norm"].isna().tolist() == [True, False, True, False]
    assert "accuracy_vs_length.png" in figures(folder) and "accuracy_vs_length_by_max_norm.png" not in figures(folder)
    assert legend_texts(plots.plot_accuracy(summary).axes[0]) == ["max_norm=none", "max_norm=1"]


def test_a_swept_field_missing_from_trials_csv(tmp_path, capsys):
    folder = make_sweep(tmp_path / "old", {"hidden": [32, 64], "lr": [0.001, 0.003]})
    trials = pd.read_csv(folder / "trials.csv")
    trials.drop(columns=["lr"]).to_csv(folder / "trials.csv", index=False)
    assert main([str(folder), "--no-figures"]) == 0
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 8 and (summary["seeds"] == 2).all()  # lr from curves.csv, trial by trial
    assert "swept but not in" not in capsys.readouterr().out
    pd.read_csv(folder / "curves.csv").drop(columns=["lr"]).to_csv(folder / "curves.csv", index=False)
    assert main([str(folder), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "swept but not in trials.csv (nor curves.csv): lr; trials that differ only in it are grouped" in out
    assert "Swept but not in trials.csv (nor curves.csv): lr" in (folder / "report.html").read_text(encoding="utf-8")


def test_the_gru_and_other_models_in_a_stable_order(tmp_path, capsys):
    from study.report import plots

    folder = make_sweep(tmp_path / "gru", {}, models=("GRU", "LSTM", "RNN"), seeds=2, fixed={"steps": 10_000})
    main([str(folder)])
    out = capsys.readouterr().out
    summary = pd.read_csv(folder / "summary.csv")
    assert summary["model"].tolist() == ["RNN", "RNN", "LSTM", "LSTM", "GRU", "GRU"]
    assert figures(folder) == ["accuracy_vs_length.png", "curves_GRU.png", "curves_LSTM.png", "curves_RNN.png",
                               "curves_both.png", "mean_accuracy_vs_length.png"]
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["RNN"], ["LSTM"], ["GRU"])]
    assert [r[:2] for r in rows] == [["RNN", "5"], ["LSTM", "5"], ["GRU", "5"]]  # T = 6 rows repeat no model
    assert [r[-1] for r in rows] == ["1.00", "1.00", "-"]  # the exercise's numbers at T = 5, none for the GRU
    ax = plots.plot_accuracy(summary, exercise=exercise_points(summary)).axes[0]
    assert legend_texts(ax) == ["RNN", "LSTM", "GRU", "RNN, exercise (train batch, 1 run)",
                                "LSTM, exercise (train batch, 1 run)"]
    assert plots.plot_curves_both(curves_table(pd.read_csv(folder / "curves.csv"), ["model"])).get_suptitle() \
        == "RNN vs LSTM vs GRU: held-out accuracy during training (mean over seeds, 95% band; RNN dashed)"
