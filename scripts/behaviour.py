"""Snapshot what study/ prints and writes, to compare two versions of the code byte for byte.

    python scripts/behaviour.py OUT        # writes OUT/commands/*.txt and OUT/reports/<reference>/...
    diff -r BEFORE AFTER                   # nothing printed: the behaviour is unchanged

What it captures, each in a fixed working folder (so that paths in messages are the same):
- ``python -m study.run --list`` and ``--list FILE`` for every shipped study (study/studies/*.toml);
- the dry runs of every shipped grid, the Optuna search, PBT, the frontier and a few sweeps;
- the refusals of the bad-input cases of tests/study/test_run_errors.py (stdout, stderr, exit status);
- every committed reference (results/reference-*) re-reported in a copy: every file it writes.
Each command runs in-process, its stdout and stderr captured and its exit status kept."""

import contextlib
import io
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = Path("/tmp/palrnn-behaviour-cwd")  # fixed, so that messages naming paths are identical

STUDIES = sorted((ROOT / "study" / "studies").glob("*.toml"))
DRY_RUNS = [
    *[["--grid", g, "--dry-run"] for g in ("lengths", "init", "hidden", "lr", "clip", "optimizer", "forget",
                                          "smoke")],
    ["--grid", "lengths", "--seeds", "5", "--full", "--dry-run"],
    ["--sweep", "hidden=64,128", "--sweep", "max_norm=none,1", "--dry-run"],
    ["--grid", "init", "--sweep", "hidden=32,64", "--set", "steps=3000", "--dry-run"],
    ["--search", "optuna", "--dry-run"],
    ["--search", "optuna", "--models", "RNN", "LSTM", "--lengths", "10", "20", "--num-samples", "8",
     "--sampler", "random", "--scheduler", "asha", "--dry-run"],
    ["--search", "optuna", "--scheduler", "pbt", "--num-samples", "4", "--dry-run"],
    ["--search", "optuna", "--space", "lr=loguniform:1e-4:3e-2", "--metric", "final_loss:min", "--dry-run"],
    ["--frontier", "--dry-run"],
    ["--frontier", "--models", "LSTM", "--max-length", "100000", "--dry-run"],
    ["--frontier", "--models", "RNN", "GRU", "--sweep", "init=default,orthogonal", "--solve-rule", "2/3",
     "--dry-run"],
    ["--smoke-test", "--dry-run"],
    *[["--study", str(s), "--dry-run"] for s in STUDIES],
]


def run(module: str, argv: list[str]) -> str:
    """``python -m module argv`` in-process: its stdout, stderr and exit status, as text."""
    main = __import__(module, fromlist=["main"]).main
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv) or 0
        except SystemExit as e:
            code = e.code
    shown = module.removesuffix(".__main__")
    return (f"$ python -m {shown} {' '.join(argv)}\n--- exit {code}\n"
            f"--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}")


def main(out: Path) -> None:
    import fcntl

    lock = open("/tmp/palrnn-behaviour.lock", "w")  # one run at a time: they share WORK
    fcntl.flock(lock, fcntl.LOCK_EX)
    sys.path.insert(0, str(ROOT))
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    commands = out / "commands"
    commands.mkdir(parents=True)
    import os

    os.chdir(WORK)
    texts = [run("study.run", ["--list"]), *[run("study.run", ["--list", str(s)]) for s in STUDIES]]
    texts += [run("study.run", argv) for argv in DRY_RUNS]
    from tests.study.test_run_errors import _bad_cases

    cases = WORK / "cases"
    cases.mkdir()
    texts += [run("study.run", argv) for argv, _ in _bad_cases(cases)]
    for i, text in enumerate(texts):
        (commands / f"{i:03d}.txt").write_text(text.replace(str(WORK), "<work>"))
    reports = out / "reports"
    for ref in sorted((ROOT / "results").glob("reference-*")):
        copy = reports / ref.name
        shutil.copytree(ref, copy)
        text = run("study.report.__main__", [str(copy)])
        (copy / "report-stdout.txt").write_text(text.replace(str(copy), "<copy>"))
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
