"""What an undisturbed run of a smoke-grid trial gives, computed in this process (no Ray), to hold a
disturbed study's tables against, bit for bit (tests/study/test_chaos.py, test_resume.py). The
studies they check run ``--grid smoke --set batch_size=32 --set eval_every=100 --full``."""

from concurrent.futures import ProcessPoolExecutor

# (model, length, seed, steps) -> the evaluations of an undisturbed run, computed once per process:
# a module's studies may train the same trials.
UNDISTURBED: dict[tuple, list[dict]] = {}

# A trial's row in trials.csv that is its last evaluation's, and the curve's columns compared.
ROW = ["step", "eval_accuracy", "eval_loss", "train_accuracy", "train_loss", "mean_train_accuracy",
       "steps_to_target", "diverged"]
CURVE = ["step", "eval_accuracy", "train_loss"]


def evaluations(key: tuple) -> list[dict]:
    """The evaluations an undisturbed run of one trial makes."""
    import torch

    from palrnn.config import Config
    from palrnn.train import fit
    from study.spec.catalogue import shipped
    from study.spec.fields import EXERCISE

    torch.set_num_threads(1)
    model, length, seed, steps = key
    base = {**EXERCISE, **shipped()["smoke"].fixed, "batch_size": 32, "steps": steps, "eval_every": 100, "patience": 0}
    records: list[dict] = []
    fit(Config(**base, model=model, length=length, seed=seed), on_eval=records.append)
    return [{k: r[k] for k in ROW} for r in records]


def _same(got, want) -> bool:
    """A table's value (read back from CSV) and a record's: NaN is None, floats exactly equal."""
    missing = got != got  # NaN
    return (want is None) if missing else got == want


def assert_undisturbed(trials, curves, steps: int) -> None:
    """Every trial ended at its last step, once, TERMINATED by its steps, with the curve and the
    last evaluation an undisturbed run of it gives, bit for bit."""
    assert set(trials["status"]) == {"TERMINATED"} and (trials["step"] == steps).all()
    assert set(trials["stopped_by"]) == {"steps"}, trials[["trial_id", "stopped_by"]]
    assert not trials.duplicated(["model", "length", "seed"]).any()
    assert not curves.duplicated(["trial_id", "step"]).any()
    keys = [(r.model, int(r.length), int(r.seed), steps) for r in trials.itertuples()]
    missing = [key for key in keys if key not in UNDISTURBED]
    with ProcessPoolExecutor(2) as pool:
        UNDISTURBED.update(zip(missing, pool.map(evaluations, missing), strict=True))
    for row, key in zip(trials.to_dict("records"), keys, strict=True):
        want = UNDISTURBED[key]
        got = curves[curves["trial_id"] == row["trial_id"]].sort_values("step")
        assert list(zip(*(got[c] for c in CURVE), strict=True)) == [tuple(r[c] for c in CURVE) for r in want], key
        assert all(_same(row[c], want[-1][c]) for c in ROW), (key, {c: (row[c], want[-1][c]) for c in ROW})
