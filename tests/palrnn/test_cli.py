import json
import os
import subprocess
import sys

import pytest

from palrnn.__main__ import main

BAD = [
    (["--length", "0"], "--length"),
    (["--length", "-3"], "--length"),
    (["--length", "ten"], "--length"),
    (["--hidden", "0"], "--hidden"),
    (["--batch-size", "0"], "--batch-size"),
    (["--steps", "-1"], "--steps"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--model", "GRU"], "--model"),
    (["--init", "zeros"], "--init"),
    (["--optimizer", "lbfgs"], "--optimizer"),
    (["--backend", "cudnn"], "--backend"),
    (["--max-norm", "-1"], "--max-norm"),
    (["--eval-fraction", "0.9"], "--eval-fraction"),
    (["--target", "1.5"], "--target"),
    (["--device", "tpu"], "--device"),
    (["--input", "binary"], "--input"),
    (["--no-such-option", "1"], "unrecognized"),
    (["--save", "no/such/folder/model.pt", "--steps", "1"], "--save"),
    (["--resume", "missing.pt"], "--resume"),
    (["--threads", "0"], "--threads"),
]


@pytest.mark.parametrize("argv,named", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_values_one_line_exit_2_nothing_written(argv, named, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


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
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    p = subprocess.run([sys.executable, "-m", "palrnn", "--lr", "-1"], capture_output=True, text=True,
                       cwd=tmp_path, env=env)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == "python -m palrnn: error: --lr: must be a finite number > 0, got -1.0"
