"""study.gradients: the gradient-flow figure, checked by panels, labels and legend entries; never by pixels."""

import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from palrnn.analysis import Curve
from palrnn.config import Config
from palrnn.train import new_state, save_checkpoint, train
from study import gradients as gr

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[2]


def _save(folder: Path, model: str, init: str, length: int, seed: int = 0, steps: int = 10, target: float = 0.99
          ) -> Path:
    state = new_state(Config(model=model, init=init, hidden=16, length=length, seed=seed, steps=steps,
                             eval_every=steps, eval_size=64, target=target))
    for _ in train(state):
        pass
    path = folder / f"{model}-T{length}-s{seed}-{init}0000.pt"
    save_checkpoint(state, path)
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A hand-made study folder: checkpoints/ with LSTM chrono at T = 5 and T = 3 (the longer is the one drawn),
    GRU default at T = 5, and a file that is not a checkpoint."""
    folder = tmp_path_factory.mktemp("study")
    checkpoints = folder / "checkpoints"
    checkpoints.mkdir()
    _save(checkpoints, "LSTM", "chrono", 5)
    _save(checkpoints, "LSTM", "chrono", 3)
    _save(checkpoints, "GRU", "default", 5)
    (checkpoints / "broken.pt").write_text("not a checkpoint")
    return folder


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_one_checkpoint_per_model_and_init(study):
    skipped = []
    picked = gr.pick_checkpoints(study, skipped.append)
    got = sorted((s.config.model, s.config.init, s.config.length) for s, _ in picked)
    assert got == [("GRU", "default", 5), ("LSTM", "chrono", 5)]
    assert len(skipped) == 1 and "broken.pt" in skipped[0]


def test_a_run_that_reached_its_target_is_drawn_before_a_longer_one_that_did_not(tmp_path):
    """In a frontier's folder the longest T is usually a failure: the trained curve is the model
    that learned (its longest solved T), not a failed attempt."""
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    _save(checkpoints, "LSTM", "xavier", 8)  # target 0.99: not reached in 10 steps
    _save(checkpoints, "LSTM", "xavier", 5, target=0.01)  # reached at its first evaluation
    _save(checkpoints, "LSTM", "xavier", 4, target=0.01)
    (state, _), = gr.pick_checkpoints(tmp_path)
    assert (state.config.length, state.steps_to_target) == (5, 10)


def test_figure_from_a_study_folder(study):
    curves = gr.study_curves(study, length=8)
    trained = [c for c in curves if c.state == "trained"]
    assert {(c.model, c.init, c.trained_length, c.hidden) for c in trained} == {("LSTM", "chrono", 5, 16),
                                                                               ("GRU", "default", 5, 16)}
    assert all(c.hidden == 16 for c in curves)  # untrained at the checkpoints' hidden size
    fig = gr.plot_gradient_flow(curves)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["RNN", "LSTM", "GRU"]
    assert all(ax.get_xlabel() == gr.XLABEL and ax.get_yscale() == "log" for ax in axes)
    assert axes[0].get_ylabel() == gr.YLABEL
    title = fig.get_suptitle()
    assert "T = 8" in title and "hidden 16" in title and "trained at T = 5, measured at T = 8" in title
    rnn, lstm, gru = (legend_texts(ax) for ax in axes)
    assert rnn == ["seed", "default", "xavier", "orthogonal", "untrained"]  # no trained RNN in this study
    assert lstm == ["seed", "default", "xavier", "orthogonal", "chrono", "untrained", "trained"]
    assert gru == lstm
    styles = [line.get_linestyle() for line in axes[1].get_lines()][:-1]  # the last line is y = 1
    assert styles.count("-") == 5 and styles.count("--") == 1


def test_non_finite_ratios_are_clipped_and_said_so():
    curves = [Curve("RNN", "seed", "untrained", 4, 16, (math.inf, 1e5, 10.0, 1.0), 0.1),
              Curve("RNN", "default", "untrained", 4, 16, (0.0, 1e-3, 0.1, 1.0), 0.1),
              Curve("RNN", "default", "trained", 4, 16, (1e-2, 1e-1, 0.5, 1.0), 0.1, trained_length=2)]
    fig = gr.plot_gradient_flow(curves)
    (ax,) = fig.axes
    assert legend_texts(ax) == ["seed (inf/0 at edge)", "default (inf/0 at edge)", "untrained", "trained"]
    ys = [list(line.get_ydata()) for line in ax.get_lines()[:3]]
    assert all(math.isfinite(y) and y > 0 for line in ys for y in line)
    assert ys[0][0] == 1e5 * gr.EDGE and ys[1][0] == 1e-3 / gr.EDGE
    caption = fig.get_supxlabel()
    assert "Clipped" in caption and "RNN seed untrained: inf" in caption and "RNN default untrained: 0" in caption
    fig.savefig(os.devnull, format="png")  # draws without error


def test_table_has_one_line_per_curve(study):
    curves = gr.study_curves(study, length=6, models=["LSTM"], inits=["chrono"])
    lines = gr.first_step_table(curves).splitlines()
    assert len(lines) == 3 and "LSTM  chrono" in lines[1] and "trained at T = 5, measured at T = 6" in lines[2]


def test_cli_writes_the_png_into_the_study(study):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    p = subprocess.run([sys.executable, "-m", "study.gradients", "--study", str(study), "--length", "6"],
                       cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    png = study / "figures" / "gradient_flow.png"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    rows = [line for line in p.stdout.splitlines() if line.split()[:1] and line.split()[0] in ("RNN", "LSTM", "GRU")]
    assert len(rows) == 14 + 2
    assert f"wrote {png}" in p.stdout and "skipped" in p.stderr


def test_short_runs_without_a_study(tmp_path, capsys):
    out = tmp_path / "flow.png"
    assert gr.main(["--train-steps", "3", "--train-length", "4", "--length", "6", "--hidden", "8",
                    "--models", "RNN", "--inits", "default", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "trained at T = 4, measured at T = 6" in text and out.is_file()


BAD = [
    (["--study", "nowhere"], "--study"),
    (["--study", "."], "--study"),  # a folder with no checkpoints/
    (["--train-steps", "-1"], "--train-steps"),
    (["--length", "1"], "--length"),
    (["--models", "GPT"], "--models"),
    (["--out", "no/such/folder/x.png"], "--out"),
]


@pytest.mark.parametrize("argv,named", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_values_one_line_exit_2(argv, named, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert gr.main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and named in lines[0] and lines[0].startswith(gr.PROG)
    assert list(tmp_path.iterdir()) == []


def test_train_steps_is_refused_with_a_study(study, capsys):
    assert gr.main(["--study", str(study), "--train-steps", "5"]) == 2
    assert "--train-steps" in capsys.readouterr().err
