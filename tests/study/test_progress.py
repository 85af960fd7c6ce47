"""The terminal's progress line (one line, at most 79 columns) and why each trial ended."""

import io
from types import SimpleNamespace

from study.engine.tuner import ProgressLine


def _trial(status, step=None, seed=0, timestamp=0):
    result = {"step": step, "eval_accuracy": 0.5, "timestamp": timestamp} if step else {}
    return SimpleNamespace(status=status, config={"model": "LSTM", "length": 10, "seed": seed}, last_result=result)


def test_one_short_line_with_the_latest_trial():
    out = io.StringIO()
    trials = [_trial("TERMINATED", 1000, 0, 1), _trial("RUNNING", 3000, 1, 5), _trial("ERROR"), _trial("PENDING")]
    ProgressLine(stream=out).report(trials, done=False)
    (line,) = out.getvalue().splitlines()
    assert len(line) <= 79
    assert " 1/4 done  1 running  1 errors  LSTM T=10 s1 step 3000 acc 0.500" in line


def test_a_search_counts_its_samples_not_only_those_proposed():
    out = io.StringIO()
    reporter = ProgressLine(stream=out, total=40)
    reporter.report([_trial("TERMINATED", 500), _trial("RUNNING", 200)], done=False)
    assert " 1/40 done  1 running" in out.getvalue()
    assert reporter.should_report([], done=True)


def test_why_a_trial_ended():
    from study.results.trials import stopped_by

    base = {"status": "TERMINATED", "diverged": False, "stopped_early": False, "step": 3000, "steps": 10000}
    assert stopped_by(base) == "scheduler"  # ended before its steps, no target, no error: ASHA
    assert stopped_by({**base, "step": 10000}) == "steps"
    assert stopped_by({**base, "stopped_early": True}) == "target"
    assert stopped_by({**base, "diverged": True}) == "diverged"
    assert stopped_by({**base, "status": "ERROR"}) == "error"
    assert stopped_by({**base, "status": "RUNNING"}) == "unfinished"
