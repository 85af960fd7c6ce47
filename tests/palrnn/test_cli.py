import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from palrnn.__main__ import main

ROOT = Path(__file__).resolve().parents[2]

# (argv, the line's start: the option, then what is allowed)
BAD = [
    (["--length", "0"], "--length: must be an integer >= 1, got 0"),
    (["--length", "-3"], "--length: must be an integer >= 1, got -3"),
    (["--length", "ten"], "--length: must be an integer, got 'ten'"),
    (["--hidden", "0"], "--hidden: must be an integer >= 1, got 0"),
    (["--batch-size", "0"], "--batch-size: must be an integer >= 1, got 0"),
    (["--steps", "-1"], "--steps: must be an integer >= 1, got -1"),
    (["--lr", "-0.1"], "--lr: must be a finite number > 0, got -0.1"),
    (["--lr", "0"], "--lr: must be a finite number > 0, got 0.0"),
    (["--lr", "nan"], "--lr: must be a finite number > 0, got nan"),
    (["--model", "GPT"], "--model: must be one of RNN, LSTM, GRU, or MODULE:CLASS"),
    (["--init", "zeros"], "--init: must be one of seed, default, xavier, orthogonal, chrono, got 'zeros'"),
    (["--optimizer", "lbfgs"], "--optimizer: must be one of rmsprop, adam, sgd, got 'lbfgs'"),
    (["--backend", "cudnn"], "--backend: must be one of auto, scratch, stacked, fused, got 'cudnn'"),
    (["--max-norm", "-1"], "--max-norm: must be a finite number > 0 or none, got -1.0"),
    (["--eval-fraction", "0.9"], "--eval-fraction: must be in (0, 0.5), got 0.9"),
    (["--target", "1.5"], "--target: must be in (0, 1], got 1.5"),
    (["--device", "tpu"], "--device: must be cpu, cuda, cuda:N or mps, got 'tpu'"),
    (["--input", "binary"], "--input: must be one of scalar, onehot, got 'binary'"),
    (["--no-such-option", "1"], "unrecognized arguments: --no-such-option 1"),
    (["--save", "no/such/folder/model.pt", "--steps", "1"], "--save: folder no/such/folder does not exist"),
    (["--resume", "missing.pt"], "--resume: missing.pt is not a file"),
    (["--threads", "0"], "--threads: must be an integer >= 1, got 0"),
]


@pytest.mark.parametrize("argv,says", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_values_one_line_exit_2_nothing_written(argv, says, tmp_path, monkeypatch, capsys, fault):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"python -m palrnn: error: {says}") and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    fault("a bad value to `python -m palrnn`", 1, "one line naming the option and what is allowed, exit 2, "
          "no traceback, nothing written")


def test_json_save_and_resume(tmp_path, capsys):
    ckpt = tmp_path / "m.pt"
    assert main(["--model", "RNN", "--length", "5", "--hidden", "16", "--steps", "40", "--eval-every", "20",
                 "--json", "--no-progress", "--save", str(ckpt)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    for key in ("model", "length", "steps", "eval_accuracy", "train_accuracy", "examples_per_second",
                "wall_seconds", "diverged", "steps_to_target"):
        assert key in result
    assert result["model"] == "RNN" and result["step"] == 40 and ckpt.is_file()
    assert main(["--resume", str(ckpt), "--steps", "60", "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 60
    with pytest.raises(SystemExit):
        main(["--resume", str(ckpt), "--hidden", "32"])
    assert "--hidden: cannot change on --resume" in capsys.readouterr().err


def test_help_lists_every_config_field_with_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for option in ("--model", "--length", "--hidden", "--init", "--optimizer", "--lr", "--batch-size",
                   "--max-norm", "--steps", "--eval-every", "--seed", "--backend", "--device", "--patience"):
        assert option in out
    assert "(default: 10)" in out and "(default: rmsprop)" in out


def test_real_process_bad_value_has_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "palrnn", "--lr", "-1"], capture_output=True, text=True,
                       cwd=tmp_path, env=env)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == "python -m palrnn: error: --lr: must be a finite number > 0, got -1.0"


def _checkpoint(tmp_path, **changes):
    import torch

    from palrnn.config import Config
    from palrnn.train import new_state, save_checkpoint, train

    state = new_state(Config(model="RNN", length=5, hidden=8, steps=10, eval_every=5))
    list(train(state))
    path = tmp_path / "model.pt"
    save_checkpoint(state, path)
    payload = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if key.startswith("loop."):
            payload["loop"] = {k: v for k, v in payload["loop"].items() if k != key[5:]}
        else:
            payload[key] = value
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("changes,named", [({"loop.streak": None}, "streak"), ({"version": 0}, "version 0")],
                         ids=["loop without streak", "another version"])
def test_real_process_resume_of_a_bad_checkpoint_is_one_line_exit_2(tmp_path, changes, named):
    path = _checkpoint(tmp_path, **changes)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "palrnn", "--resume", str(path), "--no-progress"],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert p.returncode == 2 and p.stdout == "", p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("python -m palrnn: error: --resume: ") and "model.pt" in lines[0] and named in lines[0]


def test_resume_with_a_new_target_recounts_steps_to_target(tmp_path, capsys):
    """Saved at step 40 against target 0.01 (steps_to_target 20); resumed against target 1.0, which
    no evaluation reached, steps_to_target is none, not the old 20."""
    ckpt = tmp_path / "m.pt"
    common = ["--model", "RNN", "--length", "5", "--hidden", "8", "--eval-every", "20", "--json", "--no-progress"]
    assert main([*common, "--steps", "40", "--target", "0.01", "--save", str(ckpt)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["steps_to_target"] == 20
    assert main(["--resume", str(ckpt), "--target", "1.0", "--steps", "40", "--json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["step"] == 40 and result["steps_to_target"] is None
