"""Bad input to python -m study.run: one line, exit status 2, before Ray starts, nothing written."""

import pytest

from study import run
from study.driver.execute import StudyLock, dashboard_port_for
from study.driver.finish import study_meta
from study.planning.build import plan_from_args
from study.run import main


def _bad_cases(tmp):
    existing = tmp / "results" / "taken"
    existing.mkdir(parents=True)
    afile = tmp / "afile"
    afile.write_text("x")
    return [
        (["--grid", "nosuch"], "--grid: unknown grid 'nosuch'"),
        (["--set", "nosuch=1"], "--set: unknown config field 'nosuch'"),
        (["--set", "steps"], "--set: expected FIELD=VALUE"),
        (["--set", "steps=abc"], "--set: steps: must be an integer"),
        (["--set", "steps=0"], "--set: steps: must be an integer >= 1"),
        (["--set", "lr=-1"], "--set: lr: must be a finite number > 0"),
        (["--set", "init=zeros"], "--set: init: must be one of"),
        (["--set", "optimizer=lbfgs"], "--set: optimizer: must be one of"),
        (["--set", "seed=3"], "--set: seed is swept by --seeds"),
        (["--models", "TRANSFORMER"], "--models: unknown model 'TRANSFORMER'"),
        (["--lengths", "0"], "--lengths: must be an integer >= 1"),
        (["--lengths", "five"], "--lengths: must be an integer >= 1"),
        (["--seeds", "0"], "--seeds: must be an integer >= 1"),
        (["--gpus-per-trial", "1"], "--gpus-per-trial"),
        (["--gpus-per-trial", "-1"], "--gpus-per-trial: must be a number >= 0"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial: must be a number > 0"),
        (["--num-cpus", "2", "--cpus-per-trial", "3"], "--cpus-per-trial: 3 asked for, but this machine's Ray has 2"),
        (["--name", "../escape"], "--name: '../escape' is not allowed"),
        (["--name", "a/b"], "--name: 'a/b' is not allowed"),
        (["--name", ".."], "--name: '..' is not allowed"),
        (["--name", "taken", "--results-dir", str(tmp / "results")], "already exists"),
        (["--resume", "--name", "nosuch", "--results-dir", str(tmp / "results")], "--resume: no study 'nosuch'"),
        (["--results-dir", "/proc/palrnn-results"], "cannot be written"),
        (["--results-dir", str(afile)], "is not a folder"),
        (["--search", "optuna", "--model", "TRANSFORMER"], "--model: unknown model"),
        (["--search", "optuna", "--set", "lr=0.1"], "--set: lr is searched by Optuna"),
        (["--search", "grid"], "invalid choice"),
        (["--search", "optuna", "--num-samples", "0"], "--num-samples: must be an integer >= 1"),
        (["--checkpoint-every", "0"], "--checkpoint-every"),
        (["--patience", "-1"], "--patience"),
        (["--no-such-flag"], "unrecognized arguments"),
        # Changed: a search takes --lengths (one search per cell); --length with --lengths is refused instead.
        (["--search", "optuna", "--lengths", "5", "10", "--length", "5"], "--length: not with --lengths"),
        (["--grid", "lengths", "--model", "LSTM"], "--model: only with --search optuna; a grid takes --models"),
        (["--num-samples", "5"], "--num-samples: only with --search optuna"),
        (["--dashboard-port", "70000"], "--dashboard-port: must be a port number from 1 to 65535"),
    ]


CASES = list(range(35))


@pytest.mark.parametrize("case", CASES)
def test_bad_input_one_line_exit_2_nothing_written(case, tmp_path, monkeypatch, capsys, fault):
    import ray

    if case == 13 and __import__("torch").cuda.is_available():
        pytest.skip("this machine has a GPU")
    cases = _bad_cases(tmp_path)
    assert len(cases) == len(CASES)
    argv, expected = cases[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ray, "init", _ray_must_not_start)  # the real entry point, watched: not a stub of ours
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1, err
    assert lines[0].startswith("python -m study.run: error: ") and expected in lines[0], lines[0]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not ray.is_initialized()
    fault("a bad value to `python -m study.run`", 1,
          "one line naming the option and what is allowed, exit 2, no traceback, nothing written, Ray not started")


def _ray_must_not_start(*args, **kwargs):
    raise AssertionError("bad input reached ray.init: Ray would have started")


def test_list_prints_grids_axes_and_trial_counts(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "lengths      36 trials" in out
    for grid in ("lengths", "init", "hidden", "lr", "clip", "optimizer"):
        assert f"\n{grid}" in "\n" + out
    assert "init {seed, default, xavier, orthogonal}" in out and "max_norm {none, 1.0, 10.0}" in out


def test_dashboard_port_taken_or_free():
    import socket

    from study import StudyError

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        with pytest.raises(StudyError, match=f"--dashboard-port: {taken} on 127.0.0.1 is in use"):
            dashboard_port_for("127.0.0.1", taken)  # asked for explicitly: refused, not moved
    assert dashboard_port_for("127.0.0.1", taken) == taken  # free again
    default = dashboard_port_for("127.0.0.1", None)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", default))  # another study's Ray holds it: the next free one
        assert dashboard_port_for("127.0.0.1", None) > default


def test_resume_of_a_running_study_is_refused_before_ray(tmp_path, capsys, fault):
    import json

    import ray

    argv = ["--grid", "smoke", "--name", "busy", "--results-dir", str(tmp_path)]
    plan = plan_from_args(run.build_parser().parse_args(argv), argv)
    plan.folder.mkdir(parents=True)
    (plan.folder / "study.json").write_text(json.dumps(study_meta(plan)))
    held = StudyLock(plan.folder, plan.name)  # the study's driver, still running
    try:
        before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        with pytest.raises(SystemExit) as exc:
            main(["--resume", "--name", "busy", "--results-dir", str(tmp_path)])
        assert exc.value.code == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert f"--resume: study 'busy' is running now (pid {__import__('os').getpid()} holds" in line
        assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
        assert not ray.is_initialized()
    finally:
        held.release()
    again = StudyLock(plan.folder, plan.name)  # free once the driver ended
    again.release()
    fault("`--resume` of a study whose driver is still running", 1,
          "refused in one line before Ray starts (the driver holds a lock on the folder)")


def test_help_gives_every_default_and_never_none(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text
    for shown in ("(default: lengths)", "(default: 3)", "(default: RNN)", "(default: 20)", "(default: 40)",
                  "(default: 8265, or the next free one", "(default: results)"):
        assert shown in text, shown


def test_list_lines_break_between_axes_only():
    from study.basics.text import wrap_parts

    parts = [f"axis{i} {{{', '.join(str(v) for v in range(i + 3))}}}" for i in range(8)]
    lines = wrap_parts(parts, "  x  ", first="      axes: ", indent="            ")
    assert len(lines) > 1 and all(len(line) <= 100 for line in lines)
    joined = " ".join(line.strip() for line in lines)
    assert all(part in joined for part in parts)  # no axis cut in two
    assert lines[0].startswith("      axes: axis0") and lines[1].startswith("            axis")


def test_help_list_and_refusals_import_neither_optuna_nor_ray(tmp_path):
    """Layering: run.py only parses and prints, planning plans; Optuna and Ray are imported where a study
    starts, so --help, --list, --dry-run and a refused input import neither."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import sys
from study.run import main
for argv in (["--help"], ["--list"], ["--grid", "nosuch"], ["--search", "optuna", "--num-samples", "0"],
             ["--dry-run", "--search", "optuna", "--models", "RNN", "LSTM", "--space", "lr=loguniform:1e-4:1e-2"],
             ["--dry-run", "--sweep", "hidden=16,32"], ["--list", "%s"]):
    try:
        main(argv)
    except SystemExit:
        pass
print("IMPORTED", sorted(m for m in ("optuna", "ray") if m in sys.modules))
"""
    root = Path(__file__).resolve().parents[2]
    code = code % (root / "study" / "studies" / "optuna.toml")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert "IMPORTED []" in p.stdout, p.stdout[-500:] + p.stderr[-2000:]
